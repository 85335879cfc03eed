import { knexOf, type Queryable } from '../db/tx';
import type { FaceRef } from '../geometry/overlay/index';

/** A stored overlay's request, resolved: every level named, the policy complete (service.ts resolvePolicy). */
export interface StoredRequest {
  territory: { system: string; code: string };
  systems: { key: string; level: string }[];
  units: { system: string; level: string };
  policy: import('../geometry/overlay/index').OverlayPolicy;
}

export interface StoredResult {
  id: number;
  request: StoredRequest;
  updatedAt: string;
}

/** A stored face; `geometry` is GeoJSON text, read only when asked for. */
export interface StoredFaceRow {
  id: number;
  unit: string | null;
  grids: FaceRef[];
  area_m2: number;
  geometry: string | null;
}

export interface NewFace {
  unit: string | null;
  depth: number;
  grids: FaceRef[];
  excess: boolean;
  area_m2: number;
  geometry: string;
}

/** A grid change recorded for a stored overlay and not yet applied to its faces. */
export interface PendingChange {
  id: number;
  system: string;
  /** Codes of the changed grids; empty when the whole system changed. */
  codes: string[];
  /** Old and new extent of the changed grids; null = everywhere. */
  bbox: [number, number, number, number] | null;
}

/** A grid as an overlay reads it for the worker: geometry as GeoJSON text, parsed off the event loop. */
export interface GridText {
  code: string;
  name: string;
  type: string | null;
  geometry: string;
}

const ENVELOPE = 'ST_MakeEnvelope(?::float8, ?::float8, ?::float8, ?::float8, 4326)';
const parse = <T>(v: T | string): T => (typeof v === 'string' ? JSON.parse(v) : v);

/** Every SQL statement of stored overlays (migrations/040_overlay_results.ts); a pool or a transaction. */
export function createStoredOverlayStore(db: Queryable) {
  const knex = knexOf(db);
  return {
    handle: db,

    async results(): Promise<StoredResult[]> {
      const rows = await knex('overlay_results').select('id', 'request', 'updated_at').orderBy('id');
      return rows.map((r: { id: number; request: StoredRequest | string; updated_at: Date | string }) => ({ id: r.id, request: parse(r.request), updatedAt: new Date(r.updated_at).toISOString() }));
    },

    async result(id: number): Promise<StoredResult | null> {
      const r = await knex('overlay_results').where({ id }).first('id', 'request', 'updated_at');
      return r ? { id: r.id, request: parse(r.request), updatedAt: new Date(r.updated_at).toISOString() } : null;
    },

    /**
     * In a grid write's transaction (migrations/041_overlay_changes.ts): raises the system's grid version
     * and records the change for every stored overlay reading the system; one statement.
     */
    async recordChange(system: { id: number; key: string }, codes: readonly string[], bbox: readonly number[] | null): Promise<void> {
      await knex.raw(
        `with v as (insert into overlay_grid_versions as v (system_id, version) values (?, 1)
                    on conflict (system_id) do update set version = v.version + 1 returning 1)
         insert into overlay_pending (result_id, system_key, codes, bbox)
         select r.id, ?, ?::text[], ?::float8[] from overlay_results r where ? = any(r.system_ids) and exists (select 1 from v)`,
        [system.id, system.key, [...codes], bbox === null ? null : [...bbox], system.id],
      );
    },

    /** Records a change for every stored overlay reading a system (a change of the system's definition). */
    async recordSystemChange(systemKey: string): Promise<void> {
      await knex.raw(
        `insert into overlay_pending (result_id, system_key, codes, bbox)
         select r.id, s.key, '{}'::text[], null from overlay_results r join grid_systems s on s.id = any(r.system_ids) where s.key = ?`,
        [systemKey],
      );
    },

    /** Stored overlays with changes not yet applied, oldest first. */
    async pendingResults(): Promise<number[]> {
      const { rows } = await knex.raw('select result_id, min(id) as first from overlay_pending group by result_id order by first');
      return rows.map((r: { result_id: number }) => r.result_id);
    },

    async pendingOf(resultId: number): Promise<PendingChange[]> {
      const { rows } = await knex.raw('select id, system_key, codes, bbox from overlay_pending where result_id = ? order by id', [resultId]);
      return rows.map((r: { id: string | number; system_key: string; codes: string[]; bbox: number[] | null }) => ({
        id: Number(r.id),
        system: r.system_key,
        codes: r.codes,
        bbox: r.bbox === null ? null : (r.bbox.map(Number) as [number, number, number, number]),
      }));
    },

    /** Removes applied changes; in the transaction that writes their faces. */
    async dropPending(ids: readonly number[]): Promise<void> {
      if (ids.length) await knex.raw('delete from overlay_pending where id = any(?::bigint[])', [[...ids]]);
    },

    /** Creates or replaces the result of the same request; returns its id. */
    async upsertResult(key: string, request: StoredRequest, territorySystemId: number, systemIds: number[]): Promise<number> {
      const { rows } = await knex.raw(
        `insert into overlay_results (key, request, territory_system_id, territory_code, system_ids) values (?, ?::jsonb, ?, ?, ?::int[])
         on conflict (key) do update set request = excluded.request, system_ids = excluded.system_ids, updated_at = now() returning id`,
        [key, JSON.stringify(request), territorySystemId, request.territory.code, systemIds],
      );
      return rows[0].id;
    },

    async touch(id: number): Promise<void> {
      await knex('overlay_results').where({ id }).update({ updated_at: knex.fn.now() });
    },

    async removeResult(id: number): Promise<boolean> {
      return (await knex('overlay_results').where({ id }).delete()) > 0;
    },

    /** Faces of a result; geometry only when asked. */
    async faces(id: number, options: { geometry?: boolean } = {}): Promise<StoredFaceRow[]> {
      const rows = await knex('overlay_faces')
        .where({ result_id: id })
        .select('id', 'unit_code', 'grids', 'area_m2', ...(options.geometry ? [knex.raw('ST_AsGeoJSON(geom, 9) as geojson')] : []))
        .orderBy('id');
      return rows.map((r: { id: string | number; unit_code: string | null; grids: FaceRef[] | string; area_m2: number; geojson?: string }) => ({
        id: Number(r.id),
        unit: r.unit_code,
        grids: parse(r.grids),
        area_m2: Number(r.area_m2),
        geometry: r.geojson ?? null,
      }));
    },

    /** Units a change in a box touches: of the stored faces meeting it (null = outside every unit), and of the level's grids meeting it now. */
    async unitsTouched(id: number, unitSystemId: number, unitLevel: string, bbox: readonly number[]): Promise<(string | null)[]> {
      const { rows } = await knex.raw(
        `select unit_code from overlay_faces where result_id = ? and geom && ${ENVELOPE}
         union select code from grids where system_id = ? and level = ? and geom && ${ENVELOPE}`,
        [id, ...bbox, unitSystemId, unitLevel, ...bbox],
      );
      return rows.map((r: { unit_code: string | null }) => r.unit_code);
    },

    async replaceFaces(id: number, units: readonly (string | null)[] | 'all', faces: readonly NewFace[]): Promise<void> {
      const del = knex('overlay_faces').where({ result_id: id });
      if (units !== 'all') {
        del.andWhere((w) => {
          w.whereIn('unit_code', units.filter((u): u is string => u !== null));
          if (units.includes(null)) w.orWhereNull('unit_code');
        });
      }
      await del.delete();
      // Batches keep each statement's bindings well under PostgreSQL's 65,535.
      for (let i = 0; i < faces.length; i += 2000) {
        const batch = faces.slice(i, i + 2000);
        await knex.raw(
          `insert into overlay_faces (result_id, unit_code, depth, grids, excess, area_m2, geom)
           select ?, u, d, g::jsonb, e, a, ST_SetSRID(ST_GeomFromGeoJSON(t), 4326)
           from unnest(?::text[], ?::int[], ?::text[], ?::boolean[], ?::float8[], ?::text[]) as f(u, d, g, e, a, t)`,
          [
            id,
            batch.map((f) => f.unit) as unknown as string[],
            batch.map((f) => f.depth),
            batch.map((f) => JSON.stringify(f.grids)),
            batch.map((f) => f.excess),
            batch.map((f) => f.area_m2),
            batch.map((f) => f.geometry),
          ],
        );
      }
    },

    /** Grids of one level meeting the territory (ST_Intersects), geometry as GeoJSON text. */
    async gridTexts(systemId: number, level: string, territory: { systemId: number; code: string }): Promise<GridText[]> {
      const { rows } = await knex.raw(
        `select g.code, g.name, g.type, ST_AsGeoJSON(g.geom, 9) as geojson from grids g, (select geom from grids where system_id = ? and code = ?) t
         where g.system_id = ? and g.level = ? and g.geom && t.geom and ST_Intersects(g.geom, t.geom) order by g.code`,
        [territory.systemId, territory.code, systemId, level],
      );
      return rows.map((r: { code: string; name: string; type: string | null; geojson: string }) => ({ code: r.code, name: r.name, type: r.type, geometry: r.geojson }));
    },

    /** The named grids of one level, geometry as GeoJSON text, in code order. */
    async gridTextsOf(systemId: number, level: string, codes: readonly string[]): Promise<GridText[]> {
      const { rows } = await knex.raw(
        `select code, name, type, ST_AsGeoJSON(geom, 9) as geojson from grids where system_id = ? and level = ? and code = any(?::text[]) order by code`,
        [systemId, level, [...codes]],
      );
      return rows.map((r: { code: string; name: string; type: string | null; geojson: string }) => ({ code: r.code, name: r.name, type: r.type, geometry: r.geojson }));
    },

    /** Which of `codes` lie in the subtree of `root` (walking up from them, not down the whole subtree). */
    async under(systemId: number, root: string, codes: readonly string[]): Promise<Set<string>> {
      const { rows } = await knex.raw(
        `with recursive up(start, code, parent_code) as (
           select code, code, parent_code from grids where system_id = ? and code = any(?::text[])
           union all select up.start, g.code, g.parent_code from grids g join up on g.code = up.parent_code where g.system_id = ? and up.code <> ?)
         select distinct start from up where code = ?`,
        [systemId, [...codes], systemId, root, root],
      );
      return new Set(rows.map((r: { start: string }) => r.start));
    },

    /**
     * Grids of several systems, each at its level, meeting the box of some units (the grids an incremental
     * update reads), in one statement; no test against the territory: the arrangement clips to territory ∩ unit.
     */
    async gridTextsNear(layers: readonly { systemId: number; level: string }[], units: { systemId: number; codes: readonly string[] }): Promise<GridText[][]> {
      const { rows } = await knex.raw(
        `select g.system_id, g.level, g.code, g.name, g.type, ST_AsGeoJSON(g.geom, 9) as geojson
         from grids g join unnest(?::int[], ?::text[]) as l(system_id, level) on g.system_id = l.system_id and g.level = l.level,
           (select ST_Extent(geom)::geometry as box from grids where system_id = ? and code = any(?::text[])) u
         where g.geom && u.box order by g.code`,
        [layers.map((l) => l.systemId), layers.map((l) => l.level), units.systemId, [...units.codes]],
      );
      const out = layers.map((): GridText[] => []);
      const index = new Map(layers.map((l, k) => [`${l.systemId}:${l.level}`, k]));
      for (const r of rows as { system_id: number; level: string; code: string; name: string; type: string | null; geojson: string }[]) {
        out[index.get(`${r.system_id}:${r.level}`)!]!.push({ code: r.code, name: r.name, type: r.type, geometry: r.geojson });
      }
      return out;
    },

    /** Faces meeting a box, clipped to it, geometry as GeoJSON text (the tile layer). */
    async facesInBox(id: number, bbox: readonly number[]): Promise<{ id: number; unit: string | null; depth: number; grids: FaceRef[]; excess: boolean; area_m2: number; geojson: string }[]> {
      const { rows } = await knex.raw(
        `select id, unit_code, depth, grids, excess, area_m2, ST_AsGeoJSON(ST_ClipByBox2D(geom, ${ENVELOPE}), 9) as geojson
         from overlay_faces where result_id = ? and geom && ${ENVELOPE} order by id`,
        [...bbox, id, ...bbox],
      );
      return rows.map((r: { id: string | number; unit_code: string | null; depth: number; grids: FaceRef[] | string; excess: boolean; area_m2: number; geojson: string }) => ({
        id: Number(r.id),
        unit: r.unit_code,
        depth: Number(r.depth),
        area_m2: Number(r.area_m2),
        grids: parse(r.grids),
        excess: r.excess,
        geojson: r.geojson,
      }));
    },

    async bounds(id: number): Promise<[number, number, number, number] | null> {
      const { rows } = await knex.raw('select ST_XMin(e) as w, ST_YMin(e) as s, ST_XMax(e) as e, ST_YMax(e) as n from (select ST_Extent(geom) as e from overlay_faces where result_id = ?) x', [id]);
      const r = rows[0];
      return r && r.w !== null ? [Number(r.w), Number(r.s), Number(r.e), Number(r.n)] : null;
    },

    /** Code, name and type of the named grids of a system, in code order (no geometry). */
    async namesOf(systemId: number, codes: readonly string[]): Promise<GridText[]> {
      const rows: { code: string; name: string; type: string | null }[] = await knex('grids').where({ system_id: systemId }).whereIn('code', [...codes]).select('code', 'name', 'type').orderBy('code');
      return rows.map((r) => ({ code: r.code, name: r.name, type: r.type, geometry: '' }));
    },

    /** Codes of the ancestors of a grid, root first, and the grid itself. */
    async path(systemKey: string, code: string): Promise<string[]> {
      const { rows } = await knex.raw(
        `with recursive s as (select id from grid_systems where key = ?),
         up(code, parent_code, depth) as (
           select g.code, g.parent_code, 0 from grids g, s where g.system_id = s.id and g.code = ?
           union all select g.code, g.parent_code, up.depth + 1 from grids g join up on g.code = up.parent_code, s where g.system_id = s.id)
         select code from up order by depth desc`,
        [systemKey, code],
      );
      return rows.map((r: { code: string }) => r.code);
    },

    /** The kind of each named system. */
    async kinds(keys: readonly string[]): Promise<Map<string, string>> {
      const rows: { key: string; kind: string }[] = await knex('grid_systems').whereIn('key', [...keys]).select('key', 'kind');
      return new Map(rows.map((r) => [r.key, r.kind]));
    },
  };
}

export type StoredOverlayStore = ReturnType<typeof createStoredOverlayStore>;

/** Runs `work` with a store inside one transaction. */
export function inStoredTransaction<T>(db: Queryable, work: (store: StoredOverlayStore) => Promise<T>): Promise<T> {
  return knexOf(db).transaction((trx) => work(createStoredOverlayStore(trx as unknown as Queryable)));
}
