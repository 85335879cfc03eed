/** Boxes per horizontal band, on average. */
const BOXES_PER_BAND = 8;

/**
 * Boxes indexed in horizontal bands: a query looks only at the boxes of the bands its point or box
 * lies in. Built in linear time and queried without allocating, it replaced R-trees where a family
 * asks once or twice per piece of its whole outline (issue #15). Callers apply their exact box test to
 * what a band holds; every box is in each band its y-range touches, so none the test accepts is missed.
 */
export class BoxBands {
  private readonly bottom: number;
  private readonly height: number;
  readonly bands: number;
  /** Band b holds the boxes items[start[b]] … items[start[b + 1] - 1]. */
  readonly start: Int32Array;
  readonly items: Int32Array;

  /**
   * @param minY per box, its lowest y
   * @param maxY per box, its highest y
   */
  constructor(minY: ArrayLike<number>, maxY: ArrayLike<number>) {
    const n = minY.length;
    let bottom = Infinity;
    let top = -Infinity;
    for (let i = 0; i < n; i++) {
      bottom = Math.min(bottom, minY[i]);
      top = Math.max(top, maxY[i]);
    }
    this.bands = top > bottom ? Math.max(1, Math.min(4096, Math.ceil(n / BOXES_PER_BAND))) : 1;
    this.bottom = n > 0 ? bottom : 0;
    this.height = top > bottom ? (top - bottom) / this.bands : 1;
    const counts = new Int32Array(this.bands + 1);
    for (let i = 0; i < n; i++) {
      for (let b = this.band(minY[i]), last = this.band(maxY[i]); b <= last; b++) counts[b + 1]++;
    }
    for (let b = 0; b < this.bands; b++) counts[b + 1] += counts[b];
    this.start = counts.slice();
    this.items = new Int32Array(counts[this.bands]);
    for (let i = 0; i < n; i++) {
      for (let b = this.band(minY[i]), last = this.band(maxY[i]); b <= last; b++) this.items[counts[b]++] = i;
    }
  }

  /** The band holding y (the first or last band beyond the boxes): monotone in y, so a box's y-range maps onto its bands. */
  band(y: number): number {
    const b = Math.floor((y - this.bottom) / this.height);
    return b < 0 ? 0 : b >= this.bands ? this.bands - 1 : b;
  }
}
