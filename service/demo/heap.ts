/**
 * A binary min-heap of integer items keyed by number, on parallel arrays (no object per entry): region
 * growing pushes every cell of a 100 000-grid district. Ties pop in push order, so growth is deterministic.
 */
export class CellHeap {
  private items: number[] = [];
  private keys: number[] = [];
  private stamps: number[] = [];
  private pushed = 0;

  get size(): number {
    return this.items.length;
  }

  push(item: number, key: number): void {
    this.items.push(item);
    this.keys.push(key);
    this.stamps.push(this.pushed++);
    this.up(this.items.length - 1);
  }

  /** The item with the smallest key; the heap must not be empty. */
  pop(): { item: number; key: number } {
    const top = { item: this.items[0], key: this.keys[0] };
    const lastItem = this.items.pop()!;
    const lastKey = this.keys.pop()!;
    const lastStamp = this.stamps.pop()!;
    if (this.items.length > 0) {
      this.items[0] = lastItem;
      this.keys[0] = lastKey;
      this.stamps[0] = lastStamp;
      this.down(0);
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    return this.keys[a] < this.keys[b] || (this.keys[a] === this.keys[b] && this.stamps[a] < this.stamps[b]);
  }

  private swap(a: number, b: number): void {
    const item = this.items[a];
    const key = this.keys[a];
    const stamp = this.stamps[a];
    this.items[a] = this.items[b];
    this.keys[a] = this.keys[b];
    this.stamps[a] = this.stamps[b];
    this.items[b] = item;
    this.keys[b] = key;
    this.stamps[b] = stamp;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
