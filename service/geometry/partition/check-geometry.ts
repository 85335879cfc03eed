import type { MultiPolygon, Polygon } from 'geojson';
import { STEPS_PER_DEGREE as STEPS, snapDegrees } from './flat-geometry';
import { type GeometryProblem, TOLERANCE_STEPS as TOLERANCE, cleanRing, parseRing } from './ring-cleaning';
import { findSegmentContacts, type InspectedRing } from './segment-contacts';

// Module-local copies: tsx compiles an imported binding to a getter that hot loops would call on every read.
const STEPS_PER_DEGREE = STEPS;
const TOLERANCE_STEPS = TOLERANCE;

export type { GeometryProblem } from './ring-cleaning';

/** What `inspectGeometry` learned, plus the cleaned rings a repair starts from. */
export interface GeometryInspection {
  problems: GeometryProblem[];
  /** Per polygon, open rings as flat snapped lon/lat lists with at least 3 vertices; shell first. */
  polygons: (readonly number[])[][];
  /** Rings cross, overlap or nest wrongly: only an overlay can rebuild a valid copy. */
  needsOverlay: boolean;
  /** No geometry or no positions at all (a separate issue kind from an invalid one). */
  empty: boolean;
  /** Repeated consecutive positions dropped: valid for OGC and PostGIS, a warning at most. */
  repeatedVertices: number;
}

/** Beyond this many problems a geometry is plainly broken; listing more only floods the report. */
const MAX_PROBLEMS = 20;

/**
 * Checks a polygon geometry for the defects that break area and coverage computations: self-intersections
 * (crossing, self-touching or doubled-back rings, holes crossing or outside their shell, overlapping parts
 * of a MultiPolygon), rings with too few points, unclosed rings, spikes, positions that are not finite
 * lon/lat pairs: what PostGIS's ST_IsValid rejects. Repeated consecutive positions are valid there and
 * are not reported. Positions are compared after snapping to 1e-9°.
 * Orientation is not checked: RFC 7946 asks parsers not to reject either winding.
 *
 * @param geometry a GeoJSON Polygon or MultiPolygon in lon/lat (EPSG:4326 or CGCS2000), or null
 * @returns every problem with a reason and, where it has one, a location; empty when the geometry is valid
 * @example
 * checkGeometry({ type: 'Polygon', coordinates: [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]] });
 * // → [{ reason: 'shell crosses itself', location: [0.5, 0.5] }]
 */
export function checkGeometry(geometry: Polygon | MultiPolygon | null): GeometryProblem[] {
  const inspection = inspectGeometry(geometry);
  return inspection.empty ? [{ reason: 'geometry is empty', location: null }] : inspection.problems;
}

/**
 * Checks a geometry of unknown shape (it may come straight from a request) and keeps the cleaned rings:
 * closed, without duplicate vertices or spikes, collapsed rings dropped.
 */
export function inspectGeometry(geometry: unknown): GeometryInspection {
  const problems: GeometryProblem[] = [];
  const result: GeometryInspection = { problems, polygons: [], needsOverlay: false, empty: false, repeatedVertices: 0 };
  const repeated = { count: 0 };
  if (geometry === null || geometry === undefined) return { ...result, empty: true };
  const type = (geometry as { type?: unknown }).type;
  const coordinates = (geometry as { coordinates?: unknown }).coordinates;
  if (type !== 'Polygon' && type !== 'MultiPolygon') {
    problems.push({ reason: `geometry type ${String(type)} is not Polygon or MultiPolygon`, location: null });
    return result;
  }
  if (!Array.isArray(coordinates)) {
    problems.push({ reason: 'coordinates are not an array', location: null });
    return result;
  }
  const multi = type === 'MultiPolygon';
  const rawPolygons: unknown[] = multi ? coordinates : [coordinates];
  let positions = 0;
  const rings: InspectedRing[] = [];
  rawPolygons.forEach((rawRings, p) => {
    if (!Array.isArray(rawRings)) {
      problems.push({ reason: `${multi ? `polygon ${p + 1}` : 'polygon'} is not an array of rings`, location: null });
      return;
    }
    const cleaned: (InspectedRing & { xy: number[] })[] = [];
    rawRings.forEach((rawRing, r) => {
      const label = ringLabel(multi, p, r);
      const parsed = parseRing(rawRing, label, problems);
      positions += parsed.length / 2;
      const ring = cleanRing(parsed, label, problems, repeated);
      // A polygon whose shell collapsed is dropped with its holes.
      if (ring && (r === 0 || cleaned.length > 0)) cleaned.push({ polygon: p, ring: r, xy: ring });
    });
    if (cleaned.length === 0) return;
    rings.push(...cleaned);
    result.polygons.push(cleaned.map((c) => c.xy));
  });
  if (positions === 0) return { problems: [], polygons: [], needsOverlay: false, empty: true, repeatedVertices: 0 };
  result.repeatedVertices = repeated.count;
  result.needsOverlay = checkRingRelations(rings, multi, problems);
  if (problems.length > MAX_PROBLEMS) {
    const more = problems.length - MAX_PROBLEMS;
    problems.length = MAX_PROBLEMS;
    problems.push({ reason: `and ${more} more problems`, location: null });
  }
  return result;
}

function ringLabel(multi: boolean, polygon: number, ring: number): string {
  const name = ring === 0 ? 'shell' : `hole ${ring}`;
  return multi ? `polygon ${polygon + 1} ${name}` : name;
}

/**
 * Reports crossings, self-touches and wrong nesting between the cleaned rings; returns whether the
 * geometry needs an overlay to be repaired. Works in snapping steps around the first vertex so the
 * tolerance is one step everywhere.
 */
function checkRingRelations(rings: InspectedRing[], multi: boolean, problems: GeometryProblem[]): boolean {
  if (rings.length === 0) return false;
  const x0 = rings[0].xy[0];
  const y0 = rings[0].xy[1];
  const contacts = findSegmentContacts(rings, TOLERANCE_STEPS, { x0, y0, scale: STEPS_PER_DEGREE });
  // A simple one-ring grid (most of them): nothing more to look at.
  if (contacts.length === 0 && rings.length === 1) return false;
  const toLonLat = (x: number, y: number): [number, number] => [snapDegrees(x0 + x / STEPS_PER_DEGREE), snapDegrees(y0 + y / STEPS_PER_DEGREE)];
  const crossing = new Set<string>();
  const seen = new Set<string>();
  for (const contact of contacts) {
    const a = rings[Math.min(contact.a, contact.b)];
    const b = rings[Math.max(contact.a, contact.b)];
    const sameRing = contact.a === contact.b;
    if (!sameRing && contact.type === 'touch') continue;
    crossing.add(`${contact.a}:${contact.b}`).add(`${contact.b}:${contact.a}`);
    const label = ringLabel(multi, a.polygon, a.ring);
    const reason = sameRing
      ? `${label} ${contact.type === 'cross' ? 'crosses' : contact.type === 'touch' ? 'touches' : 'runs back over'} itself`
      : a.polygon === b.polygon
        ? `${label} and ${ringLabel(multi, b.polygon, b.ring)} ${contact.type === 'cross' ? 'cross' : 'overlap along an edge'}`
        : `polygons ${a.polygon + 1} and ${b.polygon + 1} of the MultiPolygon overlap`;
    const location = toLonLat(contact.x, contact.y);
    const key = `${reason}@${location.join(',')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ reason, location });
  }
  // One ring (most grids) has nothing to nest.
  if (rings.length === 1) return seen.size > 0;
  const local = rings.map((r) => ({ ...r, xy: toSteps(r.xy, x0, y0) }));
  const nestingBroken = checkNesting(local, multi, problems, toLonLat, (a, b) => crossing.has(`${a}:${b}`));
  return seen.size > 0 || nestingBroken;
}

/**
 * Holes must lie inside their shell and outside each other; parts of a MultiPolygon outside each other.
 * Ring pairs whose edges cross were reported already and are skipped; rings that only touch are
 * judged by a vertex off the other's boundary.
 */
function checkNesting(
  rings: InspectedRing[],
  multi: boolean,
  problems: GeometryProblem[],
  toLonLat: (x: number, y: number) => [number, number],
  crossed: (a: number, b: number) => boolean,
): boolean {
  let broken = false;
  const boxes = rings.map((r) => ringBBox(r.xy));
  const shellOf = new Map<number, number>();
  rings.forEach((r, i) => r.ring === 0 && shellOf.set(r.polygon, i));
  const report = (reason: string, at: [number, number]) => {
    problems.push({ reason, location: toLonLat(at[0], at[1]) });
    broken = true;
  };
  rings.forEach((ring, i) => {
    const label = ringLabel(multi, ring.polygon, ring.ring);
    if (ring.ring > 0) {
      const shell = shellOf.get(ring.polygon) ?? i;
      const probe = crossed(i, shell) ? null : vertexOffBoundary(ring, rings[shell]);
      if (probe && !insideRing(probe, rings[shell])) report(`${label} lies outside its shell`, probe);
    }
    rings.forEach((other, j) => {
      const sameKind = ring.ring > 0 ? other.polygon === ring.polygon && other.ring > 0 : other.ring === 0;
      if (j === i || !sameKind || crossed(i, j) || !bboxInside(boxes[i], boxes[j])) return;
      const probe = vertexOffBoundary(ring, other);
      if (!probe || !insideRing(probe, other)) return;
      if (ring.ring > 0) {
        report(`${label} lies inside ${ringLabel(multi, other.polygon, other.ring)}`, probe);
      } else if (!rings.some((h) => h.polygon === other.polygon && h.ring > 0 && insideRing(probe, h))) {
        report(`polygons ${other.polygon + 1} and ${ring.polygon + 1} of the MultiPolygon overlap`, probe);
      }
    });
  });
  return broken;
}

function ringBBox(xy: ArrayLike<number>): [number, number, number, number] {
  const box: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let i = 0; i < xy.length; i += 2) {
    box[0] = Math.min(box[0], xy[i]);
    box[1] = Math.min(box[1], xy[i + 1]);
    box[2] = Math.max(box[2], xy[i]);
    box[3] = Math.max(box[3], xy[i + 1]);
  }
  return box;
}

function bboxInside(inner: readonly number[], outer: readonly number[]): boolean {
  return inner[0] >= outer[0] - TOLERANCE_STEPS && inner[1] >= outer[1] - TOLERANCE_STEPS && inner[2] <= outer[2] + TOLERANCE_STEPS && inner[3] <= outer[3] + TOLERANCE_STEPS;
}

/** Positions relative to (x0, y0) in snapping steps (a plain array: a typed one per ring costs more to allocate). */
function toSteps(xy: ArrayLike<number>, x0: number, y0: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < xy.length; i += 2) out.push((xy[i] - x0) * STEPS_PER_DEGREE, (xy[i + 1] - y0) * STEPS_PER_DEGREE);
  return out;
}

/** A vertex of `ring` farther than the tolerance from `other`'s edges, so inside/outside is decidable. */
function vertexOffBoundary(ring: InspectedRing, other: InspectedRing): [number, number] | null {
  for (let i = 0; i < ring.xy.length; i += 2) {
    if (!nearRing(ring.xy[i], ring.xy[i + 1], other.xy)) return [ring.xy[i], ring.xy[i + 1]];
  }
  return null;
}

function insideRing([x, y]: [number, number], ring: InspectedRing): boolean {
  const { xy } = ring;
  const n = xy.length / 2;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const ay = xy[2 * j + 1];
    const by = xy[2 * i + 1];
    if (ay > y !== by > y && x < xy[2 * j] + ((y - ay) * (xy[2 * i] - xy[2 * j])) / (by - ay)) inside = !inside;
  }
  return inside;
}

/**
 * Whether (x, y) lies within the tolerance of an edge of the ring. Edges whose box is farther than the
 * tolerance (plus a step for rounding) cannot be: they are passed over without measuring, since this
 * runs for every pair of nested rings (the islands of a state, issue #15).
 */
function nearRing(x: number, y: number, xy: ArrayLike<number>): boolean {
  const reach = TOLERANCE_STEPS + 1;
  const n = xy.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const ax = xy[2 * j];
    const ay = xy[2 * j + 1];
    const bx = xy[2 * i];
    const by = xy[2 * i + 1];
    if ((x < ax - reach && x < bx - reach) || (x > ax + reach && x > bx + reach) || (y < ay - reach && y < by - reach) || (y > ay + reach && y > by + reach)) continue;
    const dx = bx - ax;
    const dy = by - ay;
    const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)));
    // Not greater also when NaN, as the minimum over all edges was before.
    if (!(Math.hypot(x - ax - t * dx, y - ay - t * dy) > TOLERANCE_STEPS)) return true;
  }
  return false;
}
