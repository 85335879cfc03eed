import type { Knex } from 'knex';
import type { Route } from './workflow';

export interface ScanResult {
  yellow: number;
  red: number;
  escalated: number;
}

/**
 * One pass of the overdue scan in one statement over `incident_clocks` (migration 033), never the ~2 KB
 * case rows: cases whose yellow instant or deadline has passed are locked with FOR UPDATE SKIP LOCKED (a
 * second process skips them, and re-checks the condition on rows it waited for), carded, escalated one
 * level of their own chain when the policy says so (`raised`: the case row's handling unit and escalation
 * count are derived from it when read), and logged with one INSERT … SELECT.
 *
 * Where a card changes: only here (`card`, `yellow_at`, `red_at` of `incident_clocks`); a case's status
 * changes only on `incidents` (a step), copied to `incident_clocks.status` by the trigger of migration 033.
 */
export async function scanClocks(knex: Knex | Knex.Transaction, now: Date, policy: { escalateRoutes: Route[]; maxLevel: number }, batch: number): Promise<ScanResult> {
  const { rows } = await knex.raw(
    `WITH p AS (SELECT ?::timestamptz AS now, ?::text[] AS routes, ?::int AS max_level),
     picked AS (
       SELECT k.id, k.card AS old_card, k.handling_level AS old_level, k.status, k.due_at <= p.now AS red,
         CASE WHEN k.due_at <= p.now AND k.route = ANY(p.routes)
           THEN greatest(k.handling_level, least(k.handling_level + 1, p.max_level, k.top_level))
           ELSE k.handling_level END AS new_level
       FROM incident_clocks k, p
       -- The instant again as a plain parameter, so the planner can use the two partial indexes.
       WHERE (k.card = 'none' AND k.warn_at <= ?::timestamptz) OR (k.card <> 'red' AND k.due_at <= ?::timestamptz)
       -- No ORDER BY: with one, the planner walks the primary key past every row to fill the LIMIT.
       LIMIT ? FOR UPDATE OF k SKIP LOCKED
     ), changed AS (
       UPDATE incident_clocks k SET
         card = CASE WHEN picked.red THEN 'red' ELSE 'yellow' END,
         yellow_at = CASE WHEN picked.red THEN k.yellow_at ELSE coalesce(k.yellow_at, p.now) END,
         red_at = CASE WHEN picked.red THEN p.now ELSE k.red_at END,
         handling_level = picked.new_level,
         raised = k.raised OR picked.new_level > picked.old_level
       FROM picked, p WHERE k.id = picked.id
       RETURNING k.id, k.card, picked.old_card, picked.old_level, picked.new_level, picked.status
     ), logged AS (
       INSERT INTO incident_log (incident_id, at, actor, action, from_status, to_status, details)
       SELECT changed.id, p.now, '{"kind":"system","name":"overdue-scan"}'::jsonb, 'card_' || card, status, status,
         jsonb_build_object('previous', old_card)
       FROM changed, p
       UNION ALL
       SELECT changed.id, p.now, '{"kind":"system","name":"overdue-scan"}'::jsonb, 'escalate', status, status,
         jsonb_build_object('fromLevel', old_level, 'toLevel', new_level, 'reason', 'red_card')
       FROM changed, p WHERE new_level > old_level
       RETURNING 1
     )
     SELECT
       (SELECT count(*) FROM changed WHERE card = 'yellow') AS yellow,
       (SELECT count(*) FROM changed WHERE card = 'red') AS red,
       (SELECT count(*) FROM changed WHERE new_level > old_level) AS escalated,
       (SELECT count(*) FROM logged) AS logged`,
    [now, policy.escalateRoutes, policy.maxLevel, now, now, batch],
  );
  const r = rows[0];
  return { yellow: Number(r.yellow), red: Number(r.red), escalated: Number(r.escalated) };
}
