import { knexOf, type Queryable } from '../db/tx';
import type { PartitionGrid } from '../geometry/partition/index';
import type { StoredSystem } from '../kernel/types';
import type { StoredReport } from './report';

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

export function createPartitionQueries(db: Queryable) {
  const knex = knexOf(db);
  return {
    /** The handle these queries run on, for change notifications sent alongside. */
    handle: db,

    async grids(system: StoredSystem, selection: GridSelection): Promise<PartitionGrid[]> {
      let where = '';
      let bindings: unknown[] = [];
      if ('codes' in selection) [where, bindings] = ['and code = any(?::text[])', [selection.codes]];
      else if ('families' in selection) [where, bindings] = ['and (code = any(?::text[]) or parent_code = any(?::text[]))', [selection.families, selection.families]];
      else if ('topLevel' in selection) where = 'and parent_code is null';
      const rows: { code: string; parent_code: string | null; level: string; geojson: string | null }[] = (
        await knex.raw(`select code, parent_code, level, ST_AsGeoJSON(geom, 9) as geojson from grids where system_id = ? ${where} order by code`, [
          system.id,
          ...(bindings as string[][]),
        ])
      ).rows;
      return rows.map((r) => ({ code: r.code, parentCode: r.parent_code, level: r.level, geometry: r.geojson ? JSON.parse(r.geojson) : null }));
    },

    /** The whole system with geometry as GeoJSON text, for a worker thread to parse. */
    async gridText(system: StoredSystem): Promise<{ code: string; parentCode: string | null; level: string; geometry: string | null }[]> {
      const rows: { code: string; parent_code: string | null; level: string; geojson: string | null }[] = (
        await knex.raw(`select code, parent_code, level, ST_AsGeoJSON(geom, 9) as geojson from grids where system_id = ? order by code`, [system.id])
      ).rows;
      return rows.map((r) => ({ code: r.code, parentCode: r.parent_code, level: r.level, geometry: r.geojson }));
    },

    async gridCount(system: StoredSystem): Promise<number> {
      return Number((await knex('grids').where({ system_id: system.id }).count({ n: '*' }).first())?.n ?? 0);
    },

    async insertReport(system: StoredSystem, scope: string | null, report: StoredReport): Promise<void> {
      await knex('partition_reports').insert({ system_id: system.id, scope, report: JSON.stringify(report), duration_ms: Math.round(report.durationMs) });
      await knex.raw(
        `delete from partition_reports where system_id = ? and scope is not distinct from ? and id not in (
           select id from partition_reports where system_id = ? and scope is not distinct from ? order by created_at desc, id desc limit ${KEEP_REPORTS})`,
        [system.id, scope, system.id, scope],
      );
    },

    async latest(system: StoredSystem, scope: string | null): Promise<StoredReport | null> {
      const row = await knex('partition_reports')
        .where({ system_id: system.id })
        .whereRaw('scope is not distinct from ?', [scope])
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
        .first('report');
      return row ? (typeof row.report === 'string' ? JSON.parse(row.report) : row.report) : null;
    },

    /** Replaces the latest whole-system report (after an incremental re-check). */
    async replaceLatest(system: StoredSystem, report: StoredReport): Promise<void> {
      await knex.raw(
        `update partition_reports set report = ?::jsonb, created_at = now()
         where id = (select id from partition_reports where system_id = ? and scope is null order by created_at desc, id desc limit 1)`,
        [JSON.stringify(report), system.id],
      );
    },

    async markStale(system: StoredSystem): Promise<void> {
      await knex.raw(`update partition_reports set report = jsonb_set(report, '{stale}', 'true') where system_id = ? and scope is null`, [system.id]);
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
