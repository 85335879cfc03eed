import type { Knex } from 'knex';
import { knexOf, type Queryable } from '../db/tx';
import type { MultiPolygon, Polygon } from 'geojson';
import type { LedgerRow, RegisterCounts } from './filing';
import type { BankPoint } from './points';

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

/** One grid as an overlay reads it: its prepared shape when one is kept for its row version, else GeoJSON text. */
export interface InputGrid {
  code: string;
  name: string;
  type: string | null;
  geometry: string | Uint8Array;
  /** The grids row and its version (`xmin`), for keeping a shape made from the text (`saveShapes`). */
  row: { id: number; xmin: string };
}

/** What an overlay reads (`overlayInput`). */
export interface OverlayInputRows {
  territory: InputGrid;
  units: InputGrid[];
  /** Per unit: it lies in the territory's subtree, so needs no clipping. */
  inside: boolean[];
  layers: InputGrid[][];
}

interface InputRow {
  part: number;
  id: string | number;
  xmin: string;
  code: string;
  name: string;
  type: string | null;
  /** base64 (PGlite parses bytea's hex text a byte at a time; Node decodes base64 natively). */
  shape: string | null;
  geojson: string | null;
  inside: boolean;
}

/** The rows of an input in part order (territory first), parsed; null when the territory is not among them. */
function inputRows(rows: readonly InputRow[], layers: number): OverlayInputRows | null {
  const first = rows[0];
  if (!first || first.part !== -1) return null;
  const out: OverlayInputRows = { territory: inputOf(first), units: [], inside: [], layers: Array.from({ length: layers }, () => []) };
  for (const r of rows.slice(1)) {
    if (r.part === 0) {
      out.units.push(inputOf(r));
      out.inside.push(r.inside);
    } else out.layers[r.part - 1]!.push(inputOf(r));
  }
  return out;
}

export type VersionedSystem = StoredOverlaySystem & { version: string };

interface SystemRow {
  id: number;
  key: string;
  name: string;
  kind: string;
  levels: StoredOverlaySystem['levels'] | string;
  overlap_policy: StoredOverlaySystem['overlapPolicy'] | string;
  version: string;
}

const versionedSystem = (r: SystemRow): VersionedSystem => ({ id: r.id, key: r.key, name: r.name, kind: r.kind, levels: parse(r.levels), overlapPolicy: parse(r.overlap_policy), version: r.version });

/** What a cached input is tagged with: the versions of the systems named, in order (as `overlayRead` compares it). */
export function tagOf(keys: readonly string[], systems: ReadonlyMap<string, VersionedSystem>): string {
  return keys.map((k) => systems.get(k)?.version ?? '').join(',');
}

/** What `overlayRead` returns. */
export interface OverlayRead {
  /** The named systems found, by key, each with its version (id, definition and grids). */
  systems: Map<string, VersionedSystem>;
  /** The levels read: units first, then each layer's (null where its system was not found). */
  levels: (string | null)[];
  /** Grids of each layer's level. */
  counts: number[];
  /** The input, when it was read: null when the territory grid does not exist. */
  input?: OverlayInputRows | null;
}

/** A prepared shape to keep for a grid row version (migrations/042_overlay_grid_shapes.ts). */
export interface ShapeRow {
  systemId: number;
  id: number;
  xmin: string;
  shape: Uint8Array;
}

// A decoded shape may be a view into Node's shared pool buffer: copied, it is its own bytes (a worker
// receives only those).
const inputOf = (r: InputRow): InputGrid => ({
  code: r.code,
  name: r.name,
  type: r.type,
  geometry: r.shape === null ? r.geojson! : new Uint8Array(Buffer.from(r.shape, 'base64')),
  row: { id: Number(r.id), xmin: r.xmin },
});

/** jsonb arrives parsed from node-postgres and as text from some paths: either way, the value. */
const parse = <T>(v: T | string): T => (typeof v === 'string' ? JSON.parse(v) : v);

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
      return { id: row.id, key: row.key, name: row.name, kind: row.kind, levels: parse(row.levels), overlapPolicy: parse(row.overlap_policy) };
    },

    /**
     * Everything an overlay reads, in one statement: the territory grid; the units (one level of one system)
     * and each layer's grids meeting it (&& then ST_Intersects, skipped for units in the territory's subtree,
     * same system only), in code order; each with its kept shape for the row's version, or else its geometry
     * as GeoJSON text. Null when the territory does not exist.
     */
    async overlayInput(
      territory: { systemId: number; code: string },
      units: { systemId: number; level: string },
      layers: readonly { systemId: number; level: string }[],
    ): Promise<OverlayInputRows | null> {
      // The candidates are taken by system and level first (materialised): the territory's box holds every
      // grid of its subtree at every level, and testing those against it cost more than the rest.
      const { rows } = await knex.raw(
        `with recursive t as (select id, xmin, code, name, type, geom from grids where system_id = ? and code = ?),
           sub(code) as (select code from t union select g.code from grids g join sub on g.parent_code = sub.code where g.system_id = ? and ?),
           l(part, system_id, level) as (select * from unnest(?::int[], ?::int[], ?::text[])),
           c as materialized (
             select l.part, g.id, g.xmin, g.code, g.name, g.type, g.geom, l.part = 0 and l.system_id = ? and g.code in (select code from sub) as inside
             from l join grids g on g.system_id = l.system_id and g.level = l.level),
           r as (
             select -1 as part, id, xmin, code, name, type, geom, false as inside from t
             union all
             select c.part, c.id, c.xmin, c.code, c.name, c.type, c.geom, c.inside from c, t
             where c.geom && t.geom and (c.inside or ST_Intersects(c.geom, t.geom)))
         select r.part, r.id, r.xmin::text as xmin, r.code, r.name, r.type, r.inside, encode(p.shape, 'base64') as shape,
                case when p.shape is null then ST_AsGeoJSON(r.geom, 9) end as geojson
         from r left join overlay_grid_shapes p on p.grid_id = r.id and p.row_xmin = r.xmin
         order by r.part, r.code`,
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
      return inputRows(rows as InputRow[], layers.length);
    },

    /**
     * The named systems, each with a version that changes whenever the system (recreated, redefined) or any
     * of its grids does (grid_systems.version and overlay_grid_versions, raised in the writes' transactions).
     */
    async systemsVersioned(keys: readonly string[]): Promise<Map<string, VersionedSystem>> {
      const { rows } = await knex.raw(
        `select s.id, s.key, s.name, s.kind, s.levels, s.overlap_policy, s.id || ':' || s.version || '.' || coalesce(v.version, 0) as version
         from grid_systems s left join overlay_grid_versions v on v.system_id = s.id where s.key = any(?::text[])`,
        [[...new Set(keys)]],
      );
      return new Map(rows.map((r: SystemRow) => [r.key, versionedSystem(r)]));
    },

    /**
     * A report on request's one statement: the systems it names with their versions, the levels it reads
     * (each given, or the system's default: the finest for a layer, the level above it for the units), with
     * `maxGrids` the grid count of each layer, and — unless the caller's cached input carries the same `tag`, or the layers
     * hold more than `maxGrids` grids — the input itself, as `overlayInput` reads it. One snapshot, so the
     * tag and the rows always agree.
     */
    async overlayRead(
      request: { territory: { key: string; code: string }; units: { key: string; level: string | null }; layers: readonly { key: string; level: string | null }[] },
      known: string | null,
      maxGrids: number | null,
    ): Promise<OverlayRead> {
      const keys = [request.territory.key, request.units.key, ...request.layers.map((l) => l.key)];
      const parts = [request.units, ...request.layers];
      // migrations/043_overlay_read.ts: the statement, parsed and planned once per database session.
      const { rows } = await knex.raw('select * from overlay_read(?::int[], ?::text[], ?::text[], ?::int[], ?::text[], ?::text[], ?::int, ?::text, ?::text, ?::text)', [
        keys.map((_, n) => n),
        keys,
        [...new Set(keys)],
        parts.map((_, n) => n),
        parts.map((p) => p.key),
        parts.map((p) => p.level) as unknown as string[],
        maxGrids,
        known,
        request.territory.key,
        request.territory.code,
      ]);
      const meta = parse(rows[0].meta) as {
        read: boolean | null;
        levels: [number, string | null][] | null;
        counts: [number, number][] | null;
        systems: SystemRow[] | null;
      };
      const levels = parts.map(() => null as string | null);
      for (const [part, level] of meta.levels ?? []) levels[part] = level;
      const counts = request.layers.map(() => 0);
      for (const [part, n] of meta.counts ?? []) counts[part - 1] = Number(n);
      const systems = new Map((meta.systems ?? []).map((r) => [r.key, versionedSystem(r)]));
      const input = meta.read ? inputRows(rows.slice(1) as InputRow[], request.layers.length) : undefined;
      return { systems, levels, counts, input };
    },

    /**
     * Keeps shapes made from grids' geometry, each for the row version it was made from (a newer version of
     * the row never matches it), and drops those of the systems' grids deleted since. One statement.
     */
    async saveShapes(shapes: readonly ShapeRow[]): Promise<void> {
      if (shapes.length === 0) return;
      await knex.raw(
        `with kept as (
           insert into overlay_grid_shapes as s (grid_id, system_id, row_xmin, shape)
           select id, system_id, xmin::xid, decode(shape, 'base64') from unnest(?::bigint[], ?::int[], ?::text[], ?::text[]) as x(id, system_id, xmin, shape)
           on conflict (grid_id) do update set row_xmin = excluded.row_xmin, shape = excluded.shape, system_id = excluded.system_id
           returning 1)
         delete from overlay_grid_shapes s where s.system_id = any(?::int[]) and not exists (select 1 from grids g where g.id = s.grid_id)
           and exists (select 1 from kept)`,
        [
          shapes.map((s) => s.id),
          shapes.map((s) => s.systemId),
          shapes.map((s) => s.xmin),
          shapes.map((s) => Buffer.from(s.shape.buffer, s.shape.byteOffset, s.shape.byteLength).toString('base64')),
          [...new Set(shapes.map((s) => s.systemId))],
        ],
      );
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
  };
}

export type OverlayStore = ReturnType<typeof createOverlayStore>;
