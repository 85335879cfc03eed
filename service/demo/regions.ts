import { CellHeap } from './heap';
import { neighbour, type Lattice } from './lattice';
import { shuffle, type Random } from './random';

/**
 * Cutting a connected set of cells into connected regions. A region is a list of cell ids in ascending
 * order; `label[c]` names the region of cell c, so membership tests need no per-region allocation.
 */

/** Farthest-point sampling looks at no more than this many candidates per seed (every k-th cell). */
const CANDIDATES_PER_SEED = 8;

/**
 * `count` cells of `cells` spread far apart (farthest-point sampling from a random start), the seeds of
 * regions of similar size. Large sets are thinned to every k-th cell first: the cost is candidates ×
 * seeds, and a district of 100 000 grids has 1 000 streets.
 */
export function farthestSeeds(random: Random, lattice: Lattice, cells: readonly number[], count: number): number[] {
  const stride = Math.max(1, Math.floor(cells.length / (CANDIDATES_PER_SEED * count)));
  const offset = Math.floor(random() * stride);
  const candidates = cells.filter((_, k) => k % stride === offset);
  const n = candidates.length;
  const xs = new Int32Array(n);
  const ys = new Int32Array(n);
  candidates.forEach((c, k) => {
    xs[k] = c % lattice.columns;
    ys[k] = Math.floor(c / lattice.columns);
  });
  const nearest = new Int32Array(n).fill(0x7fffffff);
  const seeds: number[] = [];
  let current = Math.floor(random() * n);
  while (seeds.length < Math.min(count, n)) {
    seeds.push(candidates[current]);
    const x = xs[current];
    const y = ys[current];
    let farthest = 0;
    let farthestDistance = -1;
    for (let k = 0; k < n; k++) {
      const dx = xs[k] - x;
      const dy = ys[k] - y;
      const d = Math.min(nearest[k], dx * dx + dy * dy);
      nearest[k] = d;
      if (d > farthestDistance) {
        farthest = k;
        farthestDistance = d;
      }
    }
    current = farthest;
  }
  return seeds;
}

/** Working arrays for region growing, as long as the lattice, reused across calls. */
export interface Scratch {
  distance: Float64Array;
  owner: Int32Array;
}

export function createScratch(lattice: Lattice): Scratch {
  const size = lattice.columns * lattice.rows;
  return { distance: new Float64Array(size), owner: new Int32Array(size) };
}

/**
 * Multi-source Dijkstra from `seeds` over the cells of `cells`, entering a cell costing `cost[c]`: every
 * cell joins the seed that reaches it first, so each region is connected (it holds its shortest-path tree)
 * and the random costs make borders wander like real ones. Writes `label[c] = firstLabel + seed index`.
 * `scratch` comes from `createScratch`; only the entries of `cells` are used.
 */
export function growRegions(
  lattice: Lattice,
  cells: readonly number[],
  seeds: readonly number[],
  cost: Float64Array,
  label: Int32Array,
  firstLabel: number,
  scratch: Scratch,
): number[][] {
  const pending = -2;
  const { distance, owner } = scratch;
  for (const c of cells) {
    label[c] = pending;
    distance[c] = Infinity;
  }
  const heap = new CellHeap();
  seeds.forEach((s, k) => {
    distance[s] = 0;
    owner[s] = firstLabel + k;
    heap.push(s, 0);
  });
  const regions: number[][] = seeds.map(() => []);
  while (heap.size > 0) {
    const { item: c, key } = heap.pop();
    if (label[c] !== pending || key > distance[c]) continue;
    const own = owner[c];
    label[c] = own;
    regions[own - firstLabel].push(c);
    for (let d = 0; d < 4; d++) {
      const n = neighbour(lattice, c, d);
      if (n < 0 || label[n] !== pending) continue;
      const through = key + cost[n];
      if (through < distance[n]) {
        distance[n] = through;
        owner[n] = own;
        heap.push(n, through);
      }
    }
  }
  return regions.map((r) => r.sort((a, b) => a - b));
}

/** Rounds of Lloyd relaxation: enough to even out region sizes, few enough to keep 100 000 grids fast. */
const RELAXATION_ROUNDS = 3;

/**
 * `growRegions` from seeds that first move, a few times, to the middle of the region they grew (Lloyd
 * relaxation over the same costs): farthest-point seeds alone sit on the rim and leave one huge region in
 * the middle.
 */
export function growRelaxedRegions(
  lattice: Lattice,
  cells: readonly number[],
  seeds: readonly number[],
  cost: Float64Array,
  label: Int32Array,
  firstLabel: number,
  scratch: Scratch,
): number[][] {
  let current = seeds;
  for (let round = 0; round < RELAXATION_ROUNDS; round++) {
    current = growRegions(lattice, cells, current, cost, label, firstLabel, scratch).map((region, k) => (region.length > 0 ? centreCell(lattice, region) : current[k]));
  }
  return growRegions(lattice, cells, current, cost, label, firstLabel, scratch);
}

/** The cell of `cells` nearest their centroid. */
export function centreCell(lattice: Lattice, cells: readonly number[]): number {
  let x = 0;
  let y = 0;
  for (const c of cells) {
    x += c % lattice.columns;
    y += Math.floor(c / lattice.columns);
  }
  x /= cells.length;
  y /= cells.length;
  let best = cells[0];
  let bestDistance = Infinity;
  for (const c of cells) {
    const d = ((c % lattice.columns) - x) ** 2 + (Math.floor(c / lattice.columns) - y) ** 2;
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Merges every region smaller than `minSize` into the neighbouring region of the same batch (labels
 * `firstLabel`…) it shares most sides with, and renumbers the batch. Merging into a neighbour keeps
 * regions connected.
 */
export function mergeSmallRegions(lattice: Lattice, regions: number[][], label: Int32Array, firstLabel: number, minSize: number): number[][] {
  const last = firstLabel + regions.length;
  const alive = regions.map((r) => [...r]);
  for (let k = 0; k < alive.length; k++) {
    if (alive[k].length === 0 || alive[k].length >= minSize) continue;
    const shared = new Map<number, number>();
    for (const c of alive[k]) {
      for (let d = 0; d < 4; d++) {
        const n = neighbour(lattice, c, d);
        const l = n < 0 ? -1 : label[n];
        if (l >= firstLabel && l < last && l !== firstLabel + k) shared.set(l, (shared.get(l) ?? 0) + 1);
      }
    }
    if (shared.size === 0) continue;
    const [target] = [...shared.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
    for (const c of alive[k]) label[c] = target;
    alive[target - firstLabel].push(...alive[k]);
    alive[k] = [];
  }
  const kept = alive.filter((r) => r.length > 0).map((r) => r.sort((a, b) => a - b));
  kept.forEach((r, k) => r.forEach((c) => (label[c] = firstLabel + k)));
  return kept;
}

/** How often a node closes a group at two cells rather than three. */
const CLOSE_AT_TWO = 0.3;

/**
 * Cuts one connected region (cells with `label[c] === value`) into connected groups of 2–5 cells: a
 * random spanning tree is cut bottom-up. A node takes its children's pending subtrees of one cell, then
 * of two while the total stays within four (a two-cell subtree it cannot take becomes a group of its
 * own), and closes a group once it holds three, or sometimes two, which spreads sizes over 2–4. On a
 * 4-connected lattice only the root can be left alone; it joins the smallest group next to it, which
 * makes at most five. The region needs two cells.
 */
export function partitionTree(random: Random, lattice: Lattice, cells: readonly number[], label: Int32Array, value: number): number[][] {
  const root = cells[Math.floor(random() * cells.length)];
  const parent = new Map<number, number>([[root, -1]]);
  const order = [root];
  for (let k = 0; k < order.length; k++) {
    const c = order[k];
    for (const d of shuffle(random, [0, 1, 2, 3])) {
      const n = neighbour(lattice, c, d);
      if (n >= 0 && label[n] === value && !parent.has(n)) {
        parent.set(n, c);
        order.push(n);
      }
    }
  }
  // Subtrees not yet in a group, by the node they hang from: [child, cells in its pending subtree].
  const pending = new Map<number, [number, number][]>();
  const heads = new Set<number>();
  for (let k = order.length - 1; k >= 0; k--) {
    const c = order[k];
    const below = pending.get(c) ?? [];
    let size = 1 + below.filter(([, n]) => n === 1).length;
    for (const [child, n] of below) {
      if (n === 1) continue;
      if (size + n <= 4) size += n;
      else heads.add(child);
    }
    if (size >= (random() < CLOSE_AT_TWO ? 2 : 3) || (c === root && size >= 2)) heads.add(c);
    else if (c !== root) {
      const up = parent.get(c)!;
      const siblings = pending.get(up);
      if (siblings) siblings.push([c, size]);
      else pending.set(up, [[c, size]]);
    }
  }
  const head = new Map<number, number>();
  for (const c of order) head.set(c, heads.has(c) ? c : (head.get(parent.get(c)!) ?? -1));
  if (!heads.has(root)) {
    // Every child of the root closed its own group: the root joins the smallest group next to it.
    let best = -1;
    for (let d = 0; d < 4; d++) {
      const n = neighbour(lattice, root, d);
      if (n < 0 || label[n] !== value) continue;
      const h = head.get(n)!;
      if (best < 0 || countOf(head, h) < countOf(head, best)) best = h;
    }
    head.set(root, best);
  }
  const groups = new Map<number, number[]>();
  for (const c of order) if (heads.has(c)) groups.set(c, []);
  for (const c of order) groups.get(head.get(c)!)!.push(c);
  return [...groups.values()].map((g) => g.sort((a, b) => a - b));
}

function countOf(head: Map<number, number>, h: number): number {
  let n = 0;
  for (const v of head.values()) if (v === h) n++;
  return n;
}

/**
 * Regions in reading order (DOMAIN.md "Codes": numbered west→east, north→south): centroids whose rows
 * differ by less than half the median region height form one row, rows go north to south, and each row
 * west to east.
 */
export function readingOrder<T extends { cells: readonly number[] }>(lattice: Lattice, regions: T[]): T[] {
  if (regions.length === 0) return [];
  const stats = regions.map((region) => {
    let x = 0;
    let y = 0;
    let top = Infinity;
    let bottom = -Infinity;
    for (const c of region.cells) {
      const j = Math.floor(c / lattice.columns);
      x += c % lattice.columns;
      y += j;
      top = Math.min(top, j);
      bottom = Math.max(bottom, j);
    }
    return { region, x: x / region.cells.length, y: y / region.cells.length, height: bottom - top + 1 };
  });
  const heights = stats.map((s) => s.height).sort((a, b) => a - b);
  const tolerance = heights[Math.floor(heights.length / 2)] / 2;
  stats.sort((a, b) => a.y - b.y || a.x - b.x);
  const rows: (typeof stats)[] = [];
  let rowTop = -Infinity;
  for (const s of stats) {
    if (rows.length === 0 || s.y - rowTop > tolerance) {
      rows.push([]);
      rowTop = s.y;
    }
    rows[rows.length - 1].push(s);
  }
  return rows.flatMap((row) => row.sort((a, b) => a.x - b.x).map((s) => s.region));
}
