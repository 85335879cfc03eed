import type { Knex } from 'knex';
import { knexOf, type Queryable } from '../db/tx';
import type { MultiPolygon, Polygon } from 'geojson';
import type { LedgerRow, RegisterCounts } from './filing';
import type { BankPoint } from './points';
import type { GridText } from './stored-store';

export interface StoredOverlaySystem {
  id: number;
  key: string;
  name: string;
  kind: string;
  levels: { key: string; name: string; order: number }[];
  overlapPolicy: { maxDepth: number };
}

export interface OverlayGridRow {
  code: string;
  parentCode: string | null;
  level: string;
  name: string;
  type: string | null;
  people: { name?: string; role: string }[];
  geometry: Polygon | MultiPolygon;
}

interface GridRow {
  code: string;
  parent_code: string | null;
  level: string;
  name: string;
  type: string | null;
  people: OverlayGridRow['people'] | string;
  geojson: string;
}

/** What an overlay reads (`overlayInput`): geometry as GeoJSON text, parsed where it is arranged. */
export interface OverlayInputRows {
  territory: GridText;
  units: GridText[];
  /** Per unit: it lies in the territory's subtree, so needs no clipping. */
  inside: boolean[];
  layers: GridText[][];
}

interface InputRow {
  part: number;
  code: string;
  name: string;
  type: string | null;
  geojson: string;
  inside: boolean;
}

const textOf = (r: InputRow): GridText => ({ code: r.code, name: r.name, type: r.type, geometry: r.geojson });

const COLUMNS = `g.code, g.parent_code, g.level, g.name, g.type, g.people, ST_AsGeoJSON(g.geom, 9) as geojson`;

function toGrid(r: GridRow): OverlayGridRow {
  return {
    code: r.code,
    parentCode: r.parent_code,
    level: r.level,
    name: r.name,
    type: r.type,
    people: typeof r.people === 'string' ? JSON.parse(r.people) : r.people,
    geometry: JSON.parse(r.geojson),
  };
}

/**
 * Reads what an overlay needs from the grid tables (read-only): systems, a territory grid, the grids of a
 * level meeting the territory, and subtrees for scope filtering. Takes a knex handle or a transaction.
 */
/** Runs `work` with a store inside one transaction. */
export function inOverlayTransaction<T>(db: Queryable, work: (store: ReturnType<typeof createOverlayStore>) => Promise<T>): Promise<T> {
  return knexOf(db).transaction((trx) => work(createOverlayStore(trx as unknown as Queryable)));
}

export function createOverlayStore(db: Queryable) {
  const knex = knexOf(db);
  return {
    async system(key: string): Promise<StoredOverlaySystem | null> {
      const row = await knex('grid_systems').where({ key }).first('id', 'key', 'name', 'kind', 'levels', 'overlap_policy');
      if (!row) return null;
      const parse = <T>(v: T | string): T => (typeof v === 'string' ? JSON.parse(v) : v);
      return { id: row.id, key: row.key, name: row.name, kind: row.kind, levels: parse(row.levels), overlapPolicy: parse(row.overlap_policy) };
    },

    /**
     * The named systems, each with a version that changes whenever the system's definition or any of its
     * grids does (grid_systems.version and overlay_grid_versions, raised in the writes' transactions).
     */
    async systemsVersioned(keys: readonly string[]): Promise<Map<string, StoredOverlaySystem & { version: string }>> {
      const { rows } = await knex.raw(
        `select s.id, s.key, s.name, s.kind, s.levels, s.overlap_policy, s.version || '.' || coalesce(v.version, 0) as version
         from grid_systems s left join overlay_grid_versions v on v.system_id = s.id where s.key = any(?::text[])`,
        [[...new Set(keys)]],
      );
      const parse = <T>(v: T | string): T => (typeof v === 'string' ? JSON.parse(v) : v);
      return new Map(
        rows.map((r: { id: number; key: string; name: string; kind: string; levels: unknown; overlap_policy: unknown; version: string }) => [
          r.key,
          { id: r.id, key: r.key, name: r.name, kind: r.kind, levels: parse(r.levels as string), overlapPolicy: parse(r.overlap_policy as string), version: r.version },
        ]),
      );
    },

    /**
     * Everything an overlay reads, in one statement: the territory grid; the units (one level of one system)
     * and each layer's grids meeting it (&& then ST_Intersects), in code order, geometry as GeoJSON text;
     * per unit whether it lies in the territory's subtree (same system only). Null when the territory does
     * not exist.
     */
    async overlayInput(
      territory: { systemId: number; code: string },
      units: { systemId: number; level: string },
      layers: readonly { systemId: number; level: string }[],
    ): Promise<OverlayInputRows | null> {
      const { rows } = await knex.raw(
        `with recursive t as (select code, name, type, geom from grids where system_id = ? and code = ?),
           sub(code) as (select code from t union select g.code from grids g join sub on g.parent_code = sub.code where g.system_id = ? and ?),
           l(part, system_id, level) as (select * from unnest(?::int[], ?::int[], ?::text[]))
         select -1 as part, code, name, type, ST_AsGeoJSON(geom, 9) as geojson, false as inside from t
         union all
         select l.part, g.code, g.name, g.type, ST_AsGeoJSON(g.geom, 9), l.part = 0 and l.system_id = ? and g.code in (select code from sub)
         from l join grids g on g.system_id = l.system_id and g.level = l.level, t
         where g.geom && t.geom and ST_Intersects(g.geom, t.geom)
         order by part, code`,
        [
          territory.systemId,
          territory.code,
          territory.systemId,
          units.systemId === territory.systemId,
          [0, ...layers.map((_, k) => k + 1)],
          [units.systemId, ...layers.map((l) => l.systemId)],
          [units.level, ...layers.map((l) => l.level)],
          territory.systemId,
        ],
      );
      const first = rows[0] as InputRow | undefined;
      if (!first || first.part !== -1) return null;
      const out: OverlayInputRows = { territory: textOf(first), units: [], inside: [], layers: layers.map(() => []) };
      for (const r of rows.slice(1) as InputRow[]) {
        if (r.part === 0) {
          out.units.push(textOf(r));
          out.inside.push(r.inside);
        } else out.layers[r.part - 1]!.push(textOf(r));
      }
      return out;
    },

    async grid(systemId: number, code: string): Promise<OverlayGridRow | null> {
      const rows: GridRow[] = (await knex.raw(`select ${COLUMNS} from grids g where g.system_id = ? and g.code = ?`, [systemId, code])).rows;
      return rows[0] ? toGrid(rows[0]) : null;
    },

    /** Grids of one level (all levels when null) whose interiors may meet the territory grid; every grid when no territory. */
    async gridsAt(systemId: number, level: string | null, territory: { systemId: number; code: string } | null): Promise<OverlayGridRow[]> {
      const levelFilter = level === null ? '' : 'and g.level = ?';
      const bindings: Knex.RawBinding[] = level === null ? [systemId] : [systemId, level];
      if (territory === null) {
        const rows: GridRow[] = (await knex.raw(`select ${COLUMNS} from grids g where g.system_id = ? ${levelFilter} order by g.code`, bindings)).rows;
        return rows.map(toGrid);
      }
      // && then ST_Intersects: grids merely touching the territory's boundary add nothing but cost nothing either.
      const rows: GridRow[] = (
        await knex.raw(
          `select ${COLUMNS} from grids g, (select geom from grids where system_id = ? and code = ?) t
           where g.system_id = ? ${levelFilter} and g.geom && t.geom and ST_Intersects(g.geom, t.geom) order by g.code`,
          [territory.systemId, territory.code, ...bindings],
        )
      ).rows;
      return rows.map(toGrid);
    },

    /** Codes of the subtrees under `roots` (roots included) in one system. */
    async subtreeCodes(systemId: number, roots: readonly string[]): Promise<Set<string>> {
      if (roots.length === 0) return new Set();
      const rows: { code: string }[] = (
        await knex.raw(
          `with recursive sub(code) as (
             select code from grids where system_id = ? and code = any(?::text[])
             union
             select g.code from grids g join sub on g.parent_code = sub.code where g.system_id = ?)
           select code from sub`,
          [systemId, [...roots], systemId],
        )
      ).rows;
      return new Set(rows.map((r) => r.code));
    },

    /** Writes ledger rows, replacing the same grid and category; one statement, so all or nothing. */
    async upsertLedger(systemId: number, rows: readonly LedgerRow[]): Promise<void> {
      if (rows.length === 0) return;
      await knex.raw(
        `insert into filing_ledger (system_id, grid_code, category, filed, total)
         select ?, * from unnest(?::text[], ?::text[], ?::int[], ?::int[])
         on conflict (system_id, grid_code, category) do update set filed = excluded.filed, total = excluded.total, updated_at = now()`,
        [systemId, rows.map((r) => r.grid), rows.map((r) => r.category), rows.map((r) => r.filed), rows.map((r) => r.total) as unknown as number[]],
      );
    },

    async ledger(systemId: number): Promise<LedgerRow[]> {
      const rows: { grid_code: string; category: LedgerRow['category']; filed: number; total: number | null }[] = await knex('filing_ledger')
        .where({ system_id: systemId })
        .select('grid_code', 'category', 'filed', 'total');
      return rows.map((r) => ({ grid: r.grid_code, category: r.category, filed: Number(r.filed), total: r.total === null ? null : Number(r.total) }));
    },

    /** Per grid of the system: households of residential addresses, and businesses and organisations. */
    async registerCounts(systemId: number): Promise<Map<string, RegisterCounts>> {
      const rows: { code: string; households: string | number; businesses: string | number }[] = (
        await knex.raw(
          `select grids ->> ?::text as code,
                  coalesce(sum(households) filter (where kind = 'residential'), 0) as households,
                  count(*) filter (where kind in ('business', 'organisation')) as businesses
           from addresses where (grids -> ?::text) is not null group by 1`,
          [String(systemId), String(systemId)],
        )
      ).rows;
      return new Map(rows.map((r) => [r.code, { households: Number(r.households), businesses: Number(r.businesses) }]));
    },

    /** Replaces all points of a bank; call inside a transaction so a failure leaves the old ones. */
    async replacePoints(systemId: number, points: readonly BankPoint[]): Promise<void> {
      await knex('bank_points').where({ system_id: systemId }).delete();
      if (points.length === 0) return;
      await knex.raw(
        `insert into bank_points (system_id, kind, name, grid_code, geom)
         select ?, k, n, g, ST_SetSRID(ST_MakePoint(x, y), 4326) from unnest(?::text[], ?::text[], ?::text[], ?::float8[], ?::float8[]) as p(k, n, g, x, y)`,
        [systemId, points.map((p) => p.kind), points.map((p) => p.name), points.map((p) => p.grid) as unknown as string[], points.map((p) => p.lon), points.map((p) => p.lat)],
      );
    },

    async points(systemId: number): Promise<BankPoint[]> {
      const rows: { kind: BankPoint['kind']; name: string; grid_code: string | null; lon: number; lat: number }[] = (
        await knex.raw(`select kind, name, grid_code, ST_X(geom) as lon, ST_Y(geom) as lat from bank_points where system_id = ? order by id`, [systemId])
      ).rows;
      return rows.map((r) => ({ kind: r.kind, name: r.name, grid: r.grid_code, lon: Number(r.lon), lat: Number(r.lat) }));
    },

    /** Grid counts per system id, for deciding whether an overlay runs as a job. */
    async count(systemId: number, level: string | null): Promise<number> {
      const q = knex('grids').where({ system_id: systemId });
      if (level !== null) q.andWhere({ level });
      const row = await q.count({ n: '*' }).first();
      return Number(row?.n ?? 0);
    },
  };
}

export type OverlayStore = ReturnType<typeof createOverlayStore>;
