import { knexOf, type Queryable } from '../db/tx';
import { IN_REACH, REACH_CTE } from './register-sql';

export interface AddressCounts {
  addresses: number;
  households: number;
  population: number;
}

export interface SubtreeCounts {
  /** Per grid code of the subtree that holds addresses directly (addresses belong to the finest grid). */
  byCode: Map<string, AddressCounts>;
  /** The whole subtree, with its distinct buildings. */
  total: AddressCounts & { buildings: number };
  /** False when no address of the system is assigned to any grid: the counts then say nothing. */
  hasAddresses: boolean;
}

/**
 * Reads for the boards. They count the address register (migrations/002_addresses.ts) for one subtree
 * only, as the address tiles do, instead of the whole system's statistics: a street's table must not
 * wait for a city's (tens of seconds for 1 million addresses on the 100,000-grid city: scripts/bench-boards.ts).
 */
export function createBoardStore(db: Queryable) {
  const knex = knexOf(db);
  return {
    /**
     * Addresses, households and population per grid under `code` (included), by each address's grid in
     * the system. The GiST index finds the addresses inside the subtree's box and, for those placed by
     * distance (就近划入, `nearest_m` set), within the largest such distance of it (degrees of longitude
     * are shorter than of latitude, so the box grows by the longitude span: a little more than needed).
     */
    async countsUnder(systemId: number, code: string): Promise<SubtreeCounts> {
      const key = String(systemId);
      const rows: { code: string | null; addresses: number; households: number; population: number; buildings: number }[] = (
        await knex.raw(
          `with recursive down(code, depth) as (
             select code, 0 from grids where system_id = ? and code = ?
             union all
             select g.code, down.depth + 1 from grids g join down on g.parent_code = down.code
             where g.system_id = ? and down.depth < 50),
           box as (select ST_Envelope(geom) as geom from grids where system_id = ? and code = ?),
           ${REACH_CTE}
           select t.code, count(*)::int as addresses, coalesce(sum(t.households), 0)::int as households,
             coalesce(sum(t.population), 0)::int as population, count(distinct t.building_key)::int as buildings
           from (select a.grids ->> ? as code, a.households, a.population, a.building_key
                 from addresses a, reach where ${IN_REACH}) t
           where t.code in (select code from down)
           group by grouping sets ((t.code), ())`,
          [systemId, code, systemId, systemId, code, key],
        )
      ).rows;
      const byCode = new Map<string, AddressCounts>();
      let total = { addresses: 0, households: 0, population: 0, buildings: 0 };
      for (const r of rows) {
        const counts = { addresses: r.addresses, households: r.households, population: r.population };
        if (r.code === null) total = { ...counts, buildings: r.buildings };
        else byCode.set(r.code, counts);
      }
      const hasAddresses = total.addresses > 0 || (await knex.raw('select exists (select 1 from addresses a where (a.grids -> ?) is not null) as any', [key])).rows[0].any;
      return { byCode, total, hasAddresses };
    },
  };
}

export type BoardStore = ReturnType<typeof createBoardStore>;
