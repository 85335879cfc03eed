import { BoxBands } from './box-bands';
import { RESOLUTION_M as RESOLUTION, pointSegmentDistance as distance } from './flat-geometry';

// Module-local copies: tsx compiles an imported binding to a getter that hot loops would call on every read.
const RESOLUTION_M = RESOLUTION;
const pointSegmentDistance = distance;

/**
 * Winding numbers of a weighted chain of segments (a parent's rings, or the residual of a coverage
 * proof). Segments are indexed in horizontal bands (`BoxBands`), so a query only looks at the segments
 * of the band its point or box lies in, allocating nothing: the top level of a system asks once or
 * twice per piece of its whole outline (issue #15).
 */
export class ChainWinding {
  private readonly maxX: number;
  private readonly minX: Float64Array;
  private readonly minY: Float64Array;
  private readonly segMaxX: Float64Array;
  private readonly maxY: Float64Array;
  private readonly index: BoxBands;
  /** Per segment, the last box query that saw it (a segment spans several bands). */
  private readonly seen: Int32Array;
  private query = 0;

  /**
   * @param xy x1, y1, x2, y2 per segment (plane frame)
   * @param weights per segment: how many times it is traversed from its first to its second point
   */
  constructor(
    private readonly xy: readonly number[],
    private readonly weights: readonly number[],
  ) {
    const n = weights.length;
    this.minX = new Float64Array(n);
    this.minY = new Float64Array(n);
    this.segMaxX = new Float64Array(n);
    this.maxY = new Float64Array(n);
    this.seen = new Int32Array(n);
    let maxX = -Infinity;
    // Banded by their y-range widened by more than any query's margin: a point query then finds in
    // its one band every segment the exact box tests below can accept.
    const margin = 2 * RESOLUTION_M;
    const low = new Float64Array(n);
    const high = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x1 = xy[4 * i];
      const y1 = xy[4 * i + 1];
      const x2 = xy[4 * i + 2];
      const y2 = xy[4 * i + 3];
      this.minX[i] = Math.min(x1, x2);
      this.minY[i] = Math.min(y1, y2);
      this.segMaxX[i] = Math.max(x1, x2);
      this.maxY[i] = Math.max(y1, y2);
      low[i] = this.minY[i] - margin;
      high[i] = this.maxY[i] + margin;
      maxX = Math.max(maxX, x1, x2);
    }
    this.maxX = maxX;
    this.index = new BoxBands(low, high);
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
    const { xy, weights, minX, minY, segMaxX, maxY, index } = this;
    const { items } = index;
    let winding = 0;
    // The segments whose box meets the box from (x, y) east to the chain's end, widened by the resolution.
    const left = x - RESOLUTION_M;
    const low = y - RESOLUTION_M;
    const high = y + RESOLUTION_M;
    const band = index.band(y);
    for (let k = index.start[band], end = index.start[band + 1]; k < end; k++) {
      const i = items[k];
      if (i === exclude || !(minX[i] <= this.maxX && minY[i] <= high && segMaxX[i] >= left && maxY[i] >= low)) continue;
      const ax = xy[4 * i];
      const ay = xy[4 * i + 1];
      const bx = xy[4 * i + 2];
      const by = xy[4 * i + 3];
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
    const boxMinX = Math.min(x1, x2) - RESOLUTION_M;
    const boxMinY = Math.min(y1, y2) - RESOLUTION_M;
    const boxMaxX = Math.max(x1, x2) + RESOLUTION_M;
    const boxMaxY = Math.max(y1, y2) + RESOLUTION_M;
    const query = ++this.query;
    const { minX, minY, segMaxX, maxY, seen, index } = this;
    const { items } = index;
    for (let band = index.band(boxMinY), last = index.band(boxMaxY); band <= last; band++) {
      for (let k = index.start[band], end = index.start[band + 1]; k < end; k++) {
        const i = items[k];
        if (seen[i] === query) continue;
        seen[i] = query;
        if (i === exclude || !(minX[i] <= boxMaxX && minY[i] <= boxMaxY && segMaxX[i] >= boxMinX && maxY[i] >= boxMinY)) continue;
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
    }
    const margin = RESOLUTION_M / Math.sqrt(length2);
    return found.filter((t) => t > margin && t < 1 - margin).sort((a, b) => a - b);
  }
}
