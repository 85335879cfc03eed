/**
 * Interns pairs of integers (snapped coordinates, or the two vertex ids of a segment) to dense ids
 * 0, 1, 2, … Open addressing over typed arrays: the coverage proof hashes every vertex and edge of a
 * family, and a Map keyed by strings would cost more than the proof itself.
 *
 * Keys must be integers exactly representable as doubles (|k| < 2^53).
 */
export class PairTable {
  private keys: Float64Array;
  private ids: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 16) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.keys = new Float64Array(capacity * 2);
    this.ids = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
  }

  /** Number of distinct pairs interned so far. */
  get size(): number {
    return this.count;
  }

  /** The id of (a, b), assigning the next id when the pair is new. */
  intern(a: number, b: number): number {
    let slot = this.slotOf(a, b);
    while (this.ids[slot] !== -1) {
      if (this.keys[2 * slot] === a && this.keys[2 * slot + 1] === b) return this.ids[slot];
      slot = (slot + 1) & this.mask;
    }
    const id = this.count++;
    this.keys[2 * slot] = a;
    this.keys[2 * slot + 1] = b;
    this.ids[slot] = id;
    if (this.count * 2 > this.mask) this.grow();
    return id;
  }

  /** The id of (a, b), or -1 when it was never interned. */
  get(a: number, b: number): number {
    let slot = this.slotOf(a, b);
    while (this.ids[slot] !== -1) {
      if (this.keys[2 * slot] === a && this.keys[2 * slot + 1] === b) return this.ids[slot];
      slot = (slot + 1) & this.mask;
    }
    return -1;
  }

  private slotOf(a: number, b: number): number {
    // `| 0` keeps the low 32 bits of an integer; the division brings the high bits of large keys in.
    let h = Math.imul((a | 0) ^ Math.imul((a / 4294967296) | 0, 0x27d4eb2d), 0x9e3779b1);
    h ^= Math.imul((b | 0) ^ Math.imul((b / 4294967296) | 0, 0x165667b1), 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0xc2b2ae3d);
    h ^= h >>> 13;
    return h & this.mask;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldIds = this.ids;
    const capacity = oldIds.length * 2;
    this.keys = new Float64Array(capacity * 2);
    this.ids = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    for (let s = 0; s < oldIds.length; s++) {
      if (oldIds[s] === -1) continue;
      let slot = this.slotOf(oldKeys[2 * s], oldKeys[2 * s + 1]);
      while (this.ids[slot] !== -1) slot = (slot + 1) & this.mask;
      this.keys[2 * slot] = oldKeys[2 * s];
      this.keys[2 * slot + 1] = oldKeys[2 * s + 1];
      this.ids[slot] = oldIds[s];
    }
  }
}
