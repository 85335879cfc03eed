import { buildCoverageChain, type FamilyMember } from './coverage-chain';
import { type DefectZones, findDefectZones } from './defect-zones';
import { FamilyFrame } from './family-frame';
import { type BBox, type FlatPolygons, flatBBox, unionBBox } from './flat-geometry';
import { findGaps, findOutside } from './gaps';
import { type BooleanOps, booleanOps, clipToBox } from './boolean';
import { type ClipGeometry, toClip } from './overlay';
import { type OverlapRegion, type ThinOverlap, findOverlaps } from './overlaps';
import { type Piece, equivalentWidth, hugs, piecesToGeoJSON, reachFrom, sharedBorder } from './pieces';
import type { PartitionIssue, ResolvedPartitionOptions } from './types';

/** A family's shapes: repaired, snapped lon/lat. */
export interface FamilyShapes {
  parent: { code: string; flat: FlatPolygons } | null;
  children: { code: string; flat: FlatPolygons | null }[];
}

export type Finding = Omit<PartitionIssue, 'system' | 'parent'>;

/** Measured areas (m²), including what is below the reporting tolerances. */
export interface FamilyMeasures {
  parentArea: number;
  childrenArea: number;
  gap: number;
  overlap: number;
  outside: number;
}

/** Everything the overlay stage of one family works with. */
interface Context {
  options: ResolvedPartitionOptions;
  maxDepth: number;
  frame: FamilyFrame;
  parent: FamilyMember | null;
  parentCode: string | null;
  members: FamilyMember[];
  boxes: BBox[];
  codes: string[];
  zones: DefectZones;
  measures: FamilyMeasures;
  clipOf: (child: number) => ClipGeometry;
  overlay: BooleanOps;
}

/** Thin pieces between one pair of siblings. */
interface Mismatch {
  a: number;
  b: number;
  pieces: Piece[];
  area: number;
  reach: number;
}

/**
 * Checks how a parent is tiled by its children: overlaps (deeper than `maxDepth`), gaps and slivers,
 * parts outside the parent, and edge mismatches. The coverage proof clears clean families in linear
 * time; only the children it cannot clear go through the exact overlay. Without a parent (top level, or
 * a parent with no usable geometry) only overlaps are checked.
 *
 * @param family the parent and children with their repaired geometries
 * @param options resolved options (tolerances)
 * @param maxDepth how many siblings may cover one spot
 * @returns the findings, and the measured areas whether reported or not
 */
export function checkFamilyGeometry(family: FamilyShapes, options: ResolvedPartitionOptions, maxDepth: number): { findings: Finding[]; measures: FamilyMeasures } {
  const present = family.children.flatMap((c) => (c.flat ? [{ code: c.code, flat: c.flat }] : []));
  const measures: FamilyMeasures = { parentArea: 0, childrenArea: 0, gap: 0, overlap: 0, outside: 0 };
  const extent = family.parent ? flatBBox(family.parent.flat) : present.map((c) => flatBBox(c.flat)).reduce<BBox | null>((a, b) => (a ? unionBBox(a, b) : b), null);
  if (!extent) return { findings: [], measures };
  const frame = new FamilyFrame(extent);
  const parent = family.parent ? { lonlat: family.parent.flat, plane: frame.toPlane(family.parent.flat) } : null;
  const members = present.map((c) => ({ lonlat: c.flat, plane: frame.toPlane(c.flat) }));
  if (parent) measures.parentArea = frame.area(parent.plane);
  for (const m of members) measures.childrenArea += frame.area(m.plane);

  const chain = buildCoverageChain(parent, members, parent !== null && maxDepth > 1);
  const boxes = members.map((m) => flatBBox(m.plane));
  const zones = findDefectZones(chain, members.map((m, k) => ({ bbox: boxes[k], plane: m.plane })), parent?.plane ?? null, maxDepth);
  if (zones.candidates.length === 0 && zones.windows.length === 0) return { findings: [], measures };

  const codes = present.map((c) => c.code);
  const clips = new Map<number, ClipGeometry>();
  const clipOf = (k: number): ClipGeometry => {
    let clip = clips.get(k);
    if (!clip) clips.set(k, (clip = toClip(members[k].plane)));
    return clip;
  };
  const context: Context = { options, maxDepth, frame, parent, parentCode: family.parent?.code ?? null, members, boxes, codes, zones, measures, clipOf, overlay: booleanOps(frame) };
  try {
    return { findings: overlayFindings(context), measures };
  } catch (error) {
    // The overlay retries on a finer grid before giving up, so this is rare; report it rather than lose the run.
    const grids = (zones.candidates.length > 0 ? zones.candidates : codes.map((_, k) => k)).map((k) => codes[k]);
    const reason = `exact overlay failed (${(error as Error).message}); gaps, overlaps and outside parts of this family were not computed`;
    return { findings: [{ kind: 'invalid', grids, area_m2: null, geometry: null, reason }], measures };
  }
}

function overlayFindings(context: Context): Finding[] {
  const { options, maxDepth, frame, parent, members, boxes, codes, zones, measures, clipOf, overlay } = context;
  const findings: Finding[] = [];
  const mismatches = new Map<string, Mismatch>();
  const addMismatch = (a: number, b: number, piece: Piece, area: number) => {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const entry = mismatches.get(`${lo}:${hi}`) ?? { a: lo, b: hi, pieces: [], area: 0, reach: 0 };
    entry.pieces.push(piece);
    entry.area += area;
    entry.reach = Math.max(entry.reach, reachFrom(piece, members[lo].plane, options.edgeTolerance), reachFrom(piece, members[hi].plane, options.edgeTolerance));
    mismatches.set(`${lo}:${hi}`, entry);
  };
  const reported = (area: number) => area >= options.areaTolerance;

  // Every overlap region lies inside one window (see `findDefectZones`): overlay only there.
  const regions: OverlapRegion[] = [];
  const thin: ThinOverlap[] = [];
  for (const window of zones.windows) {
    const candidates = zones.candidates.flatMap((k) => {
      const bbox = intersectBBox(boxes[k], window);
      return bbox ? [{ index: k, bbox, plane: members[k].plane, clip: clipToBox(clipOf(k), window) }] : [];
    });
    const found = findOverlaps(candidates, maxDepth, options.edgeTolerance, overlay);
    regions.push(...found.regions);
    thin.push(...found.thin);
  }
  for (const { piece, grids, depth } of regions) {
    const area = frame.area(piece.plane);
    measures.overlap += area;
    if (!reported(area)) continue;
    const names = grids.map((k) => codes[k]);
    const reason = `${names.join(', ')} overlap: ${round(area)} m² covered ${depth} times, at most ${maxDepth} allowed`;
    findings.push({ kind: 'overlap', grids: names, area_m2: area, geometry: piecesToGeoJSON([piece], frame), reason, depth });
  }
  for (const { a, b, piece } of thin) {
    const area = frame.area(piece.plane);
    measures.overlap += area;
    addMismatch(a, b, piece, area);
  }

  if (parent) {
    const parentClip = toClip(parent.plane);
    for (const piece of findGaps(zones.windows, parentClip, boxes, clipOf, overlay)) {
      const { area, perimeter } = frame.measure(piece.plane);
      measures.gap += area;
      const near = boxes.flatMap((box, k) => (within(box, piece.bbox, options.edgeTolerance) ? [k] : []));
      const borders = near
        .map((k) => ({ k, border: sharedBorder(piece, members[k].plane, frame) }))
        .filter((b) => b.border > 0)
        // Borders equal to the millimetre are a tie, whatever the overlay's summation order: code order decides.
        .sort((x, y) => Math.round(y.border * 1000) - Math.round(x.border * 1000) || x.k - y.k);
      const hugging = near.filter((k) => hugs(piece, members[k].plane, options.edgeTolerance));
      if (hugging.length >= 2) {
        const byBorder = hugging.sort((x, y) => rank(borders, x) - rank(borders, y));
        addMismatch(byBorder[0], byBorder[1], piece, area);
        continue;
      }
      if (!reported(area)) continue;
      findings.push(gapFinding(context, piece, area, equivalentWidth(area, perimeter), borders.map((b) => codes[b.k])));
    }
    for (const k of zones.candidates) {
      const pieces = findOutside(zones.windows, clipOf(k), boxes[k], parentClip, overlay);
      if (pieces.length === 0) continue;
      const area = pieces.reduce((sum, p) => sum + frame.area(p.plane), 0);
      measures.outside += area;
      if (!reported(area)) continue;
      const reason = `${codes[k]} reaches ${round(area)} m² outside its parent ${context.parentCode}`;
      findings.push({ kind: 'outside', grids: [codes[k]], area_m2: area, geometry: piecesToGeoJSON(pieces, frame), reason });
    }
  }

  for (const m of mismatches.values()) {
    if (!reported(m.area)) continue;
    const [a, b] = [codes[m.a], codes[m.b]];
    const reason = `boundaries of ${a} and ${b} nearly coincide (up to ${round(m.reach)} m apart, within ${options.edgeTolerance} m) but do not share vertices: ${round(m.area)} m² between them`;
    findings.push({ kind: 'edge-mismatch', grids: [a, b], area_m2: m.area, geometry: piecesToGeoJSON(m.pieces, frame), reason });
  }
  return findings;
}

/** A gap, or a sliver when narrower than `sliverWidth` (equivalent width, see `equivalentWidth`). */
function gapFinding(context: Context, piece: Piece, area: number, width: number, neighbours: string[]): Finding {
  const { options, parentCode, frame } = context;
  const next = neighbours.length > 0 ? `, next to ${neighbours.join(', ')}` : '';
  const sliver = width < options.sliverWidth;
  const reason = sliver
    ? `sliver gap of ${round(area)} m², ${round(width)} m wide (narrower than ${options.sliverWidth} m), not covered by any child of ${parentCode}${next}`
    : `gap of ${round(area)} m² (${round(width)} m wide) not covered by any child of ${parentCode}${next}`;
  return { kind: sliver ? 'sliver' : 'gap', grids: neighbours, area_m2: area, geometry: piecesToGeoJSON([piece], frame), reason };
}

/** Position of child k in the border ranking; children without a shared border rank last. */
function rank(borders: { k: number }[], k: number): number {
  const at = borders.findIndex((b) => b.k === k);
  return at < 0 ? borders.length + k : at;
}

function within(a: BBox, b: BBox, margin: number): boolean {
  return a[0] <= b[2] + margin && b[0] <= a[2] + margin && a[1] <= b[3] + margin && b[1] <= a[3] + margin;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function intersectBBox(a: BBox, b: BBox): BBox | null {
  const box: BBox = [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])];
  return box[0] <= box[2] && box[1] <= box[3] ? box : null;
}
