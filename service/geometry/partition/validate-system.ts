import { ISSUE_KINDS, type PartitionGrid, type PartitionOptions, type PartitionReport, type PartitionSystem } from './types';
import { type PreparedGrids, validatePartition } from './validate';

/** Families validated per step; progress is reported between steps. */
const FAMILIES_PER_STEP = 200;

/**
 * Validates a whole system, or the subtree under `scope`, family by family in steps, each step getting
 * only the grids it needs (the parents of its families and their children), and merges the steps'
 * reports. Pure and synchronous: the service runs it in a worker thread for large systems
 * (`validateSystemInWorker`).
 *
 * @param onProgress called after each step with the parents checked so far and their total
 * @param reuse what an earlier validation of the same stored grids left (`ValidationReuse`)
 */
export function validateSystem(
  system: PartitionSystem,
  all: PartitionGrid[],
  scope: string | null,
  options: Omit<PartitionOptions, 'parents'>,
  onProgress?: (done: number, total: number) => void,
  reuse?: PreparedGrids,
): PartitionReport {
  const byParent = new Map<string | null, PartitionGrid[]>();
  for (const g of all) {
    const list = byParent.get(g.parentCode) ?? [];
    list.push(g);
    byParent.set(g.parentCode, list);
  }
  const byCode = new Map(all.map((g) => [g.code, g]));
  const inScope = scope === null ? null : new Set([scope, ...descendants(byParent, scope)]);
  const parentCodes = [...byParent.keys()].filter((c): c is string => c !== null && (inScope === null || inScope.has(c)));
  const reports: PartitionReport[] = [];
  // Parents are checked in their own family and in their parent's: inspect them once.
  const prepared: PreparedGrids = reuse ?? { keep: (g) => byParent.has(g.code), grids: new Map() };
  if (scope === null && byParent.has(null)) reports.push(validatePartition(system, byParent.get(null)!, options, prepared));
  for (let i = 0; i < parentCodes.length; i += FAMILIES_PER_STEP) {
    const step = parentCodes.slice(i, i + FAMILIES_PER_STEP);
    // A step may hold a parent and its own parent: each grid goes in once.
    const input = new Set<PartitionGrid>();
    for (const code of step) {
      const parent = byCode.get(code);
      if (parent) input.add(parent);
      for (const child of byParent.get(code) ?? []) input.add(child);
    }
    reports.push(validatePartition(system, [...input], { ...options, parents: step }, prepared));
    onProgress?.(i + step.length, parentCodes.length);
  }
  return mergeReports(system.key, reports, options);
}

function descendants(byParent: Map<string | null, PartitionGrid[]>, code: string): string[] {
  const out: string[] = [];
  const stack = [code];
  while (stack.length) {
    for (const child of byParent.get(stack.pop()!) ?? []) {
      out.push(child.code);
      stack.push(child.code);
    }
  }
  return out;
}

/** Joins reports of disjoint sets of families into one, recomputing the summary. */
export function mergeReports(system: string, reports: PartitionReport[], options: Omit<PartitionOptions, 'parents'>): PartitionReport {
  const parents = reports.flatMap((r) => r.parents);
  const issues = reports.flatMap((r) => r.issues);
  const counts = Object.fromEntries(ISSUE_KINDS.map((k) => [k, 0])) as PartitionReport['summary']['counts'];
  const areas = { gap: 0, sliver: 0, overlap: 0, outside: 0 };
  for (const i of issues) {
    counts[i.kind]++;
    if (i.kind in areas && i.area_m2 !== null) areas[i.kind as keyof typeof areas] += i.area_m2;
  }
  const parentArea = parents.reduce((s, p) => s + p.parentArea_m2, 0);
  const covered = parents.reduce((s, p) => s + Math.min(p.coveredArea_m2, p.parentArea_m2), 0);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    system,
    generatedAt: new Date().toISOString(),
    options: reports[0]?.options ?? { areaTolerance: options.areaTolerance ?? 1, sliverWidth: options.sliverWidth ?? 2, edgeTolerance: options.edgeTolerance ?? 0.5 },
    summary: {
      parentsChecked: parents.length,
      gridsChecked: reports.reduce((s, r) => s + r.summary.gridsChecked, 0),
      coverageRatio: parentArea > 0 ? covered / parentArea : 1,
      counts,
      areas_m2: { gap: round(areas.gap), sliver: round(areas.sliver), overlap: round(areas.overlap), outside: round(areas.outside) },
    },
    parents,
    issues,
  };
}
