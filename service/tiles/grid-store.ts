import type { Knex } from 'knex';
import type { Level, SystemKind } from '../kernel/types';

/** A grid system as the tile layer sees it, with its size for choosing where tiles are made. */
export interface TileSystem {
  id: number;
  key: string;
  name: string;
  kind: SystemKind;
  levels: Level[];
  version: number;
  grids: number;
  vertices: number;
}

/** What a grid tile carries: the properties of issue #4 and the geometry as GeoJSON text. */
export interface GridTileRow {
  id: number;
  code: string;
  parent: string | null;
  level: string;
  name: string;
  type: string | null;
  households: number | null;
  population: number | null;
  geojson: string;
}

// Counts live in `attributes`; only numbers are counts, anything else a user typed there is not.
const count = (key: string) =>
  `case when jsonb_typeof(g.attributes->'${key}') = 'number' then (g.attributes->>'${key}')::float8 end as ${key}`;

export function createGridTileQueries(knex: Knex) {
  return {
    async systems(): Promise<TileSystem[]> {
      const rows: (Omit<TileSystem, 'levels'> & { levels: Level[] })[] = (
        await knex.raw(
          `select s.id, s.key, s.name, s.kind, s.levels, s.version,
             count(g.id)::int as grids, coalesce(sum(ST_NPoints(g.geom)), 0)::float8 as vertices
           from grid_systems s left join grids g on g.system_id = s.id
           group by s.id order by s.key`,
        )
      ).rows;
      return rows.map((r) => ({ ...r, levels: [...r.levels].sort((a, b) => a.order - b.order) }));
    },

    /** The grids of a system, or only those with the given codes. 7 decimals keep a centimetre, finer than a z18 tile unit. */
    async grids(systemId: number, codes?: string[]): Promise<GridTileRow[]> {
      return (
        await knex.raw(
          `select g.id, g.code, g.parent_code as parent, g.level, g.name, g.type, ${count('households')}, ${count('population')},
             ST_AsGeoJSON(g.geom, 7) as geojson
           from grids g where g.system_id = ? ${codes ? 'and g.code = any(?::text[])' : ''}`,
          codes ? [systemId, codes] : [systemId],
        )
      ).rows.map((r: GridTileRow) => ({ ...r, id: Number(r.id) }));
    },
  };
}

export type GridTileQueries = ReturnType<typeof createGridTileQueries>;
