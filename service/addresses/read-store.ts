import type { Knex } from 'knex';
import { knexOf, type Queryable } from '../db/tx';
import type { Bbox } from '../kernel/types';
import { envelope, pgArray } from './sql-values';
import type { AddressRecord, StatusNote } from './store';

export interface AddressFilter {
  systemId?: number;
  /** Grid codes of the system (a grid and its subtree); requires systemId. */
  codes?: string[];
  /** Where the addresses of `codes` can be: their grids' extent widened by the 就近划入 reach. */
  codesExtent?: Bbox;
  status?: 'assigned' | 'ambiguous' | 'nearest' | 'unassigned';
  bbox?: Bbox;
  externalIds?: string[];
  kind?: string;
  /**
   * Only addresses inside the caller's scope (issue #10): assigned, in one of these systems, to one of
   * the codes (null: to any grid of the system). An empty list matches nothing.
   */
  within?: { systemId: number; codes: string[] | null }[];
  limit: number;
  offset: number;
}

/** Per grid, kind and building: the unit the statistics roll up from. */
export interface AssignedAggregate {
  code: string;
  kind: string;
  addresses: number;
  households: number;
  population: number;
  ambiguous: number;
  nearest: number;
}

const ADDRESS_COLUMNS = `a.id, a.external_id, a.kind, a.door, a.street, a.building, a.unit, a.room, a.building_key,
  a.households, a.population, a.nearest_m, a.attributes, ST_X(a.geom)::float8 as x, ST_Y(a.geom)::float8 as y,
  a.grids, a.grid_status, a.version, a.updated_at`;

interface AddressRow {
  id: number;
  external_id: string;
  kind: string;
  door: string | null;
  street: string | null;
  building: string | null;
  unit: string | null;
  room: string | null;
  building_key: string | null;
  households: number;
  population: number;
  nearest_m: number | null;
  attributes: Record<string, unknown>;
  x: number;
  y: number;
  grids: Record<string, string>;
  grid_status: Record<string, StatusNote>;
  version: number;
  updated_at: Date | string;
}

const toRecord = (r: AddressRow): AddressRecord => ({
  id: Number(r.id),
  externalId: r.external_id,
  kind: r.kind,
  door: r.door,
  street: r.street,
  building: r.building,
  unit: r.unit,
  room: r.room,
  buildingKey: r.building_key,
  households: r.households,
  population: r.population,
  nearestM: r.nearest_m,
  attributes: r.attributes ?? {},
  lon: r.x,
  lat: r.y,
  grids: r.grids ?? {},
  gridStatus: r.grid_status ?? {},
  version: r.version,
  updatedAt: r.updated_at instanceof Date ? r.updated_at.toISOString() : new Date(r.updated_at).toISOString(),
});


/** The register's reads: listing, the nearest address, and what the statistics roll up. */
export function createAddressReads(db: Queryable) {
  const knex = knexOf(db);
  return {
    /** The grid tree of a system without geometries, for rolling counts up. */
    async gridTree(systemId: number): Promise<{ code: string; name: string; level: string; parentCode: string | null }[]> {
      const rows: { code: string; name: string; level: string; parent_code: string | null }[] = (
        await knex.raw('select code, name, level, parent_code from grids where system_id = ? order by code collate "C"', [systemId])
      ).rows;
      return rows.map((r) => ({ code: r.code, name: r.name, level: r.level, parentCode: r.parent_code }));
    },

    /** Extent of a grid and its subtree, or null when the grid does not exist. */
    async subtreeOf(systemId: number, code: string): Promise<{ codes: string[]; extent: Bbox } | null> {
      const rows: { code: string; x0: number; y0: number; x1: number; y1: number }[] = (
        await knex.raw(
          `with recursive down(code, depth) as (
             select code, 0 from grids where system_id = ? and code = ?
             union all
             select g.code, down.depth + 1 from grids g join down on g.parent_code = down.code where g.system_id = ? and down.depth < 50)
           select g.code, ST_XMin(g.geom)::float8 as x0, ST_YMin(g.geom)::float8 as y0, ST_XMax(g.geom)::float8 as x1, ST_YMax(g.geom)::float8 as y1
           from down join grids g on g.system_id = ? and g.code = down.code`,
          [systemId, code, systemId, systemId],
        )
      ).rows;
      if (rows.length === 0) return null;
      const extent: Bbox = [Infinity, Infinity, -Infinity, -Infinity];
      for (const r of rows) {
        extent[0] = Math.min(extent[0], r.x0);
        extent[1] = Math.min(extent[1], r.y0);
        extent[2] = Math.max(extent[2], r.x1);
        extent[3] = Math.max(extent[3], r.y1);
      }
      return { codes: rows.map((r) => r.code), extent };
    },

    async list(filter: AddressFilter): Promise<AddressRecord[]> {
      const where: string[] = ['true'];
      const bindings: Knex.RawBinding[] = [];
      const key = filter.systemId === undefined ? null : String(filter.systemId);
      if (filter.bbox) {
        where.push(`a.geom && ${envelope(filter.bbox).sql}`);
        bindings.push(...envelope(filter.bbox).bindings);
      }
      if (filter.codes && key !== null) {
        if (filter.codesExtent) {
          where.push(`a.geom && ${envelope(filter.codesExtent).sql}`);
          bindings.push(...envelope(filter.codesExtent).bindings);
        }
        where.push('(a.grids ->> ?) = any(?::text[])');
        bindings.push(key, pgArray(filter.codes));
      }
      if (filter.status && key !== null) {
        if (filter.status === 'unassigned') {
          where.push('(a.grids -> ?) is null');
          bindings.push(key);
        } else if (filter.status === 'assigned') {
          where.push('(a.grids -> ?) is not null and (a.grid_status -> ?) is null');
          bindings.push(key, key);
        } else {
          where.push('(a.grid_status -> ? ->> \'status\') = ?');
          bindings.push(key, filter.status);
        }
      }
      if (filter.externalIds) {
        where.push('a.external_id = any(?::text[])');
        bindings.push(pgArray(filter.externalIds));
      }
      if (filter.kind) {
        where.push('a.kind = ?');
        bindings.push(filter.kind);
      }
      if (filter.within) {
        const any = filter.within.map((w) => (w.codes === null ? '(a.grids -> ?) is not null' : '(a.grids ->> ?) = any(?::text[])'));
        where.push(any.length === 0 ? 'false' : `(${any.join(' or ')})`);
        for (const w of filter.within) bindings.push(String(w.systemId), ...(w.codes === null ? [] : [pgArray(w.codes)]));
      }
      const rows: AddressRow[] = (
        await knex.raw(`select ${ADDRESS_COLUMNS} from addresses a where ${where.join(' and ')} order by a.id limit ? offset ?`, [
          ...bindings,
          filter.limit,
          filter.offset,
        ])
      ).rows;
      return rows.map(toRecord);
    },

    /** The nearest address to a point within `within` metres (GiST KNN, then the geodesic distance). */
    async nearest(lon: number, lat: number, within: number): Promise<(AddressRecord & { distance: number }) | null> {
      const rows: (AddressRow & { distance: number })[] = (
        await knex.raw(
          `select * from (
             select ${ADDRESS_COLUMNS}, ST_Distance(a.geom::geography, ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326)::geography)::float8 as distance
             from addresses a order by a.geom <-> ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326) limit 8) t
           where distance <= ? order by distance, id limit 1`,
          [lon, lat, lon, lat, within],
        )
      ).rows;
      return rows[0] ? { ...toRecord(rows[0]), distance: rows[0].distance } : null;
    },

    /** Counts per grid and kind in one system, with the exceptions, for the statistics. */
    async aggregates(systemId: number): Promise<AssignedAggregate[]> {
      const key = String(systemId);
      const rows: { code: string; kind: string; addresses: number; households: number; population: number; ambiguous: number; nearest: number }[] = (
        await knex.raw(
          `select a.grids ->> ? as code, a.kind, count(*)::int as addresses, coalesce(sum(a.households), 0)::int as households,
             coalesce(sum(a.population), 0)::int as population,
             (count(*) filter (where a.grid_status -> ? ->> 'status' = 'ambiguous'))::int as ambiguous,
             (count(*) filter (where a.grid_status -> ? ->> 'status' = 'nearest'))::int as nearest
           from addresses a where (a.grids -> ?) is not null group by 1, 2`,
          [key, key, key, key],
        )
      ).rows;
      return rows;
    },

    /**
     * Distinct buildings per grid and for every ancestor (a building split by a boundary counts once in
     * the parent), via the grid tree.
     */
    async buildingsPerGrid(systemId: number): Promise<Map<string, number>> {
      const key = String(systemId);
      const rows: { code: string; buildings: number }[] = (
        await knex.raw(
          `with recursive chain(code, ancestor, depth) as (
             select code, code, 0 from grids where system_id = ?
             union all
             select c.code, g.parent_code, c.depth + 1 from chain c
             join grids g on g.system_id = ? and g.code = c.ancestor
             where g.parent_code is not null and c.depth < 50
           ), per as (
             select distinct a.grids ->> ? as code, a.building_key from addresses a
             where (a.grids -> ?) is not null and a.building_key is not null
           )
           select c.ancestor as code, count(distinct per.building_key)::int as buildings
           from per join chain c on c.code = per.code group by c.ancestor`,
          [systemId, systemId, key, key],
        )
      ).rows;
      return new Map(rows.map((r) => [r.code, r.buildings]));
    },

    async totals(systemId: number): Promise<{ addresses: number; buildings: number; households: number; population: number; unassigned: number }> {
      const key = String(systemId);
      const r = (
        await knex.raw(
          `select count(*)::int as addresses, count(distinct building_key)::int as buildings,
             coalesce(sum(households), 0)::int as households, coalesce(sum(population), 0)::int as population,
             (count(*) filter (where (grids -> ?) is null))::int as unassigned
           from addresses`,
          [key],
        )
      ).rows[0];
      return r;
    },

    /**
     * Residential buildings whose addresses hold no household (区不漏房、房不漏户), with the grid of their
     * first address in the system.
     */
    async buildingsWithoutHouseholds(systemId: number, limit: number): Promise<{ count: number; items: { buildingKey: string; code: string | null; addresses: number }[] }> {
      const key = String(systemId);
      const rows: { building_key: string; code: string | null; addresses: number; total: number }[] = (
        await knex.raw(
          `select building_key, min(grids ->> ?) as code, count(*)::int as addresses, (count(*) over ())::int as total
           from addresses where building_key is not null
           group by building_key having sum(households) = 0 and bool_or(kind = 'residential')
           order by building_key limit ?`,
          [key, limit],
        )
      ).rows;
      return { count: rows[0]?.total ?? 0, items: rows.map((r) => ({ buildingKey: r.building_key, code: r.code, addresses: r.addresses })) };
    },
  };
}
