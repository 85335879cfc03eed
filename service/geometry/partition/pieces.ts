import type { MultiPolygon, Polygon } from 'geojson';
import type { FamilyFrame } from './family-frame';
import { type BBox, type FlatPolygons, RESOLUTION_M, flatArea, flatBBox, flatToGeoJSON, mapFlat, ringStart } from './flat-geometry';
import { type ClipGeometry, fromClip, toClip } from './overlay';

/** One polygon (with its holes) out of an overlay, in the plane frame. */
export interface Piece {
  plane: FlatPolygons;
  bbox: BBox;
  clip: ClipGeometry;
  /** Equivalent width in the plane frame (metres). */
  width: number;
}

/**
 * Splits an overlay result into its polygons, dropping overlay noise: pieces whose equivalent width is
 * below the resolution (slivers left where two edges are the same line to within 0.2 mm).
 */
export function splitPieces(geometry: ClipGeometry): Piece[] {
  const pieces: Piece[] = [];
  for (const polygon of geometry) {
    const plane = fromClip([polygon]);
    if (plane.polygonEnds.length === 0) continue;
    const width = equivalentWidth(Math.abs(flatArea(plane)), perimeter(plane));
    if (width < RESOLUTION_M) continue;
    pieces.push({ plane, bbox: flatBBox(plane), clip: toClip(plane), width });
  }
  return pieces;
}

/**
 * The width of the rectangle with the same area and perimeter: w = (P/2 − √(P²/4 − 4A)) / 2. Exact for
 * a rectangle or a strip of even width, about the mean width of a thin wedge; shapes more compact than a
 * square get P/4. Cheaper than a negative-buffer test and monotone in how thin a shape is.
 */
export function equivalentWidth(area: number, perimeterLength: number): number {
  const half = perimeterLength / 2;
  return (half - Math.sqrt(Math.max(0, half * half - 4 * area))) / 2;
}

/** Total length of all rings, in the units of the coordinates. */
export function perimeter(flat: FlatPolygons): number {
  let sum = 0;
  for (let r = 0; r < flat.ringEnds.length; r++) {
    const start = ringStart(flat, r);
    const end = flat.ringEnds[r];
    for (let i = start, j = end - 1; i < end; j = i++) sum += Math.hypot(flat.xy[2 * i] - flat.xy[2 * j], flat.xy[2 * i + 1] - flat.xy[2 * j + 1]);
  }
  return sum;
}

/**
 * Whether every point of the piece's boundary lies within `tolerance` of `other`'s boundary. A piece
 * that is within tolerance of two siblings lies between edges that nearly coincide. A piece hugging a
 * boundary that closely is narrower than twice the tolerance, so wider pieces are rejected without
 * sampling.
 */
export function hugs(piece: Piece, other: FlatPolygons, tolerance: number): boolean {
  return piece.width <= 2 * tolerance && reachFrom(piece, other, tolerance) <= tolerance;
}

/**
 * How far the piece's boundary reaches from the boundary of `other` (plane metres): the largest distance
 * from a point of the piece's boundary to `other`'s edges, sampled along every edge at `within`/8
 * spacing (so the answer is at most `within`/16 short). Stops early once it exceeds `within`, and only
 * edges of `other` near the piece are looked at, so a far polygon gives Infinity.
 */
export function reachFrom(piece: Piece, other: FlatPolygons, within: number): number {
  const edges = edgesNear(other, piece.bbox, within);
  const step = Math.max(within / 8, RESOLUTION_M);
  const { plane } = piece;
  let worst = 0;
  for (let r = 0; r < plane.ringEnds.length && worst <= within; r++) {
    const start = ringStart(plane, r);
    const end = plane.ringEnds[r];
    for (let i = start, j = end - 1; i < end && worst <= within; j = i++) {
      const [px, py, qx, qy] = [plane.xy[2 * j], plane.xy[2 * j + 1], plane.xy[2 * i], plane.xy[2 * i + 1]];
      const samples = Math.ceil(Math.hypot(qx - px, qy - py) / step);
      for (let k = 0; k < samples && worst <= within; k++) {
        worst = Math.max(worst, distanceToEdges(px + ((qx - px) * k) / samples, py + ((qy - py) * k) / samples, edges));
      }
    }
  }
  return worst;
}

function distanceToEdges(x: number, y: number, edges: readonly number[]): number {
  let best = Infinity;
  for (let e = 0; e < edges.length; e += 4) {
    const dx = edges[e + 2] - edges[e];
    const dy = edges[e + 3] - edges[e + 1];
    const t = Math.max(0, Math.min(1, ((x - edges[e]) * dx + (y - edges[e + 1]) * dy) / (dx * dx + dy * dy)));
    best = Math.min(best, Math.hypot(x - edges[e] - t * dx, y - edges[e + 1] - t * dy));
  }
  return best;
}

/**
 * Length in metres (equal-area projection) of the piece's boundary that runs along the boundary of
 * `other`: how long a border the two would share.
 */
export function sharedBorder(piece: Piece, other: FlatPolygons, frame: FamilyFrame): number {
  const edges = edgesNear(other, piece.bbox, RESOLUTION_M);
  const { plane } = piece;
  let total = 0;
  for (let r = 0; r < plane.ringEnds.length; r++) {
    const start = ringStart(plane, r);
    const end = plane.ringEnds[r];
    for (let i = start, j = end - 1; i < end; j = i++) {
      const [px, py, qx, qy] = [plane.xy[2 * j], plane.xy[2 * j + 1], plane.xy[2 * i], plane.xy[2 * i + 1]];
      for (let e = 0; e < edges.length; e += 4) {
        const [ax, ay, bx, by] = [edges[e], edges[e + 1], edges[e + 2], edges[e + 3]];
        const dx = bx - ax;
        const dy = by - ay;
        const length = Math.hypot(dx, dy);
        if (Math.abs((px - ax) * dy - (py - ay) * dx) / length > RESOLUTION_M) continue;
        if (Math.abs((qx - ax) * dy - (qy - ay) * dx) / length > RESOLUTION_M) continue;
        const tp = ((px - ax) * dx + (py - ay) * dy) / (length * length);
        const tq = ((qx - ax) * dx + (qy - ay) * dy) / (length * length);
        const from = Math.max(0, Math.min(tp, tq));
        const to = Math.min(1, Math.max(tp, tq));
        if (to > from) total += frame.length(ax + from * dx, ay + from * dy, ax + to * dx, ay + to * dy);
      }
    }
  }
  return total;
}

/** Pieces as one GeoJSON geometry in lon/lat. */
export function piecesToGeoJSON(pieces: readonly Piece[], frame: FamilyFrame): Polygon | MultiPolygon {
  const merged = concatenate(pieces.map((p) => p.plane));
  return flatToGeoJSON(
    mapFlat(merged, (x, y, out, at) => {
      [out[at], out[at + 1]] = frame.toLonLat(x, y);
    }),
  );
}

/** Pieces as one flat geometry (their polygons side by side). */
function concatenate(flats: readonly FlatPolygons[]): FlatPolygons {
  const xy = new Float64Array(flats.reduce((n, f) => n + f.xy.length, 0));
  const ringEnds = new Uint32Array(flats.reduce((n, f) => n + f.ringEnds.length, 0));
  const polygonEnds = new Uint32Array(flats.reduce((n, f) => n + f.polygonEnds.length, 0));
  let v = 0;
  let r = 0;
  let p = 0;
  for (const f of flats) {
    xy.set(f.xy, 2 * v);
    f.ringEnds.forEach((end, i) => (ringEnds[r + i] = end + v));
    f.polygonEnds.forEach((end, i) => (polygonEnds[p + i] = end + r));
    v += f.xy.length / 2;
    r += f.ringEnds.length;
    p += f.polygonEnds.length;
  }
  return { xy, ringEnds, polygonEnds };
}

/** Edges of `flat` whose bbox comes within `margin` of `box`, as x1, y1, x2, y2 runs. */
function edgesNear(flat: FlatPolygons, box: BBox, margin: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < flat.ringEnds.length; r++) {
    const start = ringStart(flat, r);
    const end = flat.ringEnds[r];
    for (let i = start, j = end - 1; i < end; j = i++) {
      const [ax, ay, bx, by] = [flat.xy[2 * j], flat.xy[2 * j + 1], flat.xy[2 * i], flat.xy[2 * i + 1]];
      if (Math.max(ax, bx) < box[0] - margin || Math.min(ax, bx) > box[2] + margin) continue;
      if (Math.max(ay, by) < box[1] - margin || Math.min(ay, by) > box[3] + margin) continue;
      out.push(ax, ay, bx, by);
    }
  }
  return out;
}
