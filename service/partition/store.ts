import type { Knex } from 'knex';
import type { ChangeEvent } from '../db/changes';
import { knexOf, type Queryable } from '../db/tx';
import { polygonFromWkb, type PartitionGrid, type PartitionIssue } from '../geometry/partition/index';
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

export function createPartitionQueries(db: Queryable) {
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

  /** Every finding of a report as one row, in statements of at most a thousand findings or 4 MB of JSON. */
  async function insertIssues(knex: Knex, reportId: number, issues: PartitionIssue[]): Promise<void> {
    let batch: string[] = [];
    let chars = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      await knex.raw(
        `insert into partition_report_issues (report_id, seq, kind, issue)
         select ?, (t.j->>'seq')::int, t.j->>'kind', t.j from unnest(?::jsonb[]) as t(j)`,
        [reportId, batch],
      );
      batch = [];
      chars = 0;
    };
    for (let seq = 0; seq < issues.length; seq++) {
      const text = JSON.stringify({ ...issues[seq], seq });
      batch.push(text);
      chars += text.length;
      if (batch.length >= 1000 || chars >= 4_000_000) await flush();
    }
    await flush();
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

    /** The whole system with geometry as base64 WKB text (`polygonFromWkb`), for a worker thread to read. */
    async gridText(system: StoredSystem): Promise<{ code: string; parentCode: string | null; level: string; geometry: string | null }[]> {
      return gridRows(system, '', []);
    },

    async gridCount(system: StoredSystem): Promise<number> {
      return Number((await knex('grids').where({ system_id: system.id }).count({ n: '*' }).first())?.n ?? 0);
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
      // One transaction: a reader (the problems tiles) never sees the row without its findings.
      return knex.transaction(async (trx) => {
        const missed: RecheckedChange[] =
          readSnapshot === undefined
            ? []
            : (
                await trx.raw(
                  `select e.change from partition_reports p cross join jsonb_array_elements(p.rechecked) as e(change)
                   where p.id = (select id from partition_reports where system_id = ? and scope is null order by created_at desc, id desc limit 1)
                     and not (e.change->>'xid' is not null and pg_visible_in_snapshot((e.change->>'xid')::xid8, ?::pg_snapshot))`,
                  [system.id, readSnapshot],
                )
              ).rows.map((r: { change: RecheckedChange | string }) => (typeof r.change === 'string' ? JSON.parse(r.change) : r.change));
        const rows: { id: number | string }[] = (
          await trx.raw(`insert into partition_reports (system_id, scope, report, duration_ms, read_snapshot) values (?, ?, ?::jsonb, ?, ?) returning id`, [
            system.id,
            scope,
            JSON.stringify(compact(full)),
            Math.round(full.durationMs),
            readSnapshot ?? null,
          ])
        ).rows;
        await insertIssues(trx, Number(rows[0]!.id), full.issues);
        await trx.raw(
          `delete from partition_reports where system_id = ? and scope is not distinct from ? and id not in (
             select id from partition_reports where system_id = ? and scope is not distinct from ? order by created_at desc, id desc limit ${KEEP_REPORTS})`,
          [system.id, scope, system.id, scope],
        );
        return missed;
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
        await insertIssues(trx, row.id, full.issues);
      });
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
