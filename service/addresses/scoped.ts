import type { SystemStats } from './stats';

/**
 * A system's statistics as a caller scoped to some of its subtrees sees them (issue #10): only the grids
 * in `codes`, totals summed over the scope's roots, no unassigned addresses (they lie in no grid, so in no
 * one's scope). A building split between two roots counts in each.
 */
export function restrictStats(stats: SystemStats, codes: ReadonlySet<string>, roots: readonly string[]): SystemStats {
  const grids = stats.grids.filter((g) => codes.has(g.code));
  const top = grids.filter((g) => roots.includes(g.code));
  const sum = (f: (g: (typeof grids)[number]) => number) => top.reduce((n, g) => n + f(g), 0);
  const ambiguous = stats.completeness.ambiguous.items.filter((a) => codes.has(a.code));
  const buildings = stats.completeness.buildingsWithoutHouseholds.items.filter((b) => b.code !== null && codes.has(b.code));
  return {
    system: stats.system,
    totals: {
      addresses: sum((g) => g.addresses),
      households: sum((g) => g.households),
      population: sum((g) => g.population),
      buildings: sum((g) => g.buildings),
      assigned: sum((g) => g.addresses),
      ambiguous: sum((g) => g.ambiguous),
      nearest: sum((g) => g.nearest),
      unassigned: 0,
    },
    grids,
    completeness: {
      unassigned: { count: 0, items: [] },
      ambiguous: { count: ambiguous.length, items: ambiguous },
      buildingsWithoutHouseholds: { count: buildings.length, items: buildings },
      gridsWithoutAddresses: stats.completeness.gridsWithoutAddresses.filter((c) => codes.has(c)),
    },
  };
}
