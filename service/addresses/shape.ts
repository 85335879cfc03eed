import { orient2d } from 'robust-predicates';

/**
 * A polygonal grid geometry inside typed arrays that many shapes share (STYLE.md: convert at the entry,
 * keep GeoJSON out of inner loops). A system's 100,000 shapes are then 100,000 small objects and a few
 * dozen arrays: one typed-array view per shape and part (as before issue #15) cost more to make and to
 * collect than reading the grids from PostGIS.
 * - `coords[box .. box + 3]` is the bounding box [minX, minY, maxX, maxY], followed by the vertices as
 *   [lon, lat] pairs;
 * - `ints[at]` is the number of polygons P, then P + 1 ring numbers (the first ring of each polygon, the
 *   first one its exterior, then the ring count R), then R + 1 vertex positions (the first vertex of each
 *   ring as a pair index into `coords`, then the end).
 */
export interface FlatShape {
  readonly coords: Float64Array;
  readonly box: number;
  readonly ints: Uint32Array;
  readonly at: number;
}

export const OUTSIDE = 0;
export const BOUNDARY = 1;
export const INTERIOR = 2;
export type Location = typeof OUTSIDE | typeof BOUNDARY | typeof INTERIOR;

/** The bounding box of a shape (min > max when it is empty). */
export function bboxOf(shape: FlatShape): [number, number, number, number] {
  const c = shape.coords;
  const b = shape.box;
  return [c[b]!, c[b + 1]!, c[b + 2]!, c[b + 3]!];
}

/** How many vertices the shape has (PostGIS's ST_NPoints). */
export function vertexCount(shape: FlatShape): number {
  const I = shape.ints;
  const rings = shape.at + 2 + I[shape.at]!;
  return I[rings + I[rings - 1]!]! - I[rings]!;
}

/** The shape's rings per polygon as GeoJSON MultiPolygon coordinates (for tests and messages). */
export function shapeCoordinates(shape: FlatShape): number[][][][] {
  const { coords: c, ints: I, at } = shape;
  const polygons = I[at]!;
  const rings = at + 2 + polygons;
  const out: number[][][][] = [];
  for (let p = 0; p < polygons; p++) {
    const part: number[][][] = [];
    for (let r = I[at + 1 + p]!; r < I[at + 2 + p]!; r++) {
      const ring: number[][] = [];
      for (let i = I[rings + r]!; i < I[rings + r + 1]!; i++) ring.push([c[2 * i]!, c[2 * i + 1]!]);
      part.push(ring);
    }
    out.push(part);
  }
  return out;
}

/**
 * Typed storage handed out as ranges of a few large arrays: shapes of one system share them.
 */
export class ShapeArena {
  floats = new Float64Array(0);
  private floatsUsed = 0;
  ints = new Uint32Array(0);
  private intsUsed = 0;

  constructor(private readonly chunk = 1 << 18) {}

  /** Room for `n` doubles in `floats` (which may be a new array after the call): their first index. */
  float64(n: number): number {
    if (this.floatsUsed + n > this.floats.length) {
      this.floats = new Float64Array(Math.max(n, this.chunk));
      this.floatsUsed = 0;
    }
    this.floatsUsed += n;
    return this.floatsUsed - n;
  }

  /** Room for `n` integers in `ints` (which may be a new array after the call): their first index. */
  uint32(n: number): number {
    if (this.intsUsed + n > this.ints.length) {
      this.ints = new Uint32Array(Math.max(n, this.chunk >> 2));
      this.intsUsed = 0;
    }
    this.intsUsed += n;
    return this.intsUsed - n;
  }
}

/**
 * Reads a WKB (or EWKB, as PostGIS's ST_AsBinary/ST_AsEWKB and a geometry's binary send return) Polygon
 * or MultiPolygon.
 * @param arena where to keep the arrays (a system's shapes share a few); arrays of its own when absent
 * @throws Error naming the geometry type when it is not polygonal
 */
export function shapeFromWkb(wkb: Uint8Array, arena?: ShapeArena): FlatShape {
  return readWkb(new DataView(wkb.buffer, wkb.byteOffset, wkb.byteLength), 0, arena ?? new ShapeArena(0)).shape;
}

/**
 * Reads WKB geometries written one after the other (PostGIS `string_agg(ST_AsBinary(geom), '')`).
 * @returns the shapes in order
 * @throws Error naming the geometry type of the first one that is not polygonal
 */
export function shapesFromWkbs(wkbs: Uint8Array, arena: ShapeArena): FlatShape[] {
  const view = new DataView(wkbs.buffer, wkbs.byteOffset, wkbs.byteLength);
  const out: FlatShape[] = [];
  for (let at = 0; at < wkbs.byteLength; ) {
    const read = readWkb(view, at, arena);
    out.push(read.shape);
    at = read.end;
  }
  return out;
}

/** One geometry at `start`, and where the next begins. */
function readWkb(view: DataView, start: number, arena: ShapeArena): { shape: FlatShape; end: number } {
  // Two passes over the headers: count the rings and points, then copy the coordinates into place.
  let little = view.getUint8(start) === 1;
  let type = view.getUint32(start + 1, little);
  const body = start + (type & 0x20000000 ? 9 : 5); // EWKB carries an SRID
  type &= 0xffff;
  if (type !== 3 && type !== 6) throw new Error(`expected a Polygon or MultiPolygon, got WKB type ${type}`);
  const multi = type === 6;
  const parts = multi ? view.getUint32(body, little) : 1;
  let at = multi ? body + 4 : body;
  let ringCount = 0;
  let points = 0;
  for (let p = 0; p < parts; p++) {
    if (multi) {
      little = view.getUint8(at) === 1;
      const inner = view.getUint32(at + 1, little);
      at += inner & 0x20000000 ? 9 : 5;
      if ((inner & 0xffff) !== 3) throw new Error(`expected a Polygon inside a MultiPolygon, got WKB type ${inner & 0xffff}`);
    }
    const rings = view.getUint32(at, little);
    at += 4;
    for (let r = 0; r < rings; r++) {
      const n = view.getUint32(at, little);
      points += n;
      at += 4 + 16 * n;
    }
    ringCount += rings;
  }
  const end = at;
  const box = arena.float64(4 + 2 * points);
  const coords = arena.floats;
  const head = arena.uint32(3 + parts + ringCount);
  const ints = arena.ints;
  ints[head] = parts;
  const ringAt = head + 2 + parts;
  little = view.getUint8(start) === 1;
  at = multi ? body + 4 : body;
  let ring = 0;
  let c = box + 4;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let p = 0; p < parts; p++) {
    if (multi) {
      little = view.getUint8(at) === 1;
      at += view.getUint32(at + 1, little) & 0x20000000 ? 9 : 5;
    }
    ints[head + 1 + p] = ring;
    const count = view.getUint32(at, little);
    at += 4;
    for (let r = 0; r < count; r++, ring++) {
      const n = view.getUint32(at, little);
      at += 4;
      ints[ringAt + ring] = c / 2;
      for (let i = 0; i < n; i++, at += 16) {
        const x = view.getFloat64(at, little);
        const y = view.getFloat64(at + 8, little);
        coords[c++] = x;
        coords[c++] = y;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  ints[head + 1 + parts] = ringCount;
  ints[ringAt + ringCount] = c / 2;
  coords[box] = x0;
  coords[box + 1] = y0;
  coords[box + 2] = x1;
  coords[box + 3] = y1;
  return { shape: { coords, box, ints, at: head }, end };
}

/** The same flat form from GeoJSON coordinates (tests and callers that hold GeoJSON). */
export function shapeFromGeoJson(geometry: { type: 'Polygon'; coordinates: number[][][] } | { type: 'MultiPolygon'; coordinates: number[][][][] }): FlatShape {
  const parts = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  const ringCount = parts.reduce((n, part) => n + part.length, 0);
  const points = parts.reduce((n, part) => n + part.reduce((m, ring) => m + ring.length, 0), 0);
  const coords = new Float64Array(4 + 2 * points);
  const ints = new Uint32Array(3 + parts.length + ringCount);
  ints[0] = parts.length;
  const ringAt = 2 + parts.length;
  let ring = 0;
  let c = 4;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  parts.forEach((part, p) => {
    ints[1 + p] = ring;
    for (const r of part) {
      ints[ringAt + ring++] = c / 2;
      for (const [x, y] of r) {
        coords[c++] = x!;
        coords[c++] = y!;
        x0 = Math.min(x0, x!);
        y0 = Math.min(y0, y!);
        x1 = Math.max(x1, x!);
        y1 = Math.max(y1, y!);
      }
    }
  });
  ints[1 + parts.length] = ringCount;
  ints[ringAt + ringCount] = c / 2;
  coords.set([x0, y0, x1, y1], 0);
  return { coords, box: 0, ints, at: 0 };
}

/**
 * Where (x, y) lies: in the interior, on the boundary or outside. A point is covered by a polygon when it
 * is inside or on its exterior ring and not strictly inside a hole; the parts of a MultiPolygon are
 * tested one by one, as PostGIS's ST_Covers does, so overlapping parts of an invalid MultiPolygon still
 * cover their points. Orientation uses exact arithmetic (robust-predicates), so a point exactly on an
 * edge is on the boundary here whenever it is for GEOS/PostGIS.
 * @param shape the grid geometry
 * @param x longitude
 * @param y latitude
 * @returns INTERIOR, BOUNDARY or OUTSIDE
 */
export function locatePoint(shape: FlatShape, x: number, y: number): Location {
  const c = shape.coords;
  const b = shape.box;
  if (x < c[b]! || x > c[b + 2]! || y < c[b + 1]! || y > c[b + 3]!) return OUTSIDE;
  const I = shape.ints;
  const polygons = I[shape.at]!;
  const first = shape.at + 1;
  const rings = first + polygons + 1;
  let onBoundary = false;
  for (let p = 0; p < polygons; p++) {
    const outerRing = I[first + p]!;
    const end = I[first + p + 1]!;
    const outer = locateInRing(c, I[rings + outerRing]!, I[rings + outerRing + 1]!, x, y);
    if (outer === OUTSIDE) continue;
    if (outer === BOUNDARY) {
      onBoundary = true;
      continue;
    }
    let inPolygon: Location = INTERIOR;
    for (let r = outerRing + 1; r < end; r++) {
      const hole = locateInRing(c, I[rings + r]!, I[rings + r + 1]!, x, y);
      if (hole === INTERIOR) {
        inPolygon = OUTSIDE;
        break;
      }
      if (hole === BOUNDARY) inPolygon = BOUNDARY;
    }
    if (inPolygon === INTERIOR) return INTERIOR;
    if (inPolygon === BOUNDARY) onBoundary = true;
  }
  return onBoundary ? BOUNDARY : OUTSIDE;
}

/** Crossing number along a ray towards +x over the vertices start..end - 1, with exact on-edge detection (Hao et al. 2018 style). */
function locateInRing(c: Float64Array, start: number, end: number, x: number, y: number): Location {
  let inside = false;
  for (let i = start, j = end - 1; i < end; j = i++) {
    const ax = c[2 * j]!;
    const ay = c[2 * j + 1]!;
    const bx = c[2 * i]!;
    const by = c[2 * i + 1]!;
    if ((ay > y) !== (by > y)) {
      const o = orient2d(ax, ay, bx, by, x, y);
      if (o === 0) return BOUNDARY;
      // robust-predicates returns a negative value when (x, y) lies left of a→b; a ray to +x crosses an
      // upward edge exactly when the point is left of it, a downward edge when it is right of it.
      if ((o < 0) === (by > ay)) inside = !inside;
    } else if (ay === y && by === y) {
      if ((ax <= x && x <= bx) || (bx <= x && x <= ax)) return BOUNDARY;
    } else if ((ax === x && ay === y) || (bx === x && by === y)) {
      return BOUNDARY;
    }
  }
  return inside ? INTERIOR : OUTSIDE;
}

/**
 * Local metres per degree at a latitude on the WGS84 ellipsoid (the "cheap ruler" approximation:
 * within 0.1 % up to a few hundred kilometres), enough for the 就近划入 distances of a few hundred metres.
 */
export function metresPerDegree(lat: number): { kx: number; ky: number } {
  const e2 = (1 / 298.257223563) * (2 - 1 / 298.257223563);
  const m = (Math.PI / 180) * 6378137;
  const cos = Math.cos((lat * Math.PI) / 180);
  const w2 = 1 / (1 - e2 * (1 - cos * cos));
  const w = Math.sqrt(w2);
  return { kx: m * w * cos, ky: m * w * w2 * (1 - e2) };
}

/**
 * Distance in metres from (x, y) to the nearest edge of the shape (0 when on it); callers use it for
 * points outside the shape, where that is the distance to the shape.
 */
export function distanceToShape(shape: FlatShape, x: number, y: number): number {
  const { kx, ky } = metresPerDegree(y);
  const c = shape.coords;
  const I = shape.ints;
  const polygons = I[shape.at]!;
  const rings = shape.at + 2 + polygons;
  const ringCount = I[rings - 1]!;
  let best = Infinity;
  for (let ring = 0; ring < ringCount; ring++) {
    const start = I[rings + ring]!;
    const end = I[rings + ring + 1]!;
    for (let i = start, j = end - 1; i < end; j = i++) {
      const ax = (c[2 * j]! - x) * kx;
      const ay = (c[2 * j + 1]! - y) * ky;
      const bx = (c[2 * i]! - x) * kx;
      const by = (c[2 * i + 1]! - y) * ky;
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy;
      const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
      const px = ax + t * dx;
      const py = ay + t * dy;
      const d = px * px + py * py;
      if (d < best) best = d;
    }
  }
  return Math.sqrt(best);
}
