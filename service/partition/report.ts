import { createHash } from 'node:crypto';
import {
  proposeFixes,
  type FixProposal,
  type PartitionGrid,
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
  return withIds(report, proposeFixes(system, grids, report), offset);
}

/** Stable ids for fix proposals made elsewhere (e.g. in the validation worker). */
export function withIds(report: PartitionReport, proposals: FixProposal[], offset: number): FixProposal[] {
  return proposals.map((f) => {
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

export { mergeReports } from '../geometry/partition/index';
