import type { Knex } from 'knex';
import { knexOf, type Queryable } from '../db/tx';
import { IN_REACH, REACH_CTE } from './register-sql';

/** Which grids of one system the board view counts: those meeting a box, or the children of one grid. */
export type GridSelection = { bbox: [number, number, number, number] } | { parent: string };

export interface SelectedGrid {
  code: string;
  name: string;
  level: string;
  parent: string | null;
}

export interface RegisterSums {
  addresses: number;
  households: number;
  population: number;
}

/**
 * The SQL of the grid board view (issue #17 item 4, issue #12 "counts per grid"): aggregates only, never
 * a row of a person or a case. Grids and the address register (migrations/002_addresses.ts) are read
 * here directly, as the boards' other store does; incident counts come from the incident feature.
 */
export function createGridCountsStore(db: Queryable) {
  const knex = knexOf(db);
  return {
    /**
     * The selected grids, code order, at most `limit`; `roots` (null = the whole system) keeps only the
     * subtrees under those grids (the caller's AreaScope).
     */
    async grids(systemId: number, selection: GridSelection, level: string | undefined, roots: readonly string[] | null, limit: number): Promise<SelectedGrid[]> {
      const where: string[] = ['g.system_id = ?'];
      const params: Knex.RawBinding[] = [];
      if ('bbox' in selection) {
        where.push('g.geom && ST_MakeEnvelope(?::float8, ?::float8, ?::float8, ?::float8, 4326)');
        params.push(...selection.bbox);
      } else {
        where.push('g.parent_code = ?');
        params.push(selection.parent);
      }
      if (level !== undefined) {
        where.push('g.level = ?');
        params.push(level);
      }
      const scoped =
        roots === null
          ? ''
          : `with recursive scoped(code, depth) as (
               select code, 0 from grids where system_id = ? and code = any(?::text[])
               union all
               select c.code, s.depth + 1 from grids c join scoped s on c.parent_code = s.code where c.system_id = ? and s.depth < 50)`;
      if (roots !== null) where.push('g.code in (select code from scoped)');
      const { rows } = await knex.raw(
        `${scoped}
         select g.code, g.name, g.level, g.parent_code from grids g where ${where.join(' and ')} order by g.code limit ?`,
        [...(roots === null ? [] : [systemId, [...roots], systemId]), systemId, ...params, limit],
      );
      return rows.map((r: Record<string, unknown>) => ({ code: r.code as string, name: r.name as string, level: r.level as string, parent: (r.parent_code as string | null) ?? null }));
    },

    /**
     * Addresses, households and population under each grid (itself and its descendants: an address
     * belongs to its finest grid). The GiST index narrows the register to the grids' box, grown by the
     * largest 就近划入 distance for addresses placed by distance (register-sql.ts).
     */
    async register(systemId: number, codes: readonly string[]): Promise<Map<string, RegisterSums>> {
      if (codes.length === 0) return new Map();
      const { rows } = await knex.raw(
        `with recursive down(root, code, depth) as (
           select code, code, 0 from grids where system_id = ? and code = any(?::text[])
           union all
           select d.root, g.code, d.depth + 1 from grids g join down d on g.parent_code = d.code where g.system_id = ? and d.depth < 50),
         box as (select ST_Extent(geom)::geometry as geom from grids where system_id = ? and code = any(?::text[])),
         ${REACH_CTE},
         placed as (select a.grids ->> ? as code, count(*) as addresses, sum(a.households) as households, sum(a.population) as population
                    from addresses a, reach
                    where ${IN_REACH} and (a.grids -> ?) is not null
                    group by 1)
         select d.root as code, sum(p.addresses)::float8 as addresses, sum(p.households)::float8 as households, sum(p.population)::float8 as population
         from down d join placed p on p.code = d.code group by d.root`,
        [systemId, [...codes], systemId, systemId, [...codes], String(systemId), String(systemId)],
      );
      return new Map(rows.map((r: Record<string, unknown>) => [r.code as string, { addresses: Number(r.addresses), households: Number(r.households), population: Number(r.population) }]));
    },
  };
}

export type GridCountsStore = ReturnType<typeof createGridCountsStore>;
