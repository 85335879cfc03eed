import type { MultiPolygon, Polygon } from 'geojson';

/**
 * Coordinates are snapped to 1e-9° at the entry (about 0.11 mm north–south): two vertices that snap to
 * the same step are the same vertex, so hashing and overlay agree on identity.
 */
export const STEPS_PER_DEGREE = 1e9;

/**
 * Distances at or below this are "the same place" (metres in the plane frame). Twice the snapping step,
 * so a point snapped off a line (up to ~0.08 mm) still lies on it.
 */
export const RESOLUTION_M = 2e-4;

/**
 * Polygons as flat arrays: the internal form every algorithm works on (GeoJSON stays at the edges).
 * Rings are open (no repeated closing vertex); the first ring of each polygon is its shell, wound
 * counter-clockwise, holes clockwise, so every edge has its polygon's interior on the left.
 */
export interface FlatPolygons {
  /** x0, y0, x1, y1, … for all rings back to back. */
  xy: Float64Array;
  /** Vertex index one past the last vertex of each ring. */
  ringEnds: Uint32Array;
  /** Ring index one past the last ring of each polygon. */
  polygonEnds: Uint32Array;
}

export type BBox = [minX: number, minY: number, maxX: number, maxY: number];

/** Snaps a coordinate in degrees to the 1e-9° step. */
export function snapDegrees(value: number): number {
  return Math.round(value * STEPS_PER_DEGREE) / STEPS_PER_DEGREE;
}

/** Twice the signed area of an open ring (shoelace), positive when counter-clockwise. */
export function ringArea2(xy: ArrayLike<number>, start: number, end: number): number {
  let sum = 0;
  const x0 = xy[2 * start];
  const y0 = xy[2 * start + 1];
  for (let i = start + 1; i < end - 1; i++) {
    sum += (xy[2 * i] - x0) * (xy[2 * i + 3] - y0) - (xy[2 * i + 2] - x0) * (xy[2 * i + 1] - y0);
  }
  return sum;
}

/**
 * Builds flat polygons from open rings given as flat coordinate lists, winding shells counter-clockwise
 * and holes clockwise. Rings with fewer than 3 vertices must already have been dropped.
 */
export function buildFlat(polygons: readonly (readonly (readonly number[])[])[]): FlatPolygons {
  let vertexCount = 0;
  let ringCount = 0;
  for (const rings of polygons) {
    ringCount += rings.length;
    for (const ring of rings) vertexCount += ring.length / 2;
  }
  const xy = new Float64Array(vertexCount * 2);
  const ringEnds = new Uint32Array(ringCount);
  const polygonEnds = new Uint32Array(polygons.length);
  let v = 0;
  let r = 0;
  polygons.forEach((rings, p) => {
    rings.forEach((ring, k) => {
      const start = v;
      xy.set(ring, 2 * v);
      v += ring.length / 2;
      const counterClockwise = ringArea2(xy, start, v) > 0;
      if (counterClockwise !== (k === 0)) reverseRing(xy, start, v);
      ringEnds[r++] = v;
    });
    polygonEnds[p] = r;
  });
  return { xy, ringEnds, polygonEnds };
}

/** Maps every vertex through `transform`, keeping the ring structure. */
export function mapFlat(flat: FlatPolygons, transform: (x: number, y: number, out: Float64Array, at: number) => void): FlatPolygons {
  const xy = new Float64Array(flat.xy.length);
  for (let i = 0; i < xy.length; i += 2) transform(flat.xy[i], flat.xy[i + 1], xy, i);
  return { xy, ringEnds: flat.ringEnds, polygonEnds: flat.polygonEnds };
}

/** Vertex index of the first vertex of a ring. */
export function ringStart(flat: FlatPolygons, ring: number): number {
  return ring === 0 ? 0 : flat.ringEnds[ring - 1];
}

/** Ring index of a polygon's shell. */
export function polygonFirstRing(flat: FlatPolygons, polygon: number): number {
  return polygon === 0 ? 0 : flat.polygonEnds[polygon - 1];
}

/** [minX, minY, maxX, maxY] over all vertices. */
export function flatBBox(flat: FlatPolygons): BBox {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const { xy } = flat;
  for (let i = 0; i < xy.length; i += 2) {
    if (xy[i] < minX) minX = xy[i];
    if (xy[i] > maxX) maxX = xy[i];
    if (xy[i + 1] < minY) minY = xy[i + 1];
    if (xy[i + 1] > maxY) maxY = xy[i + 1];
  }
  return [minX, minY, maxX, maxY];
}

/** Whether two boxes share at least a point. */
export function bboxesIntersect(a: BBox, b: BBox): boolean {
  return a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
}

/** The box around both boxes. */
export function unionBBox(a: BBox, b: BBox): BBox {
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

/** Signed area (counter-clockwise positive) of all polygons, in the units of `xy` squared. */
export function flatArea(flat: FlatPolygons): number {
  let sum = 0;
  for (let r = 0; r < flat.ringEnds.length; r++) sum += ringArea2(flat.xy, ringStart(flat, r), flat.ringEnds[r]);
  return sum / 2;
}

/** GeoJSON Polygon for one polygon, MultiPolygon otherwise; rings closed as RFC 7946 requires. */
export function flatToGeoJSON(flat: FlatPolygons): Polygon | MultiPolygon {
  const polygons: [number, number][][][] = [];
  for (let p = 0; p < flat.polygonEnds.length; p++) {
    const rings: [number, number][][] = [];
    for (let r = polygonFirstRing(flat, p); r < flat.polygonEnds[p]; r++) {
      const ring: [number, number][] = [];
      for (let i = ringStart(flat, r); i < flat.ringEnds[r]; i++) ring.push([flat.xy[2 * i], flat.xy[2 * i + 1]]);
      ring.push([ring[0][0], ring[0][1]]);
      rings.push(ring);
    }
    polygons.push(rings);
  }
  return polygons.length === 1 ? { type: 'Polygon', coordinates: polygons[0] } : { type: 'MultiPolygon', coordinates: polygons };
}

/** Distance from point p to the segment from a to b. */
export function pointSegmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length2));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

function reverseRing(xy: Float64Array, start: number, end: number): void {
  for (let i = start, j = end - 1; i < j; i++, j--) {
    const x = xy[2 * i];
    const y = xy[2 * i + 1];
    xy[2 * i] = xy[2 * j];
    xy[2 * i + 1] = xy[2 * j + 1];
    xy[2 * j] = x;
    xy[2 * j + 1] = y;
  }
}
