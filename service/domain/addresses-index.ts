import RBush from 'rbush';
import { INTERIOR, OUTSIDE, distanceToShape, locatePoint, metresPerDegree, type FlatShape } from './addresses-shape';

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
export const compareCodes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

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
 * One R-tree per level, searched finest first, so a point in a finest grid costs one search.
 */
export class GridIndex {
  readonly size: number;
  private readonly levels: { order: number; tree: RBush<Entry> }[];
  private readonly leaves: RBush<Entry>;

  constructor(grids: IndexGrid[]) {
    const byOrder = new Map<number, Entry[]>();
    const leaves: Entry[] = [];
    for (const grid of grids) {
      const [minX, minY, maxX, maxY] = grid.shape.bbox;
      if (!(minX <= maxX && minY <= maxY)) throw new Error(`grid ${grid.code} has an empty geometry`);
      const entry = { minX, minY, maxX, maxY, grid };
      const list = byOrder.get(grid.order) ?? [];
      list.push(entry);
      byOrder.set(grid.order, list);
      if (grid.leaf) leaves.push(entry);
    }
    this.size = grids.length;
    this.levels = [...byOrder]
      .sort((a, b) => b[0] - a[0])
      .map(([order, entries]) => ({ order, tree: new RBush<Entry>().load(entries) }));
    this.leaves = new RBush<Entry>().load(leaves);
  }

  /**
   * @param x longitude (WGS84)
   * @param y latitude (WGS84)
   * @param nearestWithin metres for 就近划入, or null when the address may not be placed by distance
   * @returns the assignment, or null when the address is in no grid
   */
  assign(x: number, y: number, nearestWithin: number | null): Assignment | null {
    const probe = { minX: x, minY: y, maxX: x, maxY: y };
    for (const { tree } of this.levels) {
      const candidates = tree.search(probe);
      let best: IndexGrid | null = null;
      let covering = 0;
      let interior = 0;
      let also: string[] | null = null;
      for (const { grid } of candidates) {
        const where = locatePoint(grid.shape, x, y);
        if (where === OUTSIDE) continue;
        covering++;
        if (where === INTERIOR) interior++;
        if (best === null) {
          best = grid;
        } else if (compareCodes(grid.code, best.code) < 0) {
          (also ??= []).push(best.code);
          best = grid;
        } else {
          (also ??= []).push(grid.code);
        }
      }
      if (best) {
        return {
          code: best.code,
          status: covering > 1 && interior > 0 ? 'ambiguous' : 'assigned',
          alsoIn: also ? also.sort(compareCodes) : [],
          distance: null,
        };
      }
    }
    return nearestWithin && nearestWithin > 0 ? this.nearest(x, y, nearestWithin) : null;
  }

  private nearest(x: number, y: number, within: number): Assignment | null {
    const { kx, ky } = metresPerDegree(y);
    const dx = within / kx;
    const dy = within / ky;
    let best: IndexGrid | null = null;
    let bestDistance = Infinity;
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
