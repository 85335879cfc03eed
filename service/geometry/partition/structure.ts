import type { PartitionGrid, PartitionIssue, PartitionSystem } from './types';

/** The children of one parent code, which is checked as one unit. */
export interface Family {
  /** Index of the parent grid in the input, null for the top level or a parent that does not exist. */
  parent: number | null;
  parentCode: string | null;
  children: number[];
}

/** How the input splits into families. */
export interface FamilyPlan {
  /** Families with an existing parent, and the top level: these get geometric checks and a summary. */
  families: Family[];
  /** Children of parent codes no grid has: structural issues only. */
  orphanGroups: Family[];
}

/**
 * Groups grids by parent code. The top-level family comes first, then families in the order their
 * parent appears in the input. With `parents`, only those families are kept (the top level only when
 * no filter is given); a listed parent without children still forms a family, so re-checking a parent
 * whose children were all removed reports it as uncovered. Orphans — children of a code no grid has,
 * grids naming themselves as parent, grids without a parent below the top level — form groups that get
 * structural checks only: their place in the tree is unknown, so their geometry has nothing to tile.
 *
 * @param isTopLevel whether a grid without a parent may be one (its level is the top one, or unknown)
 */
export function planFamilies(
  grids: readonly PartitionGrid[],
  parents: readonly string[] | undefined,
  occurrences: ReadonlyMap<string, number[]>,
  isTopLevel: (grid: PartitionGrid) => boolean,
): FamilyPlan {
  const first = (code: string): number | undefined => occurrences.get(code)?.[0];
  const groups = new Map<string | null, number[]>();
  const misplaced: number[] = [];
  grids.forEach((g, i) => {
    if (g.parentCode === g.code || (g.parentCode === null && !isTopLevel(g))) {
      misplaced.push(i);
      return;
    }
    const list = groups.get(g.parentCode) ?? [];
    list.push(i);
    groups.set(g.parentCode, list);
  });
  const wanted = parents ? new Set(parents) : null;
  const families: Family[] = [];
  const orphanGroups: Family[] = [];
  if (!wanted && groups.has(null)) families.push({ parent: null, parentCode: null, children: groups.get(null) ?? [] });
  const parentCodes = wanted ? [...wanted] : grids.map((g) => g.code).filter((code, i) => first(code) === i && groups.has(code));
  for (const code of parentCodes) {
    const parent = first(code);
    if (parent !== undefined) families.push({ parent, parentCode: code, children: groups.get(code) ?? [] });
  }
  for (const [code, children] of groups) {
    if (code !== null && first(code) === undefined && (!wanted || wanted.has(code))) orphanGroups.push({ parent: null, parentCode: code, children });
  }
  if (!wanted && misplaced.length > 0) orphanGroups.push({ parent: null, parentCode: null, children: misplaced });
  return { families, orphanGroups };
}

/**
 * Structural checks of a family's children: orphans, levels out of order, codes that do not extend the
 * parent's (DOMAIN.md "Codes": a child's code extends its parent's), repeated codes. Levels are data
 * (DOMAIN.md): the level right below another is the one with the next order in the system, and several
 * levels may share an order (e.g. base and dedicated grids).
 */
export function createStructureCheck(system: PartitionSystem, grids: readonly PartitionGrid[], occurrences: ReadonlyMap<string, number[]>) {
  const order = new Map(system.levels.map((l) => [l.key, l.order]));
  const orders = [...new Set(order.values())].sort((a, b) => a - b);
  const below = (o: number): number | undefined => orders[orders.indexOf(o) + 1];

  /** @param exists whether the family's parent code belongs to a grid */
  const check = (family: Family, exists: boolean): PartitionIssue[] => {
    const parent = family.parent === null ? null : grids[family.parent];
    const issues: PartitionIssue[] = [];
    const add = (kind: PartitionIssue['kind'], grid: PartitionGrid, reason: string) =>
      issues.push({ kind, system: system.key, parent: family.parentCode, grids: [grid.code], area_m2: null, geometry: grid.geometry, reason });
    for (const index of family.children) {
      const grid = grids[index];
      const level = order.get(grid.level);
      if (grid.parentCode === grid.code) add('orphan', grid, `grid ${grid.code} names itself as its parent`);
      else if (!exists && family.parentCode !== null) add('orphan', grid, `parent ${family.parentCode} of grid ${grid.code} does not exist`);
      else if (family.parentCode === null && level !== undefined && level !== orders[0]) add('orphan', grid, `grid ${grid.code} has no parent but its level ${grid.level} is not the top level`);
      if (level === undefined) add('level', grid, `level ${grid.level} of grid ${grid.code} is not a level of system ${system.key}`);
      const parentLevel = parent ? order.get(parent.level) : undefined;
      if (parent && level !== undefined && parentLevel !== undefined && level !== below(parentLevel)) {
        add('level', grid, `grid ${grid.code} is at level ${grid.level} (order ${level}), not at the level right below its parent's ${parent.level} (order ${parentLevel})`);
      }
      if (parent && (!grid.code.startsWith(parent.code) || grid.code === parent.code)) add('code', grid, `code ${grid.code} does not extend its parent's code ${parent.code}`);
      const seen = occurrences.get(grid.code) ?? [];
      if (seen.length > 1 && seen[0] !== index) add('duplicate-code', grid, `code ${grid.code} is used by ${seen.length} grids (this is occurrence ${seen.indexOf(index) + 1})`);
    }
    return issues;
  };
  /** A grid without a parent belongs at the top unless its level says otherwise (an unknown level is a level issue). */
  const isTopLevel = (grid: PartitionGrid): boolean => {
    const level = order.get(grid.level);
    return level === undefined || level === orders[0];
  };
  return { check, isTopLevel };
}

/** Input positions of every code, in input order. */
export function codeOccurrences(grids: readonly PartitionGrid[]): Map<string, number[]> {
  const occurrences = new Map<string, number[]>();
  grids.forEach((g, i) => {
    const list = occurrences.get(g.code) ?? [];
    list.push(i);
    occurrences.set(g.code, list);
  });
  return occurrences;
}
