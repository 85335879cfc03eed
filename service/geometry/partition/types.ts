import type { LineString, MultiPolygon, Point, Polygon } from 'geojson';

/** A grid as the partition validator needs it: identity, place in the tree, and shape (lon/lat). */
export interface PartitionGrid {
  code: string;
  parentCode: string | null;
  level: string;
  geometry: Polygon | MultiPolygon | null;
}

/** A grid system's levels (order 1 = top) and how many siblings may cover one spot (1 = none may overlap). */
export interface PartitionSystem {
  key: string;
  levels: { key: string; order: number }[];
  overlapPolicy: { maxDepth: number };
}

export interface PartitionOptions {
  /** m²; gaps, overlaps, outside parts and edge mismatches smaller than this are not reported. Default 1. */
  areaTolerance?: number;
  /** m; a gap whose equivalent width is below this is a 'sliver'. Default 2. */
  sliverWidth?: number;
  /** m; siblings whose boundaries stay within this of each other without matching have an 'edge-mismatch'. Default 0.5. */
  edgeTolerance?: number;
  /** Only check these parents' families (incremental re-check); undefined checks the whole system. */
  parents?: string[];
}

/**
 * Every issue kind, in the order reports count them. `repeated-vertices` is a warning (see
 * `WARNING_KINDS`): the geometry is valid for OGC and PostGIS, it only carries redundant positions.
 */
export const ISSUE_KINDS = ['invalid', 'overlap', 'gap', 'sliver', 'outside', 'edge-mismatch', 'orphan', 'level', 'code', 'duplicate-code', 'empty', 'repeated-vertices'] as const;
export type IssueKind = (typeof ISSUE_KINDS)[number];
/** Kinds that do not make a grid or a partition wrong; their issues carry `severity: 'warning'`. */
export const WARNING_KINDS: readonly IssueKind[] = ['repeated-vertices'];

export interface PartitionIssue {
  kind: IssueKind;
  system: string;
  /** The family the issue belongs to: the parent's code, null for the top level. */
  parent: string | null;
  /** Grids involved; for gaps the adjacent children, longest shared border first. */
  grids: string[];
  area_m2: number | null;
  geometry: Polygon | MultiPolygon | Point | LineString | null;
  reason: string;
  /** Overlaps: the most siblings covering one spot of the region. */
  depth?: number;
  /** Set on warnings only (`WARNING_KINDS`); every other issue is an error. */
  severity?: 'warning';
  /** repeated-vertices: how many repeated consecutive positions the grid has. */
  count?: number;
  /** In a stored report: the issue's place in the full list (fix proposals and pages refer to it). */
  seq?: number;
}

/** Measured coverage of one parent. Areas include pieces below the reporting tolerances. */
export interface ParentSummary {
  parent: string | null;
  level: string | null;
  children: number;
  parentArea_m2: number;
  childrenArea_m2: number;
  coveredArea_m2: number;
  /** covered / parent area; 1 when there is no parent area to cover (top level, empty parent). */
  coverageRatio: number;
  gap_m2: number;
  /** Area covered by more than `overlapPolicy.maxDepth` children. */
  overlap_m2: number;
  outside_m2: number;
  issues: number;
}

export type ResolvedPartitionOptions = Required<Omit<PartitionOptions, 'parents'>>;

export interface PartitionReport {
  system: string;
  generatedAt: string;
  options: ResolvedPartitionOptions;
  summary: {
    parentsChecked: number;
    gridsChecked: number;
    coverageRatio: number;
    counts: Record<IssueKind, number>;
    /** Sums over the reported issues of each kind. */
    areas_m2: { gap: number; sliver: number; overlap: number; outside: number };
  };
  parents: ParentSummary[];
  issues: PartitionIssue[];
}

export interface FixProposal {
  id: string;
  /** Index of the issue in `report.issues`. */
  issue: number;
  kind: 'gap' | 'overlap' | 'sliver';
  /** The grid that should take the area (for an overlap: keep it, the others give it up). */
  absorb: string;
  sharedBorder_m: number;
  area_m2: number;
  /** New geometries of the grids that change. */
  result: { code: string; geometry: MultiPolygon }[];
}
