import { orient2d } from 'robust-predicates';

/**
 * A polygonal grid geometry as flat arrays, so the assignment inner loop touches typed arrays only
 * (STYLE.md: convert at the entry, keep GeoJSON out of inner loops). Coordinates are [lon, lat] pairs;
 * `rings[i]` is the first vertex (pair index) of ring i and `rings[rings.length - 1]` the end sentinel;
 * `polygons[j]` is the first ring of polygon j, the first ring of a polygon being its exterior.
 */
export interface FlatShape {
  coords: Float64Array;
  rings: Uint32Array;
  polygons: Uint32Array;
  bbox: [number, number, number, number];
}

export const OUTSIDE = 0;
export const BOUNDARY = 1;
export const INTERIOR = 2;
export type Location = typeof OUTSIDE | typeof BOUNDARY | typeof INTERIOR;

/**
 * Typed storage handed out as slices of a few large buffers. A system's 100,000 shapes then cost a few
 * dozen allocations instead of 300,000 typed arrays with a backing store each, which the garbage
 * collector tracks one by one: reading a large system spent a quarter of its time collecting them.
 */
export class ShapeArena {
  private floats = new Float64Array(0);
  private floatsUsed = 0;
  private ints = new Uint32Array(0);
  private intsUsed = 0;

  constructor(private readonly chunk = 1 << 18) {}

  float64(n: number): Float64Array {
    if (this.floatsUsed + n > this.floats.length) {
      this.floats = new Float64Array(Math.max(n, this.chunk));
      this.floatsUsed = 0;
    }
    return this.floats.subarray(this.floatsUsed, (this.floatsUsed += n));
  }

  uint32(n: number): Uint32Array {
    if (this.intsUsed + n > this.ints.length) {
      this.ints = new Uint32Array(Math.max(n, this.chunk >> 2));
      this.intsUsed = 0;
    }
    return this.ints.subarray(this.intsUsed, (this.intsUsed += n));
  }
}

/**
 * Reads a WKB (or EWKB, as PostGIS's ST_AsBinary/ST_AsEWKB return) Polygon or MultiPolygon.
 * @param arena where to keep the arrays (a system's shapes share a few buffers); own arrays when absent
 * @throws Error naming the geometry type when it is not polygonal
 */
export function shapeFromWkb(wkb: Uint8Array, arena?: ShapeArena): FlatShape {
  return readWkb(new DataView(wkb.buffer, wkb.byteOffset, wkb.byteLength), 0, arena).shape;
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
function readWkb(view: DataView, start: number, arena: ShapeArena | undefined): { shape: FlatShape; end: number } {
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
  const coords = arena ? arena.float64(2 * points) : new Float64Array(2 * points);
  const rings = arena ? arena.uint32(ringCount + 1) : new Uint32Array(ringCount + 1);
  const polygons = arena ? arena.uint32(parts + 1) : new Uint32Array(parts + 1);
  little = view.getUint8(start) === 1;
  at = multi ? body + 4 : body;
  let ring = 0;
  let c = 0;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let p = 0; p < parts; p++) {
    if (multi) {
      little = view.getUint8(at) === 1;
      at += view.getUint32(at + 1, little) & 0x20000000 ? 9 : 5;
    }
    polygons[p] = ring;
    const count = view.getUint32(at, little);
    at += 4;
    for (let r = 0; r < count; r++, ring++) {
      const n = view.getUint32(at, little);
      at += 4;
      rings[ring] = c / 2;
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
  rings[ringCount] = points;
  polygons[parts] = ringCount;
  return { shape: { coords, rings, polygons, bbox: [x0, y0, x1, y1] }, end };
}

/** The same flat form from GeoJSON coordinates (tests and callers that hold GeoJSON). */
export function shapeFromGeoJson(geometry: { type: 'Polygon'; coordinates: number[][][] } | { type: 'MultiPolygon'; coordinates: number[][][][] }): FlatShape {
  const coords: number[] = [];
  const rings: number[] = [];
  const polygons: number[] = [];
  const parts = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  for (const part of parts) {
    polygons.push(rings.length);
    for (const ring of part) {
      rings.push(coords.length / 2);
      for (const [x, y] of ring) coords.push(x!, y!);
    }
  }
  return build(coords, rings, polygons);
}

function build(coords: number[], rings: number[], polygons: number[]): FlatShape {
  const flat = Float64Array.from(coords);
  return {
    coords: flat,
    rings: Uint32Array.from([...rings, coords.length / 2]),
    polygons: Uint32Array.from([...polygons, rings.length]),
    bbox: extent(flat),
  };
}

function extent(coords: Float64Array): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < coords.length; i += 2) {
    const x = coords[i]!;
    const y = coords[i + 1]!;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return [x0, y0, x1, y1];
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
  const [bx0, by0, bx1, by1] = shape.bbox;
  if (x < bx0 || x > bx1 || y < by0 || y > by1) return OUTSIDE;
  const { polygons } = shape;
  let onBoundary = false;
  for (let p = 0; p + 1 < polygons.length; p++) {
    const first = polygons[p]!;
    const end = polygons[p + 1]!;
    const outer = locateInRing(shape, first, x, y);
    if (outer === OUTSIDE) continue;
    if (outer === BOUNDARY) {
      onBoundary = true;
      continue;
    }
    let inPolygon: Location = INTERIOR;
    for (let r = first + 1; r < end; r++) {
      const hole = locateInRing(shape, r, x, y);
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

/** Crossing number along a ray towards +x, with exact on-edge detection (Hao et al. 2018 style). */
function locateInRing(shape: FlatShape, ring: number, x: number, y: number): Location {
  const c = shape.coords;
  const start = shape.rings[ring]!;
  const end = shape.rings[ring + 1]!;
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
  const r = shape.rings;
  let best = Infinity;
  for (let ring = 0; ring + 1 < r.length; ring++) {
    const start = r[ring]!;
    const end = r[ring + 1]!;
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
