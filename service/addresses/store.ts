import type { Knex } from 'knex';
import { knexOf, type Queryable } from '../db/tx';
import type { Bbox } from '../kernel/types';
import type { IndexGrid } from './grid-index';
import type { AddressInput } from './rows';
import { createAddressReads } from './read-store';
import { envelope, pgArray } from './sql-values';
import { copyOut } from './copy-store';
import { ShapeArena, shapeFromWkb, shapesFromWkbs, vertexCount, type FlatShape } from './shape';

export type { AddressFilter, AssignedAggregate } from './read-store';

/** A stored assignment exception: plain "assigned" has none. */
export type StatusNote = { status: 'ambiguous'; also_in: string[] } | { status: 'nearest'; distance_m: number };

/** An address as stored, with its grid per system id. */
export interface AddressRecord extends Omit<AddressInput, 'row' | 'label' | 'hash' | 'kind'> {
  id: number;
  kind: string;
  grids: Record<string, string>;
  gridStatus: Record<string, StatusNote>;
  version: number;
  updatedAt: string;
}

/** An address about to be written, with its assignment in every system. */
export interface AddressWrite extends AddressInput {
  grids: Record<string, string>;
  gridStatus: Record<string, StatusNote>;
}

/** What an existing address looks like to an import deciding whether it changed. */
export interface ExistingAddress {
  id: number;
  hash: string;
  lon: number;
  lat: number;
  grids: Record<string, string>;
}

/** An address as re-assignment sees it: where it is, and its current grid in one system. */
export interface PlacedAddress {
  id: number;
  lon: number;
  lat: number;
  nearestM: number | null;
  code: string | null;
  note: StatusNote | null;
}


// One lock for "assignments are being computed from the grids": imports share it, grid changes take it
// alone, so an import never assigns against grids that change before it commits.
const ASSIGNMENT_LOCK = 0x6772_6964_6164; // "gridad"


export function createAddressQueries(db: Queryable) {
  const knex = knexOf(db);
  return {
    ...createAddressReads(db),
    async lockShared(): Promise<void> {
      await knex.raw('select pg_advisory_xact_lock_shared(?::bigint)', [ASSIGNMENT_LOCK]);
    },

    async lockExclusive(): Promise<void> {
      await knex.raw('select pg_advisory_xact_lock(?::bigint)', [ASSIGNMENT_LOCK]);
    },

    /**
     * The grids of a system as the assignment index needs them, optionally only those meeting `area`.
     * On the server, a binary COPY of the rows (each geometry as WKB straight from its send function,
     * parsed as it arrives; issue #15); on the embedded engine, pages of 10,000 grids as one row each.
     * Shapes share a few arrays (ShapeArena).
     */
    async indexGrids(systemId: number, levelOrder: Map<string, number>, area: Bbox | null): Promise<IndexGrid[]> {
      // A transaction is one connection: its queries go one at a time (pg will not queue them for us).
      const inTransaction = (knex as Knex.Transaction).isTransaction === true;
      const where = area ? `and g.geom && ${envelope(area).sql}` : '';
      const areaBindings = area ? envelope(area).bindings : [];
      // Over a whole system, leaves are the grids nobody names as parent; over an area, a grid's children
      // may lie outside it, so the database says.
      const leafSql = area ? 'not exists (select 1 from grids c where c.system_id = g.system_id and c.parent_code = g.code)' : 'true';
      // Ranges split the system's id range evenly (ids of a system come mostly in runs, from its imports).
      const span: { first: number | string | null; last: number | string | null; n: number | string } = (
        await knex.raw(`select min(g.id) as first, max(g.id) as last, count(*) as n from grids g where g.system_id = ? ${where}`, [systemId, ...areaBindings])
      ).rows[0];
      if (span.first === null) return [];
      // The last range ends at the system's last id too: open-ended, it would scan every later system's rows.
      const rangesOf = (count: number) => {
        const first = Number(span.first) - 1;
        const last = Number(span.last);
        const step = Math.ceil((last - first) / count);
        return Array.from({ length: count }, (_, i) => [first + i * step, i === count - 1 ? last : first + (i + 1) * step] as const);
      };
      const select = (fields: string, [after, last]: readonly [number, number], fieldBindings: Knex.RawBinding[] = []) => ({
        sql: `select ${fields} from grids g where g.system_id = ? and g.id > ? and g.id <= ? ${where}`,
        bindings: [...fieldBindings, systemId, after, last, ...areaBindings],
      });
      const arena = new ShapeArena();
      const parents = new Set<string>();
      const toGrid = (code: string, level: string, parent: string | null, leaf: boolean, shape: FlatShape): IndexGrid => {
        if (parent !== null) parents.add(parent);
        return { code, order: levelOrder.get(level) ?? 0, leaf, shape };
      };
      const finish = (parts: IndexGrid[][]) => {
        const out = parts.flat();
        if (!area) for (const g of out) g.leaf = !parents.has(g.code);
        return out;
      };

      // Server: outside a transaction, two halves of the id range on two connections, so PostgreSQL sends
      // one while this process parses the other. Each row is the code, the level's position in `levels`,
      // the leaf flag over an area, and the WKB; over a whole system the parents come from a query of
      // their own over the parent index (a tenth as many strings to decode as one per row).
      const levels = [...levelOrder.keys()];
      const orders = levels.map((l) => levelOrder.get(l)!);
      const halves = rangesOf(inTransaction ? 1 : 2);
      const copied: IndexGrid[][] = halves.map(() => []);
      const copyHalf = (range: readonly [number, number], out: IndexGrid[]) => {
        const q = select(`g.code, array_position(?::text[], g.level), ${area ? leafSql : 'true'}, g.geom`, range, [pgArray(levels)]);
        // COPY takes no bound parameters: knex writes the values into the text, quoted.
        return copyOut(knex, knex.raw(q.sql, q.bindings).toQuery(), (row) => {
          const code = row.text()!;
          const level = row.int();
          const leaf = row.bool()!;
          out.push({ code, order: level === null ? 0 : orders[level - 1]!, leaf, shape: shapeFromWkb(row.bytea()!, arena) });
        });
      };
      const readParents = async () => {
        if (area) return;
        const rows: { parent_code: string }[] = (await knex.raw('select distinct parent_code from grids where system_id = ? and parent_code is not null', [systemId])).rows;
        for (const r of rows) parents.add(r.parent_code);
      };
      let ran: boolean[];
      if (inTransaction) {
        ran = [await copyHalf(halves[0]!, copied[0]!)];
        if (ran[0]) await readParents();
      } else {
        [ran] = await Promise.all([Promise.all(halves.map((range, i) => copyHalf(range, copied[i]!))), readParents()]);
      }
      if (ran.every(Boolean)) return finish(copied);

      // Embedded engine: one row per page, the grids' fields as JSON arrays and their WKB end to end in one
      // bytea, so the driver decodes a few large values instead of 10,000 rows of small ones. The
      // aggregates have no ORDER BY (sorting in each one tripled the time): the aggregates of one query
      // read the same rows in the same order, and each grid's vertex count checks that the lists line up.
      const pages = rangesOf(Math.max(1, Math.ceil(Number(span.n) / 10_000)));
      const parts: IndexGrid[][] = [];
      for (const range of pages) {
        const q = select(
          `to_json(array_agg(g.code)) as codes, to_json(array_agg(g.level)) as levels,
           to_json(array_agg(g.parent_code)) as parents, to_json(array_agg(${leafSql})) as leaves,
           to_json(array_agg(ST_NPoints(g.geom))) as points, string_agg(ST_AsBinary(g.geom), ''::bytea) as wkbs`,
          range,
        );
        const row: { codes: string[] | null; levels: string[]; parents: (string | null)[]; leaves: boolean[]; points: number[]; wkbs: Uint8Array } = (
          await knex.raw(q.sql, q.bindings)
        ).rows[0];
        if (!row.codes) continue;
        const shapes = shapesFromWkbs(row.wkbs, arena);
        parts.push(
          row.codes.map((code, k) => {
            const shape = shapes[k]!;
            if (vertexCount(shape) !== row.points[k]) throw new Error(`grid ${code}: its geometry and fields came back in different orders`);
            return toGrid(code, row.levels[k]!, row.parents[k]!, row.leaves[k]!, shape);
          }),
        );
      }
      return finish(parts);
    },

    /** How often each system's grids have changed, for the index cache (bumped by the change hook). */
    async generations(): Promise<Map<number, number>> {
      const rows: { system_id: number; generation: number }[] = (await knex.raw('select system_id, generation from grid_generations')).rows;
      return new Map(rows.map((r) => [r.system_id, Number(r.generation)]));
    },

    async bumpGeneration(systemId: number): Promise<void> {
      await knex.raw(
        `insert into grid_generations (system_id, generation) values (?, 1)
         on conflict (system_id) do update set generation = grid_generations.generation + 1`,
        [systemId],
      );
    },

    /** An empty register takes its first load without the GiST index, which is then built in one pass. */
    async isEmpty(): Promise<boolean> {
      return !(await knex.raw('select exists (select 1 from addresses) as e')).rows[0].e;
    },

    async dropGeomIndex(): Promise<void> {
      await knex.raw('drop index addresses_geom_gist');
    },

    async createGeomIndex(): Promise<void> {
      await knex.raw('create index addresses_geom_gist on addresses using gist (geom)');
    },

    /** The largest 就近划入 reach of any address, to know how far a grid change can move addresses. */
    async maxNearest(): Promise<number> {
      const r = (await knex.raw('select max(nearest_m)::float8 as m from addresses where nearest_m is not null')).rows[0];
      return r?.m ?? 0;
    },

    /** A temporary table of the external ids this import has seen, to report duplicates within the file. */
    async createSeenTable(): Promise<void> {
      await knex.raw('create temporary table address_import_seen (external_id text primary key, row integer not null) on commit drop');
    },

    /** Records ids as seen; returns those seen before in this import, with the row that had them first. */
    async markSeen(rows: { externalId: string; row: number }[]): Promise<Map<string, number>> {
      if (rows.length === 0) return new Map();
      const fresh: { external_id: string }[] = (
        await knex.raw(
          `insert into address_import_seen (external_id, row) select * from unnest(?::text[], ?::int[])
           on conflict (external_id) do nothing returning external_id`,
          [pgArray(rows.map((r) => r.externalId)), pgArray(rows.map((r) => r.row))],
        )
      ).rows;
      if (fresh.length === rows.length) return new Map();
      const isFresh = new Set(fresh.map((r) => r.external_id));
      const repeated = rows.filter((r) => !isFresh.has(r.externalId)).map((r) => r.externalId);
      const first: { external_id: string; row: number }[] = (
        await knex.raw('select external_id, row from address_import_seen where external_id = any(?::text[])', [pgArray(repeated)])
      ).rows;
      return new Map(first.map((r) => [r.external_id, r.row]));
    },

    async existing(externalIds: string[]): Promise<Map<string, ExistingAddress>> {
      if (externalIds.length === 0) return new Map();
      const rows: { id: number; external_id: string; content_hash: string; x: number; y: number; grids: Record<string, string> }[] = (
        await knex.raw(
          `select id, external_id, content_hash, ST_X(geom)::float8 as x, ST_Y(geom)::float8 as y, grids
           from addresses where external_id = any(?::text[])`,
          [pgArray(externalIds)],
        )
      ).rows;
      return new Map(rows.map((r) => [r.external_id, { id: Number(r.id), hash: r.content_hash, lon: r.x, lat: r.y, grids: r.grids ?? {} }]));
    },

    /** Imports run one at a time; reading goes on meanwhile. */
    async lockForImport(): Promise<void> {
      await knex.raw('lock table addresses in share row exclusive mode');
    },

    /**
     * Inserts new addresses and rewrites changed ones (by external id), in one statement; 'insert' when
     * every row is known to be new (a first load), which skips the conflict check.
     */
    async upsert(rows: AddressWrite[], mode: 'insert' | 'upsert'): Promise<void> {
      if (rows.length === 0) return;
      const col = <T extends string | number | null>(f: (r: AddressWrite) => T) => pgArray(rows.map(f));
      await knex.raw(
        `insert into addresses (external_id, kind, door, street, building, unit, room, building_key, households, population,
           nearest_m, attributes, geom, grids, grid_status, content_hash)
         select e, k, d, s, b, u, r, bk, h, p, n, at::jsonb, ST_SetSRID(ST_MakePoint(x, y), 4326), g::jsonb, gs::jsonb, hs
         from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int[], ?::int[],
           ?::real[], ?::text[], ?::float8[], ?::float8[], ?::text[], ?::text[], ?::text[])
           as t(e, k, d, s, b, u, r, bk, h, p, n, at, x, y, g, gs, hs)
         ${mode === 'insert' ? '' : `on conflict (external_id) do update set kind = excluded.kind, door = excluded.door, street = excluded.street,
           building = excluded.building, unit = excluded.unit, room = excluded.room, building_key = excluded.building_key,
           households = excluded.households, population = excluded.population, nearest_m = excluded.nearest_m,
           attributes = excluded.attributes, geom = excluded.geom, grids = excluded.grids, grid_status = excluded.grid_status,
           content_hash = excluded.content_hash, version = addresses.version + 1, updated_at = now()`}`,
        [
          col((r) => r.externalId),
          col((r) => r.kind),
          col((r) => r.door),
          col((r) => r.street),
          col((r) => r.building),
          col((r) => r.unit),
          col((r) => r.room),
          col((r) => r.buildingKey),
          col((r) => r.households),
          col((r) => r.population),
          col((r) => r.nearestM),
          col((r) => JSON.stringify(r.attributes)),
          col((r) => r.lon),
          col((r) => r.lat),
          col((r) => JSON.stringify(r.grids)),
          col((r) => JSON.stringify(r.gridStatus)),
          col((r) => r.hash),
        ],
      );
    },

    /**
     * Addresses a change in `area` can move, in pages by id: those inside it, and those within `reach`
     * of it that may be placed by distance. Null area = every address.
     */
    async placed(systemId: number, area: Bbox | null, reach: Bbox | null, after: number, limit: number): Promise<PlacedAddress[]> {
      const where: string[] = ['a.id > ?'];
      const bindings: Knex.RawBinding[] = [String(systemId), String(systemId), after];
      if (area) {
        where.push(`(a.geom && ${envelope(area).sql}${reach ? ` or (a.nearest_m is not null and a.geom && ${envelope(reach).sql})` : ''})`);
        bindings.push(...envelope(area).bindings, ...(reach ? envelope(reach).bindings : []));
      }
      const rows: { id: number; x: number; y: number; nearest_m: number | null; code: string | null; note: StatusNote | null }[] = (
        await knex.raw(
          `select a.id, ST_X(a.geom)::float8 as x, ST_Y(a.geom)::float8 as y, a.nearest_m, a.grids ->> ? as code, a.grid_status -> ? as note
           from addresses a where ${where.join(' and ')} order by a.id limit ?`,
          [...bindings, limit],
        )
      ).rows;
      return rows.map((r) => ({ id: Number(r.id), lon: r.x, lat: r.y, nearestM: r.nearest_m, code: r.code, note: r.note }));
    },

    /** Writes new assignments in one system; a null code removes the address from the system. */
    async setAssignments(systemId: number, changes: { id: number; code: string | null; note: StatusNote | null }[]): Promise<void> {
      if (changes.length === 0) return;
      const key = String(systemId);
      await knex.raw(
        `update addresses a set
           grids = case when u.code is null then a.grids - ?::text else jsonb_set(a.grids, array[?::text], to_jsonb(u.code)) end,
           grid_status = case when u.note is null then a.grid_status - ?::text else jsonb_set(a.grid_status, array[?::text], u.note::jsonb) end
         from unnest(?::bigint[], ?::text[], ?::text[]) as u(id, code, note) where a.id = u.id`,
        [
          key,
          key,
          key,
          key,
          pgArray(changes.map((c) => c.id)),
          pgArray(changes.map((c) => c.code)),
          pgArray(changes.map((c) => (c.note ? JSON.stringify(c.note) : null))),
        ],
      );
    },

  };
}

export type AddressQueries = ReturnType<typeof createAddressQueries>;
