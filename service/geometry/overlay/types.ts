import type { MultiPolygon, Polygon } from 'geojson';

/** One grid taking part in an overlay (lon/lat). */
export interface OverlayGrid {
  system: string;
  code: string;
  name: string;
  geometry: Polygon | MultiPolygon | null;
}

/** A governance unit (community or village) the report is broken down by; `type` tells urban from rural. */
export interface OverlayUnit {
  code: string;
  name: string;
  type: string | null;
  geometry: Polygon | MultiPolygon | null;
}

/**
 * How deep systems may pile up over one spot, per area type (DOMAIN.md "Bank grids": urban grids may
 * overlap but not excessively; rural grids fill blanks, so none overlap there).
 */
export interface AreaTypeRule {
  /** Most systems allowed over one spot; deeper spots are excess. */
  maxDepth: number;
  /** Largest share (0–1) of a unit that may be overlapped (depth ≥ 2) before the unit is flagged. */
  maxOverlapShare: number;
}

export interface OverlayPolicy {
  urban: AreaTypeRule;
  rural: AreaTypeRule;
  /** A unit is rural when its `type` contains one of these (case-insensitive); urban otherwise. */
  ruralTypes: string[];
  /** m²; blanks, overlaps and excess below this are measured but not listed. */
  areaTolerance: number;
}

export const DEFAULT_POLICY: OverlayPolicy = {
  urban: { maxDepth: 2, maxOverlapShare: 0.5 },
  rural: { maxDepth: 1, maxOverlapShare: 0 },
  ruralTypes: ['农村', '村委', '行政村', '村', 'rural', 'village'],
  areaTolerance: 1,
};

export interface OverlayInput {
  territory: { system: string; code: string; name: string; geometry: Polygon | MultiPolygon | null };
  units: OverlayUnit[];
  /** Participating systems and their grids (one level per system). */
  systems: { key: string; name: string; grids: OverlayGrid[] }[];
  policy: OverlayPolicy;
}

export interface FaceRef {
  system: string;
  code: string;
}

export interface OverlayFace {
  /** f1, f2 … in the report's order (unit code, then covering grids, then area descending). */
  id: string;
  unit: string | null;
  /** Participating systems covering the face; blanks are 0. */
  depth: number;
  grids: FaceRef[];
  area_m2: number;
  geometry: Polygon | MultiPolygon;
}

export type UnitFlag = 'no-coverage' | 'blank' | 'overlap' | 'excess-depth' | 'excess-share' | 'rural-overlap';

export interface UnitRow {
  code: string;
  name: string;
  type: string | null;
  areaType: 'urban' | 'rural';
  /** The unit's area inside the territory. */
  area_m2: number;
  /** Systems covering some of the unit (≥ the area tolerance). */
  present: number;
  /** Per system key: share (0–1) of the unit it covers. */
  shares: Record<string, number>;
  uncoveredShare: number;
  overlappedShare: number;
  excess_m2: number;
  flags: UnitFlag[];
}

export interface SystemRow {
  system: string;
  name: string;
  total_m2: number;
  /** Covered by this system alone. */
  exclusive_m2: number;
  /** Covered by this system and at least one other. */
  overlapped_m2: number;
  units: number;
}

export interface ExcessIssue {
  unit: string;
  areaType: 'urban' | 'rural';
  rule: 'depth' | 'share';
  /** The limit the policy sets and what was found (depth, or share 0–1). */
  limit: number;
  actual: number;
  area_m2: number;
  systems: string[];
  grids: FaceRef[];
  faces: string[];
}

export interface OverlayReport {
  territory: { system: string; code: string; name: string; area_m2: number };
  systems: { key: string; name: string; grids: number }[];
  policy: OverlayPolicy;
  summary: {
    area_m2: number;
    faces: number;
    /** Area per depth ("0" = blank). */
    depth_m2: Record<string, number>;
    blank_m2: number;
    overlap_m2: number;
    excess_m2: number;
    /** Share of the territory covered by at least one system. */
    coverageRatio: number;
    /** Share of units (communities/villages) with some coverage (网格覆盖率). */
    unitCoverageRatio: number;
  };
  blanks: { face: string; unit: string | null; unitName: string | null; area_m2: number }[];
  overlaps: { face: string; unit: string | null; depth: number; systems: string[]; grids: FaceRef[]; area_m2: number; excess: boolean }[];
  excess: ExcessIssue[];
  units: UnitRow[];
  table: SystemRow[];
  faces: OverlayFace[];
}
