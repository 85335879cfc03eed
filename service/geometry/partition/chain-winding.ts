import RBush from 'rbush';
import { RESOLUTION_M as RESOLUTION, pointSegmentDistance as distance } from './flat-geometry';

// Module-local copies: tsx compiles an imported binding to a getter that hot loops would call on every read.
const RESOLUTION_M = RESOLUTION;
const pointSegmentDistance = distance;

interface WeightedSegment {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  index: number;
}

/**
 * Winding numbers of a weighted chain of segments (a parent's rings, or the residual of a coverage
 * proof), answered with an R-tree so each query only looks at the segments its eastward ray can cross.
 */
export class ChainWinding {
  private readonly tree = new RBush<WeightedSegment>();
  private readonly maxX: number;

  /**
   * @param xy x1, y1, x2, y2 per segment (plane frame)
   * @param weights per segment: how many times it is traversed from its first to its second point
   */
  constructor(
    private readonly xy: readonly number[],
    private readonly weights: readonly number[],
  ) {
    const items: WeightedSegment[] = [];
    let maxX = -Infinity;
    for (let i = 0; i < weights.length; i++) {
      const [x1, y1, x2, y2] = [xy[4 * i], xy[4 * i + 1], xy[4 * i + 2], xy[4 * i + 3]];
      items.push({ minX: Math.min(x1, x2), minY: Math.min(y1, y2), maxX: Math.max(x1, x2), maxY: Math.max(y1, y2), index: i });
      maxX = Math.max(maxX, x1, x2);
    }
    this.tree.load(items);
    this.maxX = maxX;
  }

  /** Segments from flat polygon rings, each traversed once in ring order (interior on the left). */
  static ofRings(xy: Float64Array, ringEnds: Uint32Array): ChainWinding {
    const segments: number[] = [];
    const weights: number[] = [];
    let start = 0;
    for (const end of ringEnds) {
      for (let i = start; i < end; i++) {
        const j = i + 1 < end ? i + 1 : start;
        segments.push(xy[2 * i], xy[2 * i + 1], xy[2 * j], xy[2 * j + 1]);
        weights.push(1);
      }
      start = end;
    }
    return new ChainWinding(segments, weights);
  }

  /**
   * The winding number at (x, y), leaving segment `exclude` out, or NaN when the point lies on (within
   * the resolution of) another segment, where the number is undefined.
   *
   * Leaving out the segment the point lies on gives the value on its east side (north side when the
   * segment is horizontal): the side the eastward ray does not cross it from.
   */
  at(x: number, y: number, exclude = -1): number {
    const { xy, weights } = this;
    let winding = 0;
    const hits = this.tree.search({ minX: x - RESOLUTION_M, minY: y - RESOLUTION_M, maxX: this.maxX, maxY: y + RESOLUTION_M });
    for (const { index: i } of hits) {
      if (i === exclude) continue;
      const [ax, ay, bx, by] = [xy[4 * i], xy[4 * i + 1], xy[4 * i + 2], xy[4 * i + 3]];
      if (pointSegmentDistance(x, y, ax, ay, bx, by) <= RESOLUTION_M) return NaN;
      const side = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
      if (ay <= y) {
        if (by > y && side > 0) winding += weights[i];
      } else if (by <= y && side < 0) {
        winding -= weights[i];
      }
    }
    return winding;
  }

  /**
   * Where other segments meet the segment from (x1, y1) to (x2, y2): its parameters 0 < t < 1, sorted.
   * Between two of them the coverage on either side of the segment is constant.
   */
  meetings(x1: number, y1: number, x2: number, y2: number, exclude = -1): number[] {
    const { xy } = this;
    const dx = x2 - x1;
    const dy = y2 - y1;
    const length2 = dx * dx + dy * dy;
    const found: number[] = [];
    const box = { minX: Math.min(x1, x2) - RESOLUTION_M, minY: Math.min(y1, y2) - RESOLUTION_M, maxX: Math.max(x1, x2) + RESOLUTION_M, maxY: Math.max(y1, y2) + RESOLUTION_M };
    for (const { index: i } of this.tree.search(box)) {
      if (i === exclude) continue;
      const ax = xy[4 * i];
      const ay = xy[4 * i + 1];
      const ex = xy[4 * i + 2] - ax;
      const ey = xy[4 * i + 3] - ay;
      const denominator = dx * ey - dy * ex;
      if (Math.abs(denominator) > 1e-12 * Math.sqrt(length2 * (ex * ex + ey * ey))) {
        const t = ((ax - x1) * ey - (ay - y1) * ex) / denominator;
        const u = ((ax - x1) * dy - (ay - y1) * dx) / denominator;
        if (u >= 0 && u <= 1) found.push(t);
      } else {
        // Parallel: where the other segment's ends lie on this one.
        for (const [px, py] of [[ax, ay], [ax + ex, ay + ey]]) {
          if (pointSegmentDistance(px, py, x1, y1, x2, y2) <= RESOLUTION_M) found.push(((px - x1) * dx + (py - y1) * dy) / length2);
        }
      }
    }
    const margin = RESOLUTION_M / Math.sqrt(length2);
    return found.filter((t) => t > margin && t < 1 - margin).sort((a, b) => a - b);
  }
}
