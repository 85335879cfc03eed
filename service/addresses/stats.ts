import type { AddressQueries, AddressRecord } from './store';
import type { StoredSystem } from '../kernel/types';

export interface KindCounts {
  addresses: number;
  households: number;
  population: number;
}

export interface RuleViolation {
  rule: 'households' | 'children';
  expected: { min?: number; max?: number };
  actual: number;
  message: string;
}

export interface GridStats extends KindCounts {
  code: string;
  name: string;
  level: string;
  parent: string | null;
  buildings: number;
  children: number;
  ambiguous: number;
  nearest: number;
  byKind: Record<string, KindCounts>;
  violations: RuleViolation[];
}

export interface SystemStats {
  system: string;
  totals: KindCounts & { buildings: number; assigned: number; ambiguous: number; nearest: number; unassigned: number };
  grids: GridStats[];
  completeness: {
    unassigned: { count: number; items: AddressSummary[] };
    ambiguous: { count: number; items: (AddressSummary & { code: string; alsoIn: string[] })[] };
    buildingsWithoutHouseholds: { count: number; items: { buildingKey: string; code: string | null; addresses: number }[] };
    gridsWithoutAddresses: string[];
  };
}

export interface AddressSummary {
  externalId: string;
  kind: string;
  door: string | null;
  street: string | null;
  lon: number;
  lat: number;
}

/**
 * Counts per grid, rolled up the tree, against each level's household range and fan-out, with the
 * completeness lists (unassigned and ambiguous addresses, buildings without households, empty grids).
 */
export async function systemStats(q: AddressQueries, system: StoredSystem, limit: number): Promise<SystemStats> {
  // One after another: the embedded engine has a single connection.
  const tree = await q.gridTree(system.id);
  const aggregates = await q.aggregates(system.id);
  const buildings = await q.buildingsPerGrid(system.id);
  const totals = await q.totals(system.id);
  const levels = new Map(system.levels.map((l) => [l.key, l]));
  const byCode = new Map<string, GridStats>();
  for (const g of tree) {
    byCode.set(g.code, {
      code: g.code, name: g.name, level: g.level, parent: g.parentCode,
      addresses: 0, buildings: buildings.get(g.code) ?? 0, households: 0, population: 0,
      children: 0, ambiguous: 0, nearest: 0, byKind: {}, violations: [],
    });
  }
  for (const g of byCode.values()) if (g.parent) {
    const parent = byCode.get(g.parent);
    if (parent) parent.children++;
  }
  const sums = { addresses: 0, households: 0, population: 0, ambiguous: 0, nearest: 0 };
  for (const agg of aggregates) {
    sums.addresses += agg.addresses;
    sums.households += agg.households;
    sums.population += agg.population;
    sums.ambiguous += agg.ambiguous;
    sums.nearest += agg.nearest;
    const seen = new Set<string>();
    for (let g = byCode.get(agg.code); g && !seen.has(g.code); g = g.parent ? byCode.get(g.parent) : undefined) {
      seen.add(g.code);
      g.addresses += agg.addresses;
      g.households += agg.households;
      g.population += agg.population;
      g.ambiguous += agg.ambiguous;
      g.nearest += agg.nearest;
      const k = (g.byKind[agg.kind] ??= { addresses: 0, households: 0, population: 0 });
      k.addresses += agg.addresses;
      k.households += agg.households;
      k.population += agg.population;
    }
  }
  for (const g of byCode.values()) g.violations = violations(g, levels.get(g.level));

  const unassigned = await q.list({ systemId: system.id, status: 'unassigned', limit, offset: 0 });
  const ambiguous = await q.list({ systemId: system.id, status: 'ambiguous', limit, offset: 0 });
  const summary = (a: AddressRecord): AddressSummary => ({ externalId: a.externalId, kind: a.kind, door: a.door, street: a.street, lon: a.lon, lat: a.lat });
  const id = String(system.id);
  const grids = [...byCode.values()];
  return {
    system: system.key,
    totals: {
      addresses: totals.addresses,
      buildings: totals.buildings,
      households: totals.households,
      population: totals.population,
      assigned: sums.addresses,
      ambiguous: sums.ambiguous,
      nearest: sums.nearest,
      unassigned: totals.unassigned,
    },
    grids,
    completeness: {
      unassigned: { count: totals.unassigned, items: unassigned.map(summary) },
      ambiguous: {
        count: sums.ambiguous,
        items: ambiguous.map((a) => {
          const note = a.gridStatus[id];
          return { ...summary(a), code: a.grids[id]!, alsoIn: note?.status === 'ambiguous' ? note.also_in : [] };
        }),
      },
      buildingsWithoutHouseholds: await q.buildingsWithoutHouseholds(system.id, limit),
      gridsWithoutAddresses: grids.filter((g) => g.children === 0 && g.addresses === 0).map((g) => g.code),
    },
  };
}

function violations(g: GridStats, level: StoredSystem['levels'][number] | undefined): RuleViolation[] {
  const out: RuleViolation[] = [];
  const check = (rule: RuleViolation['rule'], range: { min?: number; max?: number } | undefined, actual: number, what: string) => {
    if (!range) return;
    const tooFew = range.min !== undefined && actual < range.min;
    const tooMany = range.max !== undefined && actual > range.max;
    if (!tooFew && !tooMany) return;
    const expected = `${range.min ?? 0}–${range.max ?? '∞'}`;
    out.push({ rule, expected: range, actual, message: `grid ${g.code} has ${actual} ${what}; level ${level!.name} (${level!.key}) expects ${expected}` });
  };
  check('households', level?.households, g.households, 'households');
  check('children', level?.children, g.children, 'child grids');
  return out;
}
