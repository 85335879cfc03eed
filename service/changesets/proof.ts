import type { Feature, FeatureCollection } from 'geojson';
import type { PartitionIssue, PartitionReport } from '../geometry/partition/index';
import type { GridOperation } from '../grids';
import type { Area, Plan, PlanGrid } from './operations';
import type { SizeFinding } from './size-rules';

/** A partition finding of the proposed grids, with an id an approver names to accept it. */
export interface Finding {
  id: string;
  kind: PartitionIssue['kind'];
  parent: string | null;
  grids: string[];
  area_m2: number | null;
  reason: string;
  /** False when the same finding is already in the current grids (the changeset does not cause it). */
  new: boolean;
}

/** One row of the impact table: addresses that move from one grid to another. */
export interface AddressMove {
  from: string | null;
  to: string | null;
  addresses: number;
  households: number;
  population: number;
}

export interface GridAreaChange {
  code: string;
  before_m2: number;
  after_m2: number;
  added_m2: number;
  removed_m2: number;
}

/** What an approver sees before deciding (issue #14 "Proof and impact"). */
export interface Proof {
  computedAt: string;
  /** Families checked: the parents whose children the changeset touches (null = the top level). */
  families: (string | null)[];
  clean: boolean;
  before: PartitionReport['summary']['counts'];
  after: PartitionReport['summary']['counts'];
  findings: Finding[];
  impact: {
    codes: { added: string[]; removed: string[]; recoded: { from: string; to: string }[]; changed: string[] };
    addresses: { moved: number; households: number; population: number; moves: AddressMove[]; sample: { externalId: string; from: string | null; to: string | null }[] };
    areas: GridAreaChange[];
    /** Open incidents whose grid in this system changes: re-routed on apply (issue #14). */
    incidents: { moved: number; cases: { id: number; caseNo: string; status: string; from: string | null; to: string | null }[] };
    /** Blank and overlapped area of the bank systems over the changed area, when the system is a bank's. */
    bankOverlay: BankOverlayImpact | null;
    /** Size rules (households per grid, child grids) of the touched grids and their parents after the change. */
    sizeRules: SizeFinding[];
  };
}

/** Bank coverage of the area a changeset can change (DOMAIN.md: no blanks; urban overlaps not excessive). */
export interface BankOverlayImpact {
  systems: string[];
  area_m2: number;
  before: { blank_m2: number; overlap_m2: number };
  after: { blank_m2: number; overlap_m2: number };
}

/** A stable id for a finding, so acceptance survives recomputing the proof when nothing changed. */
export function findingId(issue: Pick<PartitionIssue, 'kind' | 'parent' | 'grids'>): string {
  return `${issue.kind}:${issue.parent ?? '-'}:${[...issue.grids].sort().join('+')}`;
}

/** The findings after the change, each marked new or already there before. */
export function findingsOf(before: PartitionIssue[], after: PartitionIssue[]): Finding[] {
  const existing = new Set(before.map(findingId));
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const issue of after) {
    const id = findingId(issue);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ id, kind: issue.kind, parent: issue.parent, grids: issue.grids, area_m2: issue.area_m2, reason: issue.reason, new: !existing.has(id) });
  }
  return out;
}

/** Addresses grouped by the move they make, largest first. */
export function moveTable(moves: { from: string | null; to: string | null; households: number; population: number }[]): AddressMove[] {
  const rows = new Map<string, AddressMove>();
  for (const m of moves) {
    const key = `${m.from ?? ''}\u0000${m.to ?? ''}`;
    const row = rows.get(key) ?? { from: m.from, to: m.to, addresses: 0, households: 0, population: 0 };
    row.addresses++;
    row.households += m.households;
    row.population += m.population;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => b.addresses - a.addresses || String(a.from).localeCompare(String(b.from)) || String(a.to).localeCompare(String(b.to)));
}

/**
 * The grid-service writes that carry out a plan: changed and new grids parents first (so a new parent
 * exists before its children name it), then removals. Each write of a stored grid expects the version
 * the changeset was based on.
 */
export function lowerPlan(plan: Plan, baseVersions: Record<string, number>): GridOperation[] {
  const ops: GridOperation[] = [];
  for (const g of plan.changed) {
    const properties = { ...g.properties, code: g.code, name: g.name, level: g.level, parent: g.parentCode };
    if (g.origin === null) {
      ops.push({ op: 'create', feature: { type: 'Feature', properties, geometry: g.geometry } });
    } else {
      ops.push({ op: 'patch', code: g.origin, body: { properties, geometry: g.geometry }, expectedVersion: baseVersions[g.origin] ?? null });
    }
  }
  for (const code of plan.removed) ops.push({ op: 'remove', code, expectedVersion: baseVersions[code] ?? null });
  return ops;
}

/** Before and after geometry of every grid a plan touches, keyed by the code after (or before, when removed). */
export function geometryPairs(plan: Plan, base: Map<string, PlanGrid>): { code: string; before: Area | null; after: Area | null }[] {
  const pairs: { code: string; before: Area | null; after: Area | null }[] = plan.changed.map((g) => ({ code: g.code, before: g.origin === null ? null : base.get(g.origin)?.geometry ?? null, after: g.geometry }));
  for (const code of plan.removed) pairs.push({ code, before: base.get(code)?.geometry ?? null, after: null });
  return pairs;
}

/**
 * One piece of a diff layer (issue #14 "a diff layer: added, removed, changed area"): area a grid gains
 * (`change` added) or loses (removed); `grid` says whether the grid itself came, went or changed, so a
 * boundary moved between two grids shows as the strip one gains and the other loses.
 */
export interface DiffPiece {
  code: string;
  change: 'added' | 'removed';
  grid: 'added' | 'removed' | 'changed';
  area_m2: number;
  geometry: Area;
}

/** A changeset's pieces: its grid pairs (before, after) and the area each gains and loses. */
export function changesetPieces(pairs: { code: string; before: Area | null; after: Area | null }[], parts: { code: string; change: 'added' | 'removed'; area_m2: number; geometry: Area }[]): DiffPiece[] {
  const whole = new Map(pairs.map((p) => [p.code, p.before === null ? ('added' as const) : p.after === null ? ('removed' as const) : ('changed' as const)]));
  return parts.map((p) => ({ code: p.code, change: p.change, grid: whole.get(p.code) ?? 'changed', area_m2: p.area_m2, geometry: p.geometry }));
}

/** The pieces of what changed between two dates (a grid's code then, for the area it lost). */
export function datedPieces(changes: { change: DiffPiece['grid']; codeBefore: string | null; codeAfter: string | null; added_m2: number; removed_m2: number; added: Area | null; removed: Area | null }[]): DiffPiece[] {
  return changes.flatMap((c) =>
    (['added', 'removed'] as const).flatMap((side): DiffPiece[] => {
      const geometry = c[side];
      if (geometry === null) return [];
      return [{ code: (side === 'added' ? c.codeAfter : c.codeBefore) ?? '', change: side, grid: c.change, area_m2: side === 'added' ? c.added_m2 : c.removed_m2, geometry }];
    }),
  );
}

/** The diff layer as GeoJSON for a before/after map. */
export function diffCollection(pieces: DiffPiece[]): FeatureCollection {
  return {
    type: 'FeatureCollection',
    features: pieces.map((p): Feature => ({ type: 'Feature', properties: { code: p.code, change: p.change, grid: p.grid, area_m2: p.area_m2 }, geometry: p.geometry })),
  };
}

/** [minLon, minLat, maxLon, maxLat] of some geometries; null when there are none. */
export function bboxOf(geometries: (Area | null)[]): [number, number, number, number] | null {
  let b: [number, number, number, number] | null = null;
  const visit = (c: unknown): void => {
    if (typeof (c as number[])[0] === 'number') {
      const [x, y] = c as [number, number];
      b = b ? [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x), Math.max(b[3], y)] : [x, y, x, y];
    } else for (const inner of c as unknown[]) visit(inner);
  };
  for (const g of geometries) if (g) visit(g.coordinates);
  return b;
}
