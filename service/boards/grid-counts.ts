import { badRequest } from '../errors';
import { rootsIn, type AreaScope } from '../kernel/scope';
import type { StoredSystem } from '../kernel/types';
import type { IncidentCounts } from './board-html';
import type { GridCountsStore, GridSelection, RegisterSums } from './grid-counts-store';

/** At most this many grids per answer: a map viewport of the 100k-grid city at grid zoom holds a few hundred. */
export const GRID_COUNTS_MAX = 5000;

/** A bank grid's filing (建档面, DOMAIN.md "Bank grids"): records filed over records to file, all categories summed. */
export interface FilingSum {
  filed: number;
  total: number;
  rate: number | null;
}

export interface GridCounts {
  code: string;
  name: string;
  level: string;
  parent: string | null;
  addresses: number;
  households: number;
  population: number;
  incidents: IncidentCounts;
  /** Bank systems only: null on other systems and on grids without a filing row (coarser levels). */
  filing: FilingSum | null;
}

export interface GridCountsAnswer {
  system: string;
  kind: StoredSystem['kind'];
  /** When the counts were taken: "overdue" depends on it. */
  at: string;
  grids: GridCounts[];
  /** More grids matched than `limit`: the first ones in code order are answered. */
  truncated: boolean;
}

export interface GridCountsDeps {
  systems: { require(key: string): Promise<StoredSystem> };
  store: GridCountsStore;
  /** Open, overdue and closed cases in each grid and below it at an instant (the incident feature's counts). */
  incidents: (system: string, codes: readonly string[], at: Date) => Promise<Map<string, IncidentCounts>>;
  /** A bank system's filing report per finest grid and category (the overlays' own, issue #13). */
  filing: (system: string) => Promise<{ grids: { code: string; categories: Partial<Record<string, { filed: number; total: number }>> }[] }>;
  now?: () => Date;
}

/**
 * The grid board view (issue #17 item 4; issue #12 "counts per grid on the grid layer"): per grid of a
 * system in a box or under a parent, households, people, open/overdue/closed incidents and, for bank
 * grids, the filing rate. Filtered by the caller's AreaScope; aggregates only, so nothing is masked.
 */
export function createGridCounts(deps: GridCountsDeps) {
  const now = deps.now ?? (() => new Date());
  return {
    async counts(key: string, query: GridSelection & { level?: string; limit: number; scope: AreaScope }): Promise<GridCountsAnswer> {
      const system = await deps.systems.require(key);
      if (query.level !== undefined && !system.levels.some((l) => l.key === query.level)) {
        throw badRequest('unknown_level', `level "${query.level}" is not a level of system "${key}" (${system.levels.map((l) => l.key).join(', ')})`, { field: 'level' });
      }
      const roots = rootsIn(query.scope, key);
      const at = now();
      const selection: GridSelection = 'bbox' in query ? { bbox: query.bbox } : { parent: query.parent };
      if (roots !== null && roots.length === 0) return { system: key, kind: system.kind, at: at.toISOString(), grids: [], truncated: false };
      const found = await deps.store.grids(system.id, selection, query.level, roots, query.limit + 1);
      const grids = found.slice(0, query.limit);
      const codes = grids.map((g) => g.code);
      const register = await deps.store.register(system.id, codes);
      const incidents = await deps.incidents(key, codes, at);
      const filing = system.kind === 'bank' ? filingByGrid(await deps.filing(key)) : null;
      const none: RegisterSums = { addresses: 0, households: 0, population: 0 };
      return {
        system: key,
        kind: system.kind,
        at: at.toISOString(),
        grids: grids.map((g) => {
          const f = filing?.get(g.code);
          return {
            ...g,
            ...(register.get(g.code) ?? none),
            incidents: incidents.get(g.code) ?? { open: 0, overdue: 0, closed: 0 },
            filing: f ? { ...f, rate: f.total > 0 ? Math.round((Math.min(f.filed, f.total) / f.total) * 10_000) / 10_000 : null } : null,
          };
        }),
        truncated: found.length > query.limit,
      };
    },
  };
}

/** A grid's categories summed: one filing figure per grid for the board. */
function filingByGrid(report: Awaited<ReturnType<GridCountsDeps['filing']>>): Map<string, { filed: number; total: number }> {
  const out = new Map<string, { filed: number; total: number }>();
  for (const g of report.grids) {
    let filed = 0;
    let total = 0;
    for (const c of Object.values(g.categories)) {
      filed += c?.filed ?? 0;
      total += c?.total ?? 0;
    }
    out.set(g.code, { filed, total });
  }
  return out;
}

export type GridCountsService = ReturnType<typeof createGridCounts>;
