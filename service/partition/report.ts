import { createHash } from 'node:crypto';
import {
  proposeFixes,
  type FixProposal,
  type IssueKind,
  type PartitionGrid,
  type PartitionIssue,
  type PartitionReport,
} from '../geometry/partition/index';
import type { StoredSystem } from '../kernel/types';

/**
 * Findings of each kind a stored report carries itself; the rest are paged (`GET …/report/issues`).
 * Bounds the report a dense invalid dataset produces (issue #15: ~11 MB) while the counts stay exact.
 */
export const ISSUES_PER_KIND = 200;

/** A stored report: the validator's report plus where it came from. Fix proposals are made on request. */
export interface StoredReport extends PartitionReport {
  scope: string | null;
  durationMs: number;
  /** True once grids changed in a way the incremental re-check could not follow (a whole-system replace). */
  stale: boolean;
  /**
   * Findings per kind left out of `issues` (beyond the first `ISSUES_PER_KIND` of the kind); empty when
   * `issues` is complete. `summary.counts` always counts every finding.
   */
  omitted: Partial<Record<IssueKind, number>>;
}

/**
 * The compact form served and stored in the report row: the first `perKind` findings of each kind, each
 * numbered (`seq`) by its place in the full list.
 */
export function compact(full: StoredReport, perKind = ISSUES_PER_KIND): StoredReport {
  const shown = new Map<IssueKind, number>();
  const omitted: Partial<Record<IssueKind, number>> = {};
  const issues: PartitionIssue[] = [];
  for (let seq = 0; seq < full.issues.length; seq++) {
    const issue = full.issues[seq]!;
    const n = shown.get(issue.kind) ?? 0;
    if (n < perKind) {
      issues.push({ ...issue, seq });
      shown.set(issue.kind, n + 1);
    } else {
      omitted[issue.kind] = (omitted[issue.kind] ?? 0) + 1;
    }
  }
  return { ...full, issues, omitted };
}

/**
 * Fix proposals for `report` with ids that stay the same while the defect stays the same (kind, grids and
 * area), so a client can apply a proposal it fetched before an unrelated edit.
 */
export function fixesFor(system: StoredSystem, grids: PartitionGrid[], report: PartitionReport): FixProposal[] {
  return withIds(report, proposeFixes(system, grids, report));
}

/** Stable ids for fix proposals made elsewhere (e.g. in the validation worker). */
export function withIds(report: PartitionReport, proposals: FixProposal[]): FixProposal[] {
  return proposals.map((f) => {
    const issue = report.issues[f.issue]!;
    const id = createHash('sha1')
      .update(`${f.kind}|${f.absorb}|${issue.grids.join(',')}|${issue.parent}|${Math.round(f.area_m2 * 10)}`)
      .digest('hex')
      .slice(0, 12);
    return { ...f, id };
  });
}

/** Issues a fix may be proposed for (`proposeFixes`' own filter, to know which families to read). */
export const FIX_MAX_AREA_M2 = 10000;
export const fixable = (issue: PartitionIssue) =>
  (issue.kind === 'gap' || issue.kind === 'sliver' || issue.kind === 'overlap') && issue.area_m2 !== null && issue.area_m2 <= FIX_MAX_AREA_M2;

export { mergeReports } from '../geometry/partition/index';
