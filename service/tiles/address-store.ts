import type { Knex } from 'knex';
import type { AddressCellRow } from './address-cells';
import type { LonLatBbox } from './tile-math';

/** What an address tile carries of one address (issue #5); `grids` maps a grid system's id to the address's grid code. */
export interface AddressPointRow {
  id: number;
  kind: string;
  street: string | null;
  door: string | null;
  building: string | null;
  households: number;
  population: number;
  grids: Record<string, string>;
  lon: number;
  lat: number;
}

const ENVELOPE = 'ST_MakeEnvelope(?::float8, ?::float8, ?::float8, ?::float8, 4326)';
// Web Mercator x and y in [0, 1], as tile-math.ts computes them (mercatorX, mercatorY), so the database
// puts an address in the same cell as the tile maths would.
const MERCATOR_X = 'ST_X(a.geom) / 360 + 0.5';
const MERCATOR_Y = `0.5 - ln((1 + sin(radians(least(greatest(ST_Y(a.geom), -85.0511287798066), 85.0511287798066))))
  / (1 - sin(radians(least(greatest(ST_Y(a.geom), -85.0511287798066), 85.0511287798066))))) / (4 * pi())`;

/** Reads of the address register (migrations/002_addresses.ts) for the address tile layer. */
export function createAddressTileQueries(knex: Knex) {
  return {
    async any(): Promise<boolean> {
      return (await knex.raw('select exists (select 1 from addresses) as any')).rows[0].any;
    },

    async systems(): Promise<{ id: number; key: string }[]> {
      return (await knex.raw('select id, key from grid_systems order by key')).rows;
    },

    /**
     * Addresses summed per cell of a grid `cellsPerAxis` cells across the Web Mercator world, all of them
     * or those in a box (a cell partly outside the box comes back with part of its addresses).
     */
    async cells(cellsPerAxis: number, bbox?: LonLatBbox): Promise<AddressCellRow[]> {
      return (
        await knex.raw(
          `select floor(p.mx * ?)::float8 as cx, floor(p.my * ?)::float8 as cy, count(*)::float8 as n,
             sum(p.households)::float8 as households, sum(p.population)::float8 as population, sum(p.mx)::float8 as sx, sum(p.my)::float8 as sy
           from (select a.households, a.population, ${MERCATOR_X} as mx, ${MERCATOR_Y} as my
                 from addresses a ${bbox ? `where a.geom && ${ENVELOPE}` : ''}) p
           group by 1, 2`,
          [cellsPerAxis, cellsPerAxis, ...(bbox ?? [])],
        )
      ).rows;
    },

    /** Addresses in a box, oldest first, so a tile's features come in a stable order. */
    async points(bbox: LonLatBbox): Promise<AddressPointRow[]> {
      const rows: (Omit<AddressPointRow, 'id' | 'grids'> & { id: string; grids: Record<string, string> | string })[] = (
        await knex.raw(
          `select a.id, a.kind, a.street, a.door, a.building, a.households, a.population, a.grids,
             ST_X(a.geom)::float8 as lon, ST_Y(a.geom)::float8 as lat
           from addresses a where a.geom && ${ENVELOPE} order by a.id`,
          bbox,
        )
      ).rows;
      // bigserial ids come as text; the embedded driver may hand jsonb over as text too.
      return rows.map((r) => ({ ...r, id: Number(r.id), grids: typeof r.grids === 'string' ? JSON.parse(r.grids) : r.grids }));
    },
  };
}

export type AddressTileQueries = ReturnType<typeof createAddressTileQueries>;
