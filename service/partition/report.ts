import { createHash } from 'node:crypto';
import {
  ISSUE_KINDS,
  proposeFixes,
  type FixProposal,
  type PartitionGrid,
  type PartitionOptions,
  type PartitionReport,
} from '../geometry/partition/index';
import type { StoredSystem } from '../kernel/types';

/** A stored report: the validator's report plus where it came from and the fixes it suggests. */
export interface StoredReport extends PartitionReport {
  scope: string | null;
  durationMs: number;
  /** True once grids changed in a way the incremental re-check could not follow (a whole-system replace). */
  stale: boolean;
  fixes: FixProposal[];
}

/**
 * Fix proposals for `report` with ids that stay the same while the defect stays the same (kind, grids and
 * area), so a client can apply a proposal it fetched before an unrelated edit. `offset` re-indexes issues.
 */
export function fixesFor(system: StoredSystem, grids: PartitionGrid[], report: PartitionReport, offset: number): FixProposal[] {
  return proposeFixes(system, grids, report).map((f) => {
    const issue = report.issues[f.issue]!;
    const id = createHash('sha1')
      .update(`${f.kind}|${f.absorb}|${issue.grids.join(',')}|${issue.parent}|${Math.round(f.area_m2 * 10)}`)
      .digest('hex')
      .slice(0, 12);
    return { ...f, id, issue: f.issue + offset };
  });
}

export function descendants(byParent: Map<string | null, PartitionGrid[]>, code: string): string[] {
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
