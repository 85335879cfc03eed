import type { Knex } from 'knex';
import type { ChangeEvent } from '../db/changes';
import type { EngineKind } from '../db/engine';
import { knexOf, type Queryable } from '../db/tx';
import { polygonFromWkb, type PartitionGrid, type PartitionIssue, type StoredGridRow } from '../geometry/partition/index';
import type { StoredSystem } from '../kernel/types';
import { compact, type StoredReport } from './report';

/** Which grids of a system to read for a validation. */
export type GridSelection =
  | { all: true }
  | { codes: string[] }
  /** These grids and their children: whole families. */
  | { families: string[] }
  | { topLevel: true };

export type PartitionQueries = ReturnType<typeof createPartitionQueries>;

/** Reports kept per system and scope: the latest is served, a few older ones are history. */
const KEEP_REPORTS = 5;
/** Changes a whole-system report remembers having re-checked (`rechecked`): more than a validation's span. */
const KEEP_RECHECKED = 500;

/** A grid change as the re-check applied it to a report (migrations/061_partition_report_snapshot.ts). */
export type RecheckedChange = Pick<ChangeEvent, 'kind' | 'codes' | 'bbox' | 'xid'>;

/** `rechecked` with the changes bound as a JSON array appended, keeping the last `KEEP_RECHECKED`. */
const RECHECKED = `(select coalesce(jsonb_agg(c order by n), '[]'::jsonb) from (
    select c, n from jsonb_array_elements(rechecked || ?::jsonb) with ordinality as t(c, n) order by n desc limit ${KEEP_RECHECKED}) as kept)`;

const rechecked = (c: RecheckedChange): RecheckedChange => ({ kind: c.kind, codes: c.codes, bbox: c.bbox, ...(c.xid ? { xid: c.xid } : {}) });

/**
 * @param engine the database engine: on the embedded one a whole system is read as one JSON row (PGlite
 *   pays per row returned; issue #15)
 */
export function createPartitionQueries(db: Queryable, engine: EngineKind = 'server') {
  const knex = knexOf(db);

  const latestQuery = (system: StoredSystem, scope: string | null) =>
    knex('partition_reports')
      .where({ system_id: system.id })
      .whereRaw('scope is not distinct from ?', [scope])
      .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]);

  async function latestRow(system: StoredSystem, scope: string | null, withReport = true): Promise<{ id: number; report: StoredReport } | null> {
    const row = await latestQuery(system, scope).first(withReport ? ['id', 'report'] : ['id']);
    if (!row) return null;
    return { id: Number(row.id), report: withReport ? (typeof row.report === 'string' ? JSON.parse(row.report) : row.report) : (null as never) };
  }

  /**
   * Grids in one statement, geometry as base64 WKB text: on the embedded engine ~3× faster to produce and
   * parse than ST_AsGeoJSON, and bytea crosses its WASM boundary slower than text (issue #15).
   */
  async function gridRows(system: StoredSystem, where: string, bindings: unknown[]): Promise<{ code: string; parentCode: string | null; level: string; geometry: string | null }[]> {
    const rows: { code: string; parent_code: string | null; level: string; wkb: string | null }[] = (
      await knex.raw(`select code, parent_code, level, encode(ST_AsBinary(geom), 'base64') as wkb from grids where system_id = ? ${where} order by code`, [
        system.id,
        ...(bindings as string[][]),
      ])
    ).rows;
    return rows.map((r) => ({ code: r.code, parentCode: r.parent_code, level: r.level, geometry: r.wkb }));
  }

  /** A report's findings as JSON texts numbered by their place (`seq`), in batches of at most a thousand findings or 4 MB. */
  function issueBatches(issues: PartitionIssue[]): string[][] {
    const batches: string[][] = [[]];
    let chars = 0;
    for (let seq = 0; seq < issues.length; seq++) {
      if (batches[batches.length - 1]!.length >= 1000 || chars >= 4_000_000) {
        batches.push([]);
        chars = 0;
      }
      const text = JSON.stringify({ ...issues[seq], seq });
      batches[batches.length - 1]!.push(text);
      chars += text.length;
    }
    return batches;
  }

  const INSERT_ISSUES = `insert into partition_report_issues (report_id, seq, kind, issue)
     select ?, (t.j->>'seq')::int, t.j->>'kind', t.j from unnest(?::jsonb[]) as t(j)`;

  /** Every finding of a report as one row, a statement per batch (`issueBatches`). */
  async function insertIssues(knex: Knex, reportId: number, batches: string[][]): Promise<void> {
    for (const batch of batches) if (batch.length > 0) await knex.raw(INSERT_ISSUES, [reportId, batch]);
  }

  return {
    /** The handle these queries run on, for change notifications sent alongside. */
    handle: db,

    async grids(system: StoredSystem, selection: GridSelection): Promise<PartitionGrid[]> {
      let where = '';
      let bindings: unknown[] = [];
      if ('codes' in selection) [where, bindings] = ['and code = any(?::text[])', [selection.codes]];
      else if ('families' in selection) [where, bindings] = ['and (code = any(?::text[]) or parent_code = any(?::text[]))', [selection.families, selection.families]];
      else if ('topLevel' in selection) where = 'and parent_code is null';
      const rows = await gridRows(system, where, bindings);
      return rows.map((r) => ({ ...r, geometry: r.geometry === null ? null : polygonFromWkb(r.geometry) }));
    },

    /**
     * The whole system with each row's version (`xmin`, renewed by every write of the row) in one
     * statement, so one snapshot; geometry as base64 WKB (`polygonFromWkb`) only for grids whose version
     * `known` does not hold (a validation reusing what it decoded before, `ValidationReuse`), else null.
     */
    async storedGrids(system: StoredSystem, known: ReadonlyMap<string, string>): Promise<StoredGridRow[]> {
      if (engine === 'embedded') {
        // One row: ~2× faster there than 3,287 rows of US counties (20 → 11 ms warm, 28 → 19 ms cold); on
        // the server rows are faster (the aggregate's JSON costs more than the rows save).
        const text: string | null = (
          await knex.raw(
            `select json_agg(json_build_array(g.code, g.parent_code, g.level, g.xmin::text,
                      case when (?::jsonb ->> g.code) is distinct from g.xmin::text then encode(ST_AsBinary(g.geom), 'base64') end) order by g.code)::text as rows
             from grids g where g.system_id = ?`,
            [JSON.stringify(Object.fromEntries(known)), system.id],
          )
        ).rows[0].rows;
        const list: [string, string | null, string, string, string | null][] = text === null ? [] : JSON.parse(text);
        return list.map(([code, parentCode, level, version, geometry]) => ({ code, parentCode, level, version, geometry }));
      }
      const rows: { code: string; parent_code: string | null; level: string; version: string; wkb: string | null }[] = (
        await knex.raw(
          `select g.code, g.parent_code, g.level, g.xmin::text as version,
                  case when k.version is distinct from g.xmin::text then encode(ST_AsBinary(g.geom), 'base64') end as wkb
           from grids g left join unnest(?::text[], ?::text[]) as k(code, version) on k.code = g.code
           where g.system_id = ? order by g.code`,
          [[...known.keys()], [...known.values()], system.id],
        )
      ).rows;
      return rows.map((r) => ({ code: r.code, parentCode: r.parent_code, level: r.level, version: r.version, geometry: r.wkb }));
    },

    /**
     * `gridsDigest` (geometry/partition/reuse.ts) of the system's rows as `storedGrids` reads them, in one
     * statement: equal to the digest of the rows read last time exactly when none was added, removed or
     * written since.
     */
    async gridsDigest(system: StoredSystem): Promise<string> {
      const row = (
        await knex.raw(
          `select encode(sha256(convert_to(coalesce(string_agg(octet_length(code)::text || ':' || code || xmin::text, ',' order by code), ''), 'UTF8')), 'hex') as digest
           from grids where system_id = ?`,
          [system.id],
        )
      ).rows[0];
      return String(row.digest);
    },

    /** How many grids a system has and the stored size of their geometry (bytes, ~¾ of its base64 WKB). */
    async gridSize(system: StoredSystem): Promise<{ grids: number; bytes: number }> {
      const row = (await knex.raw(`select count(*)::int as n, coalesce(sum(pg_column_size(geom)), 0)::float8 as bytes from grids where system_id = ?`, [system.id])).rows[0];
      return { grids: Number(row.n), bytes: Number(row.bytes) };
    },

    /** What the database has committed so far (`pg_current_snapshot()`), taken before a validation reads. */
    async snapshot(): Promise<string> {
      return String((await knex.raw('select pg_current_snapshot()::text as s')).rows[0].s);
    },

    /**
     * Stores a report: the row keeps the compact form (`compact`), every finding goes to
     * partition_report_issues, numbered by its place in the full list. A whole-system report read at
     * `readSnapshot` returns the changes the re-check applied to the report it replaces that it did not see
     * (committed after that snapshot, or of unknown transaction): they must be re-checked on it.
     */
    async insertReport(system: StoredSystem, scope: string | null, full: StoredReport, readSnapshot?: string): Promise<RecheckedChange[]> {
      const batches = issueBatches(full.issues);
      const row = [system.id, scope, JSON.stringify(compact(full)), Math.round(full.durationMs), readSnapshot ?? null];
      const prune = `delete from partition_reports where system_id = ? and scope is not distinct from ? and id not in (
           select id from partition_reports where system_id = ? and scope is not distinct from ? order by created_at desc, id desc limit ?)`;
      // Re-checked on the report replaced, or heard while the system had none (`recordUnreported`).
      const missed = `select coalesce(json_agg(m.change), '[]'::json)::text as changes
           from (select e.change from partition_reports p cross join jsonb_array_elements(p.rechecked) as e(change)
                 where p.id = (select id from partition_reports where system_id = ? and scope is null order by created_at desc, id desc limit 1)
                 union all
                 select u.change from partition_recheck_unreported u where u.system_id = ?) as m
           where ?::text is not null
             and not (m.change->>'xid' is not null and pg_visible_in_snapshot((m.change->>'xid')::xid8, ?::pg_snapshot))`;
      const missedBindings = [system.id, system.id, readSnapshot ?? null, readSnapshot ?? null];
      const cleared = `delete from partition_recheck_unreported where system_id = ? and ?::text is not null`;
      const clearedBindings = [system.id, readSnapshot ?? null];
      const changes = (text: string): RecheckedChange[] => JSON.parse(text);
      if (batches.length === 1) {
        // The usual case: one statement, atomic on its own (a reader never sees the row without its
        // findings) and one round trip (issue #15: the embedded engine pays per statement). Its parts see
        // the table as before the statement, so the prune keeps one report fewer besides the new one, and
        // `missed` reads the report this one replaces.
        const rows: { missed: string }[] = (
          await knex.raw(
            `with missed as (${missed}),
                  report as (insert into partition_reports (system_id, scope, report, duration_ms, read_snapshot) values (?, ?, ?::jsonb, ?, ?) returning id),
                  issues as (insert into partition_report_issues (report_id, seq, kind, issue)
                             select report.id, (t.j->>'seq')::int, t.j->>'kind', t.j from report, unnest(?::jsonb[]) as t(j)),
                  pruned as (${prune}),
                  cleared as (${cleared})
             select (select changes from missed) as missed from report`,
            [...missedBindings, ...row, batches[0], system.id, scope, system.id, scope, KEEP_REPORTS - 1, ...clearedBindings],
          )
        ).rows;
        return changes(rows[0]!.missed);
      }
      // One transaction: a reader (the problems tiles) never sees the row without its findings.
      return knex.transaction(async (trx) => {
        const before: { changes: string }[] = (await trx.raw(missed, missedBindings)).rows;
        const rows: { id: number | string }[] = (
          await trx.raw(`insert into partition_reports (system_id, scope, report, duration_ms, read_snapshot) values (?, ?, ?::jsonb, ?, ?) returning id`, row)
        ).rows;
        await insertIssues(trx, Number(rows[0]!.id), batches);
        await trx.raw(prune, [system.id, scope, system.id, scope, KEEP_REPORTS]);
        await trx.raw(cleared, clearedBindings);
        return changes(before[0]!.changes);
      });
    },

    /**
     * The changes among `changes` the latest whole-system report has not seen: its validation's read
     * snapshot does not show their transaction (or they carry none). Without a report, all of them.
     */
    async unseen<T extends Pick<ChangeEvent, 'xid'>>(system: StoredSystem, changes: T[]): Promise<T[]> {
      const xids = [...new Set(changes.flatMap((c) => (c.xid ? [c.xid] : [])))];
      if (xids.length === 0) return changes;
      const seen = new Set<string>(
        (
          await knex.raw(
            `select x from unnest(?::text[]) as t(x), partition_reports p
             where p.id = (select id from partition_reports where system_id = ? and scope is null order by created_at desc, id desc limit 1)
               and p.read_snapshot is not null and pg_visible_in_snapshot(x::xid8, p.read_snapshot::pg_snapshot)`,
            [xids, system.id],
          )
        ).rows.map((r: { x: string }) => r.x),
      );
      return changes.filter((c) => !c.xid || !seen.has(c.xid));
    },

    /** The latest report in its compact form (the first findings of each kind), or null. */
    async latest(system: StoredSystem, scope: string | null): Promise<StoredReport | null> {
      const row = await latestRow(system, scope);
      return row ? row.report : null;
    },

    /**
     * The latest report row's version: its id and `xmin`, which every update of the row renews (a re-check
     * replacing it, marking it stale), so equal versions mean the same stored report.
     */
    async latestVersion(system: StoredSystem, scope: string | null): Promise<string | null> {
      const row = await latestQuery(system, scope).first(knex.raw(`id || '.' || xmin::text as version`));
      return row ? String(row.version) : null;
    },

    /** The latest report in its compact form with its version (`latestVersion`), read in one statement so they agree. */
    async latestWithVersion(system: StoredSystem, scope: string | null): Promise<{ version: string; report: StoredReport } | null> {
      const row = await latestQuery(system, scope).first(knex.raw(`id || '.' || xmin::text as version, report::text as report`));
      return row ? { version: String(row.version), report: JSON.parse(row.report) } : null;
    },

    /** The latest report with every finding (re-checks, fix proposals, file exports), or null. */
    async latestFull(system: StoredSystem, scope: string | null): Promise<StoredReport | null> {
      const row = await latestRow(system, scope);
      if (!row) return null;
      if (Object.keys(row.report.omitted ?? {}).length === 0) return { ...row.report, omitted: {} };
      const issues: { issue: PartitionIssue | string }[] = (await knex.raw(`select issue from partition_report_issues where report_id = ? order by seq`, [row.id])).rows;
      return { ...row.report, issues: issues.map((r) => (typeof r.issue === 'string' ? JSON.parse(r.issue) : r.issue)), omitted: {} };
    },

    /** One page of the latest report's findings, optionally of one kind, in report order, with their total. */
    async issuesPage(system: StoredSystem, scope: string | null, page: { kind?: string; offset: number; limit: number }): Promise<{ total: number; issues: PartitionIssue[] } | null> {
      const row = await latestRow(system, scope, false);
      if (!row) return null;
      const kind = page.kind === undefined ? '' : 'and kind = ?';
      const bindings = page.kind === undefined ? [row.id] : [row.id, page.kind];
      const total = Number((await knex.raw(`select count(*)::int as n from partition_report_issues where report_id = ? ${kind}`, bindings)).rows[0].n);
      const rows: { issue: PartitionIssue | string }[] = (
        await knex.raw(`select issue from partition_report_issues where report_id = ? ${kind} order by seq offset ? limit ?`, [...bindings, page.offset, page.limit])
      ).rows;
      return { total, issues: rows.map((r) => (typeof r.issue === 'string' ? JSON.parse(r.issue) : r.issue)) };
    },

    /** Replaces the latest whole-system report after an incremental re-check of `applied`. */
    async replaceLatest(system: StoredSystem, full: StoredReport, applied: RecheckedChange[]): Promise<void> {
      const row = await latestRow(system, null, false);
      if (!row) return;
      // One transaction: between the delete and the insert a reader saw the report with no findings (the
      // problems tiles then drew none until the next change).
      await knex.transaction(async (trx) => {
        await trx.raw(`update partition_reports set report = ?::jsonb, created_at = now(), rechecked = ${RECHECKED} where id = ?`, [
          JSON.stringify(compact(full)),
          JSON.stringify(applied.map(rechecked)),
          row.id,
        ]);
        await trx.raw(`delete from partition_report_issues where report_id = ?`, [row.id]);
        await insertIssues(trx, row.id, issueBatches(full.issues));
      });
    },

    /**
     * Keeps changes heard while the system has no whole-system report, for the first validation that
     * read before them (`insertReport`); a day at most.
     */
    async recordUnreported(system: StoredSystem, changes: RecheckedChange[]): Promise<void> {
      await knex.raw(
        `with old as (delete from partition_recheck_unreported where system_id = ? and recorded_at < now() - interval '1 day')
         insert into partition_recheck_unreported (system_id, change) select ?, c from unnest(?::jsonb[]) as t(c)`,
        [system.id, system.id, changes.map((c) => JSON.stringify(rechecked(c)))],
      );
    },

    /** Marks the whole-system reports stale after `applied`, changes the re-check cannot follow. */
    async markStale(system: StoredSystem, applied: RecheckedChange[]): Promise<void> {
      await knex.raw(`update partition_reports set report = jsonb_set(report, '{stale}', 'true'), rechecked = ${RECHECKED} where system_id = ? and scope is null`, [
        JSON.stringify(applied.map(rechecked)),
        system.id,
      ]);
    },

    /** The changed grids that still exist, with their parent and whether they have children. */
    async changedGrids(system: StoredSystem, codes: string[]): Promise<{ code: string; parent_code: string | null; has_children: boolean }[]> {
      return (
        await knex.raw(
          `select g.code, g.parent_code, exists(select 1 from grids c where c.system_id = g.system_id and c.parent_code = g.code) as has_children
           from grids g where g.system_id = ? and g.code = any(?::text[])`,
          [system.id, codes],
        )
      ).rows;
    },

    /** Grids with children whose box meets any of `boxes`: the possible parents of a deleted grid. */
    async parentsNear(system: StoredSystem, boxes: [number, number, number, number][]): Promise<string[]> {
      if (boxes.length === 0) return [];
      const rows: { code: string }[] = (
        await knex.raw(
          `select g.code from grids g
           where g.system_id = ? and exists(select 1 from grids c where c.system_id = g.system_id and c.parent_code = g.code)
             and (${boxes.map(() => 'g.geom && ST_MakeEnvelope(?, ?, ?, ?, 4326)').join(' or ')})`,
          [system.id, ...boxes.flat()],
        )
      ).rows;
      return rows.map((r) => r.code);
    },
  };
}
