import type { Grid } from '../kernel/types';

export interface StaffingGrid {
  code: string;
  name: string;
  level: string;
  parent: string | null;
  /** Names of the grid's responsible people (none for `missing`). */
  responsible: string[];
}

export interface StaffingReport {
  system: string;
  /** The subtree checked (its root included); null = the whole system. */
  under: string | null;
  level: string | null;
  checked: number;
  missing: StaffingGrid[];
  multiple: StaffingGrid[];
}

/**
 * The one-worker-per-grid rule (DOMAIN.md "Size and staffing rules": one worker per grid): every grid
 * names exactly one responsible person. Lists the grids with none and those with more than one; helpers
 * do not count. Grids in code order.
 */
export function staffingReport(system: string, grids: Grid[], scope: { under: string | null; level: string | null }): StaffingReport {
  const missing: StaffingGrid[] = [];
  const multiple: StaffingGrid[] = [];
  let checked = 0;
  for (const g of [...grids].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0))) {
    if (scope.level && g.level !== scope.level) continue;
    checked++;
    const responsible = g.people.filter((p) => p.role === 'responsible').map((p) => p.name);
    const row = { code: g.code, name: g.name, level: g.level, parent: g.parentCode, responsible };
    if (responsible.length === 0) missing.push(row);
    else if (responsible.length > 1) multiple.push(row);
  }
  return { system, under: scope.under, level: scope.level, checked, missing, multiple };
}
