import { knexOf, type Queryable } from '../db/tx';

/** A grid covering a point, as the lookup needs it. */
export interface PointHit {
  system_id: number;
  code: string;
  name: string;
  level: string;
  parent_code: string | null;
}

export type PointQueries = ReturnType<typeof createPointQueries>;

export function createPointQueries(db: Queryable) {
  const knex = knexOf(db);
  return {
    /** Every grid of every system covering the point (boundary included), by system, then code in C order. */
    async covering(lon: number, lat: number): Promise<PointHit[]> {
      return (
        await knex.raw(
          `select g.system_id, g.code, g.name, g.level, g.parent_code from grids g
           where g.geom && ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326)
             and ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326))
           order by g.system_id, g.code collate "C"`,
          [lon, lat, lon, lat],
        )
      ).rows;
    },

    /** The given grids of one system, whether or not they cover the point (a parent a child pokes out of). */
    async grids(systemId: number, codes: string[]): Promise<PointHit[]> {
      if (codes.length === 0) return [];
      return (await knex.raw('select system_id, code, name, level, parent_code from grids where system_id = ? and code = any(?::text[])', [systemId, codes])).rows;
    },
  };
}
