import RBush from 'rbush';
import { BucketGrid } from './buckets';
import { INTERIOR, OUTSIDE, bboxOf, distanceToShape, locatePoint, metresPerDegree, type FlatShape } from './shape';

/** One grid of one system, as the assignment index needs it. */
export interface IndexGrid {
  code: string;
  /** The level's `order`: 1 is the top, larger is finer. */
  order: number;
  /** True when the grid has no children: only leaves take addresses by 就近划入. */
  leaf: boolean;
  shape: FlatShape;
}

export type AssignmentStatus = 'assigned' | 'ambiguous' | 'nearest';

/** The grid an address belongs to in one system; an address in no grid has no assignment (null). */
export interface Assignment {
  code: string;
  status: AssignmentStatus;
  /** The other grids at the same level that also cover the point (shared boundary or overlap). */
  alsoIn: string[];
  /** Metres to the grid for 就近划入, null otherwise. */
  distance: number | null;
}

interface Entry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  grid: IndexGrid;
}

/**
 * Codes compare by code point, like PostgreSQL's "C" collation, so the tie-break does not depend on the
 * database's locale.
 */
const compareCodes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The `alsoIn` of every plain answer: one frozen empty list, not one per grid. */
const NONE = Object.freeze([]) as unknown as string[];

/**
 * The grids of one system in memory, answering "which grid does this address belong to" by the rule the
 * point lookup uses (service/domain/point.ts):
 * 1. among the grids whose geometry covers the point (ST_Covers: boundary included), the finest level wins;
 * 2. among those, the lowest code (by code point) wins; the others are listed in `alsoIn`;
 * 3. the answer is "ambiguous" when two of them cover the point and at least one has it in its interior,
 *    i.e. the grids overlap there; a point on a shared boundary only is plainly "assigned";
 * 4. a point no grid covers is unassigned, unless it may be placed in the nearest leaf grid within
 *    `nearestWithin` metres (就近划入, DOMAIN.md "Addresses"): then "nearest" with the distance, ties to the
 *    lowest code.
 * One bucket grid per level, searched finest first, so a point in a finest grid costs one lookup; an
 * R-tree of the leaves, made on the first one, answers the distance searches.
 */
export class GridIndex {
  private readonly levels: { grids: IndexGrid[]; plain: Assignment[]; buckets: BucketGrid }[];
  private readonly leafGrids: IndexGrid[];
  /** Made on the first distance search: assignment without 就近划入 never needs it. */
  private leaves: RBush<Entry> | null = null;
  private readonly scratch: Uint32Array;

  constructor(grids: IndexGrid[]) {
    const byOrder = new Map<number, IndexGrid[]>();
    const leaves: IndexGrid[] = [];
    for (const grid of grids) {
      const { coords: c, box: b } = grid.shape;
      // An empty geometry (e.g. a collapsed polygon after repair) covers nothing and is nearest to nothing.
      if (!(c[b]! <= c[b + 2]! && c[b + 1]! <= c[b + 3]!)) continue;
      const list = byOrder.get(grid.order) ?? [];
      list.push(grid);
      byOrder.set(grid.order, list);
      if (grid.leaf) leaves.push(grid);
    }
    this.levels = [...byOrder]
      .sort((a, b) => b[0] - a[0])
      .map(([, list]) => ({
        grids: list,
        // The usual answer, one shared object per grid: assigning a million points allocates nothing.
        plain: list.map((g) => Object.freeze({ code: g.code, status: 'assigned' as const, alsoIn: NONE, distance: null })),
        buckets: new BucketGrid(boxesOf(list)),
      }));
    this.scratch = new Uint32Array(Math.max(1, ...this.levels.map((l) => l.buckets.maxPerCell)));
    this.leafGrids = leaves;
  }

  /**
   * @param x longitude (WGS84)
   * @param y latitude (WGS84)
   * @param nearestWithin metres for 就近划入, or null when the address may not be placed by distance
   * @returns the assignment (do not modify it: plain answers are shared), or null when the address is in no grid
   */
  assign(x: number, y: number, nearestWithin: number | null): Assignment | null {
    const candidates = this.scratch;
    for (const { grids, plain, buckets } of this.levels) {
      const n = buckets.containing(x, y, candidates);
      let best = -1;
      let covering = 0;
      let interior = 0;
      for (let k = 0; k < n; k++) {
        const i = candidates[k]!;
        const where = locatePoint(grids[i]!.shape, x, y);
        if (where === OUTSIDE) continue;
        covering++;
        if (where === INTERIOR) interior++;
        if (best < 0 || compareCodes(grids[i]!.code, grids[best]!.code) < 0) best = i;
      }
      if (best < 0) continue;
      if (covering === 1) return plain[best]!;
      const alsoIn: string[] = [];
      for (let k = 0; k < n; k++) {
        const i = candidates[k]!;
        if (i !== best && locatePoint(grids[i]!.shape, x, y) !== OUTSIDE) alsoIn.push(grids[i]!.code);
      }
      return { code: grids[best]!.code, status: interior > 0 ? 'ambiguous' : 'assigned', alsoIn: alsoIn.sort(compareCodes), distance: null };
    }
    return nearestWithin && nearestWithin > 0 ? this.nearest(x, y, nearestWithin) : null;
  }

  /**
   * Assigns many addresses, visiting them along a Z-order curve so consecutive lookups touch the same
   * grids: the polygon data then stays in the CPU cache (5× faster than the order of a file whose rows
   * are spread at random over the city).
   * @param points positions in WGS 84, with their 就近划入 reach (null: never by distance)
   * @returns the assignments in the order of `points`
   */
  assignAll(points: readonly { lon: number; lat: number; nearestM: number | null }[]): (Assignment | null)[] {
    const out = new Array<Assignment | null>(points.length);
    for (const i of zOrder(points)) {
      const p = points[i]!;
      out[i] = this.assign(p.lon, p.lat, p.nearestM);
    }
    return out;
  }

  private nearest(x: number, y: number, within: number): Assignment | null {
    const { kx, ky } = metresPerDegree(y);
    const dx = within / kx;
    const dy = within / ky;
    let best: IndexGrid | null = null;
    let bestDistance = Infinity;
    this.leaves ??= new RBush<Entry>().load(
      this.leafGrids.map((grid) => {
        const [minX, minY, maxX, maxY] = bboxOf(grid.shape);
        return { minX, minY, maxX, maxY, grid };
      }),
    );
    for (const { grid } of this.leaves.search({ minX: x - dx, minY: y - dy, maxX: x + dx, maxY: y + dy })) {
      const d = distanceToShape(grid.shape, x, y);
      if (d > within) continue;
      if (d < bestDistance || (d === bestDistance && best && compareCodes(grid.code, best.code) < 0)) {
        best = grid;
        bestDistance = d;
      }
    }
    return best ? { code: best.code, status: 'nearest', alsoIn: [], distance: Math.round(bestDistance * 100) / 100 } : null;
  }
}

/** The grids' bounding boxes, four numbers each, for the bucket grid. */
function boxesOf(grids: readonly IndexGrid[]): Float64Array {
  const out = new Float64Array(4 * grids.length);
  for (let i = 0; i < grids.length; i++) {
    const { coords, box } = grids[i]!.shape;
    for (let k = 0; k < 4; k++) out[4 * i + k] = coords[box + k]!;
  }
  return out;
}

/**
 * Positions of `points` along a Z-order (Morton) curve over a 256 × 256 lattice on their own extent,
 * by counting sort in linear time; points that already come in local order keep it.
 */
export function zOrder(points: readonly { lon: number; lat: number }[]): Uint32Array {
  const n = points.length;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const p of points) {
    if (p.lon < x0) x0 = p.lon;
    if (p.lon > x1) x1 = p.lon;
    if (p.lat < y0) y0 = p.lat;
    if (p.lat > y1) y1 = p.lat;
  }
  const sx = x1 > x0 ? 255.999 / (x1 - x0) : 0;
  const sy = y1 > y0 ? 255.999 / (y1 - y0) : 0;
  const keys = new Uint16Array(n);
  const counts = new Uint32Array(65_537);
  let local = 0;
  for (let i = 0; i < n; i++) {
    const p = points[i]!;
    const key = MORTON8[Math.floor((p.lon - x0) * sx)]! | (MORTON8[Math.floor((p.lat - y0) * sy)]! << 1);
    keys[i] = key;
    counts[key + 1]!++;
    // Neighbours in the file that share a cell of the coarse 16 × 16 lattice (the top 8 bits of the key).
    if (i > 0 && key >>> 8 === keys[i - 1]! >>> 8) local++;
  }
  const order = new Uint32Array(n);
  // Input that is already local (a register sorted by area or grid) is best read as it comes.
  if (2 * local > n) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order;
  }
  for (let k = 1; k < counts.length; k++) counts[k]! += counts[k - 1]!;
  for (let i = 0; i < n; i++) order[counts[keys[i]!]!++] = i;
  return order;
}

/** The 8 bits of an index spread to the even bit positions of 16. */
const MORTON8 = Uint16Array.from({ length: 256 }, (_, v) => {
  let x = v;
  x = (x | (x << 4)) & 0x0f0f;
  x = (x | (x << 2)) & 0x3333;
  x = (x | (x << 1)) & 0x5555;
  return x;
});
