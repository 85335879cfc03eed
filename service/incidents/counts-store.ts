import { knexOf, type Queryable } from '../db/tx';
import { OPEN_STATUSES } from './workflow';

export interface GridIncidentCounts {
  open: number;
  overdue: number;
  closed: number;
}

const CLOSED_STATUSES = ['closed', 'evaluated'];

/**
 * Cases under each of some grids, for boards and the map's grid board view (issue #17): aggregates only.
 * A case carries `system:code` of every grid of every chain containing it (`scope_keys`), so a grid's sum
 * includes its descendants' cases without walking the tree, and the GIN index finds them. Overdue means
 * still open and past its deadline now, or marked overdue by the scan — the list filter's definition.
 */
export function createIncidentCounts(db: Queryable) {
  const knex = knexOf(db);
  return {
    async under(system: string, codes: readonly string[], now: Date = new Date()): Promise<Map<string, GridIncidentCounts>> {
      if (codes.length === 0) return new Map();
      const keys = codes.map((c) => `${system}:${c}`);
      const { rows } = await knex.raw(
        `select k.key,
           count(*) filter (where i.status = any(?::text[]))::int as open,
           count(*) filter (where i.status = any(?::text[]) and (i.was_overdue or i.due_at < ?::timestamptz))::int as overdue,
           count(*) filter (where i.status = any(?::text[]))::int as closed
         from incidents i cross join lateral unnest(i.scope_keys) as k(key)
         where i.scope_keys && ?::text[] and k.key = any(?::text[])
         group by k.key`,
        [[...OPEN_STATUSES], [...OPEN_STATUSES], now, CLOSED_STATUSES, keys, keys],
      );
      const prefix = system.length + 1;
      return new Map(rows.map((r: { key: string; open: number; overdue: number; closed: number }) => [r.key.slice(prefix), { open: Number(r.open), overdue: Number(r.overdue), closed: Number(r.closed) }]));
    },
  };
}
