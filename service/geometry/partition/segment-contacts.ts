import { pointSegmentDistance } from './flat-geometry';

/** One ring of a geometry under inspection: open, in any planar units. */
export interface InspectedRing {
  polygon: number;
  ring: number;
  xy: ArrayLike<number>;
}

export type ContactType = 'cross' | 'touch' | 'overlap';

/** Two segments that meet somewhere other than at the vertex they share as neighbours in a ring. */
export interface SegmentContact {
  a: number;
  b: number;
  type: ContactType;
  x: number;
  y: number;
}

/**
 * Finds where segments of the given rings meet: proper crossings, touches (an endpoint on the other
 * segment) and collinear overlaps. Neighbouring segments of one ring are skipped, since they always
 * share a vertex. A sweep over segments sorted by their left end keeps this near O(n log n) for the
 * long rings of district boundaries. `a` and `b` index `rings`.
 *
 * @param rings rings to compare, all in one planar frame
 * @param tolerance distance at which two points are the same (in the frame's units)
 * @param frame positions are taken as (x − x0) · scale, (y − y0) · scale; contacts are in those units
 * @returns contacts, each reported once per segment pair
 */
export function findSegmentContacts(rings: readonly InspectedRing[], tolerance: number, frame: { x0: number; y0: number; scale: number } = { x0: 0, y0: 0, scale: 1 }): SegmentContact[] {
  const { x0, y0, scale } = frame;
  let total = 0;
  for (const r of rings) total += r.xy.length / 2;
  if (scratch.ringOf.length < total) scratch = scratchFor(Math.max(total, 2 * scratch.ringOf.length));
  const { ringOf, indexInRing, coords, minX, maxX, minY, maxY, order } = scratch;
  let s = 0;
  for (let ri = 0; ri < rings.length; ri++) {
    const xy = rings[ri].xy;
    const n = xy.length / 2;
    for (let i = 0; i < n; i++, s++) {
      const j = i + 1 < n ? i + 1 : 0;
      const ax = (xy[2 * i] - x0) * scale;
      const ay = (xy[2 * i + 1] - y0) * scale;
      const bx = (xy[2 * j] - x0) * scale;
      const by = (xy[2 * j + 1] - y0) * scale;
      coords[4 * s] = ax;
      coords[4 * s + 1] = ay;
      coords[4 * s + 2] = bx;
      coords[4 * s + 3] = by;
      minX[s] = ax < bx ? ax : bx;
      maxX[s] = ax < bx ? bx : ax;
      minY[s] = ay < by ? ay : by;
      maxY[s] = ay < by ? by : ay;
      ringOf[s] = ri;
      indexInRing[s] = i;
    }
  }
  // By left end, ties in input order (what a stable sort gives), so contacts come in the same order.
  // A total order: any sort gives the same result, and most rings are small enough for insertion sort.
  for (let k = 0; k < total; k++) order[k] = k;
  if (total <= INSERTION_SORT_MAX) {
    for (let k = 1; k < total; k++) {
      const item = order[k];
      let at = k - 1;
      while (at >= 0 && (minX[order[at]] > minX[item] || (minX[order[at]] === minX[item] && order[at] > item))) {
        order[at + 1] = order[at];
        at--;
      }
      order[at + 1] = item;
    }
  } else {
    order.subarray(0, total).sort((p, q) => minX[p] - minX[q] || p - q);
  }

  const contacts: SegmentContact[] = [];
  for (let oi = 0; oi < total; oi++) {
    const p = order[oi];
    const pMaxX = maxX[p] + tolerance;
    const pMinY = minY[p] - tolerance;
    const pMaxY = maxY[p] + tolerance;
    const pRing = ringOf[p];
    for (let oj = oi + 1; oj < total; oj++) {
      const q = order[oj];
      if (minX[q] > pMaxX) break;
      if (maxY[q] < pMinY || minY[q] > pMaxY) continue;
      if (ringOf[q] === pRing && neighbours(indexInRing[p], indexInRing[q], rings[pRing].xy.length / 2)) continue;
      const contact = classify(coords, p, q, tolerance);
      if (contact) contacts.push({ a: pRing, b: ringOf[q], ...contact });
    }
  }
  return contacts;
}

/** Rings up to this many segments in all are sorted by insertion (no comparator calls). */
const INSERTION_SORT_MAX = 48;

/**
 * Working arrays kept between calls and grown when a geometry needs more: a system validation calls
 * this once per grid, and allocating eight typed arrays each time was most of its cost (issue #15).
 * The function is synchronous, so calls never share them.
 */
let scratch = scratchFor(1024);

function scratchFor(size: number) {
  return {
    ringOf: new Int32Array(size),
    indexInRing: new Int32Array(size),
    coords: new Float64Array(size * 4),
    minX: new Float64Array(size),
    maxX: new Float64Array(size),
    minY: new Float64Array(size),
    maxY: new Float64Array(size),
    order: new Uint32Array(size),
  };
}

function neighbours(i: number, j: number, n: number): boolean {
  const d = Math.abs(i - j);
  return d <= 1 || d === n - 1;
}

function classify(c: Float64Array, p: number, q: number, tol: number): { type: ContactType; x: number; y: number } | null {
  const ax = c[4 * p];
  const ay = c[4 * p + 1];
  const bx = c[4 * p + 2];
  const by = c[4 * p + 3];
  const cx = c[4 * q];
  const cy = c[4 * q + 1];
  const dx = c[4 * q + 2];
  const dy = c[4 * q + 3];
  const lengthP = Math.hypot(bx - ax, by - ay);
  const lengthQ = Math.hypot(dx - cx, dy - cy);
  const d1 = ((bx - ax) * (cy - ay) - (by - ay) * (cx - ax)) / lengthP;
  const d2 = ((bx - ax) * (dy - ay) - (by - ay) * (dx - ax)) / lengthP;
  const d3 = ((dx - cx) * (ay - cy) - (dy - cy) * (ax - cx)) / lengthQ;
  const d4 = ((dx - cx) * (by - cy) - (dy - cy) * (bx - cx)) / lengthQ;
  if (strictlyOpposite(d1, d2, tol) && strictlyOpposite(d3, d4, tol)) {
    const t = d3 / (d3 - d4);
    return { type: 'cross', x: ax + t * (bx - ax), y: ay + t * (by - ay) };
  }
  const touches: [number, number][] = [];
  if (Math.abs(d1) <= tol && pointSegmentDistance(cx, cy, ax, ay, bx, by) <= tol) touches.push([cx, cy]);
  if (Math.abs(d2) <= tol && pointSegmentDistance(dx, dy, ax, ay, bx, by) <= tol) touches.push([dx, dy]);
  if (Math.abs(d3) <= tol && pointSegmentDistance(ax, ay, cx, cy, dx, dy) <= tol) touches.push([ax, ay]);
  if (Math.abs(d4) <= tol && pointSegmentDistance(bx, by, cx, cy, dx, dy) <= tol) touches.push([bx, by]);
  if (touches.length === 0) return null;
  const [x, y] = touches[0];
  const collinear = Math.abs(d1) <= tol && Math.abs(d2) <= tol;
  const spread = touches.some(([tx, ty]) => Math.hypot(tx - x, ty - y) > tol);
  return { type: collinear && spread ? 'overlap' : 'touch', x, y };
}

function strictlyOpposite(u: number, v: number, tol: number): boolean {
  return (u > tol && v < -tol) || (u < -tol && v > tol);
}
