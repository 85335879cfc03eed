import type { MultiPolygon, Polygon } from 'geojson';
import RBush from 'rbush';
import type { MvtPolygon, MvtValue } from './mvt';
import { mercatorX, mercatorY, type LonLatBbox, type TileCoord } from './tile-math';

/**
 * A grid held for tiling, prepared once when it is loaded: its rings projected to Web Mercator in
 * integer units of the deepest zoom's tile grid, each vertex with its Douglas–Peucker weight, as
 * geojson-vt prepares features (same projection, quantum, weights and tolerance), so a tile is one clip
 * and one filter of the grids it touches.
 */
export interface IndexedGrid {
  code: string;
  level: string;
  id: number;
  properties: Record<string, MvtValue>;
  vertices: number;
  /** Bbox in degrees (staleness, bounds, level sizes). */
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  /** [x, y, weight] per vertex, in world units (extent · 2^maxzoom across the world). */
  coords: Float64Array;
  /**
   * First vertex of each ring, then the end; a polygon's first ring is its exterior. Plain arrays: a grid
   * has one or two rings, and a typed array costs ~200 B of heap on its own (110,000 grids, 3 each).
   */
  rings: number[];
  /** Per ring, sign(area) · √|area| in world units (outer rings positive): rings smaller than the tolerance are left out. */
  ringSize: number[];
  /** Bbox in world units, for trivial accepts when clipping. */
  wx0: number;
  wy0: number;
  wx1: number;
  wy1: number;
}

export interface GridIndexOptions {
  maxzoom: number;
  extent: number;
  /** Tile buffer in tile units (of `extent`). */
  buffer: number;
}

/** Simplification tolerance in tile units at each zoom (geojson-vt's default). */
const TOLERANCE = 3;
/** The weight of a vertex never dropped: ring ends and points made by clipping. */
const KEEP = Number.MAX_VALUE;

interface Entry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  grid: IndexedGrid;
  /** Load order: a tile lists its grids in it, whatever order the R-tree finds them in. */
  seq: number;
}

/**
 * Grids of one system in memory, cut into tiles on demand: an R-tree in world units finds the grids of
 * a tile, each is clipped to the tile and its buffer once (Sutherland–Hodgman per axis, as geojson-vt
 * clips) and its vertices filtered by weight. A tile costs only the grids it touches: geojson-vt's
 * drill-down from zoom 0 clipped and re-tiled every grid of a shard at every zoom above the tile, which
 * made a first tile at zoom 16 cost 2–3 ST_AsMVT queries (bench-tiles.ts); nothing is cached here,
 * the served tiles are (cache.ts).
 */
export class GridIndex {
  /** Per code, the grid's entries: one, or up to three for a grid near the antimeridian (see `entries`). */
  private readonly grids = new Map<string, Entry[]>();
  /**
   * One R-tree per level: a tile searches only the levels shown at its zoom. With one tree, a zoom-0 tile of
   * the 100,000-grid city found all 110,907 grids to keep one (~105 ms a tile at zooms 0–6, issue #15).
   */
  private readonly trees = new Map<string, RBush<Entry>>();
  private minzoom: ReadonlyMap<string, number> = new Map();
  private seq = 0;
  private readonly scale: number;

  constructor(private readonly options: GridIndexOptions) {
    this.scale = options.extent * 2 ** options.maxzoom;
  }

  get size(): number {
    return this.grids.size;
  }

  /** Replaces everything: the grids and the zoom from which each level is put in tiles. */
  load(grids: IndexedGrid[], minzoom: ReadonlyMap<string, number>): void {
    this.grids.clear();
    this.trees.clear();
    for (const g of grids) this.grids.set(g.code, this.entries(g));
    const byLevel = new Map<string, Entry[]>();
    for (const entries of this.grids.values()) {
      for (const e of entries) {
        const list = byLevel.get(e.grid.level);
        if (list) list.push(e);
        else byLevel.set(e.grid.level, [e]);
      }
    }
    for (const [level, entries] of byLevel) this.treeOf(level).load(entries);
    this.minzoom = minzoom;
  }

  /** Writes grids over those with the same code and deletes the `removed` codes. */
  update(grids: IndexedGrid[], removed: Iterable<string>): void {
    const take = (code: string) => {
      const old = this.grids.get(code);
      if (!old) return;
      for (const e of old) this.treeOf(e.grid.level).remove(e);
      this.grids.delete(code);
    };
    for (const code of removed) take(code);
    for (const g of grids) {
      take(g.code);
      const entries = this.entries(g);
      this.grids.set(g.code, entries);
      for (const e of entries) this.treeOf(e.grid.level).insert(e);
    }
  }

  /** The tile's grids in tile units, levels below their minzoom left out; empty when none. */
  tile(tile: TileCoord): { level: string; polygon: MvtPolygon }[] {
    const { extent, buffer, maxzoom } = this.options;
    const step = this.scale / 2 ** tile.z;
    const b = (buffer * step) / extent;
    const k = { x0: tile.x * step - b, x1: (tile.x + 1) * step + b, y0: tile.y * step - b, y1: (tile.y + 1) * step + b };
    const box = { minX: k.x0, minY: k.y0, maxX: k.x1, maxY: k.y1 };
    const found: Entry[] = [];
    for (const [level, tree] of this.trees) if ((this.minzoom.get(level) ?? 0) <= tile.z) for (const e of tree.search(box)) found.push(e);
    // By grid id (copies of one grid in the order made): a tile's bytes then depend on the grids alone, not
    // on the order a process read or edited them in, so every process gives the same tile and ETag.
    found.sort((a, c) => a.grid.id - c.grid.id || a.seq - c.seq);
    const tolerance = tile.z === maxzoom ? 0 : (TOLERANCE * this.scale) / (2 ** tile.z * extent);
    // World units to tile units: an exact power of two, so the rounding matches geojson-vt's.
    const shift = 2 ** (maxzoom - tile.z);
    const out: { level: string; polygon: MvtPolygon }[] = [];
    for (const { grid } of found) {
      const rings = cutGrid(grid, k, tolerance, shift, tile.x * extent, tile.y * extent);
      if (rings.length > 0) out.push({ level: grid.level, polygon: { id: grid.id, rings, properties: grid.properties } });
    }
    return out;
  }

  private treeOf(level: string): RBush<Entry> {
    let tree = this.trees.get(level);
    if (!tree) this.trees.set(level, (tree = new RBush<Entry>()));
    return tree;
  }

  bounds(): LonLatBbox | null {
    if (this.grids.size === 0) return null;
    const b: LonLatBbox = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [{ grid: g }] of this.grids.values() as Iterable<[Entry]>) {
      b[0] = Math.min(b[0], g.minX);
      b[1] = Math.min(b[1], g.minY);
      b[2] = Math.max(b[2], g.maxX);
      b[3] = Math.max(b[3], g.maxY);
    }
    return b;
  }

  /**
   * The grid as the tiles see it. Near the antimeridian (within a zoom-0 buffer of it) geojson-vt's wrap:
   * the part reaching over the world's west edge is copied one world east, the part over the east edge
   * one world west, so tiles on either side of 180° show it; listed west copy, grid, east copy.
   */
  private entries(grid: IndexedGrid): Entry[] {
    const S = this.scale;
    const buf = (this.options.buffer * S) / this.options.extent;
    const pieces =
      grid.wx0 >= buf && grid.wx1 <= S - buf
        ? [grid]
        : [clipGridX(grid, -S - buf, buf, S), clipGridX(grid, -buf, S + buf, 0), clipGridX(grid, S - buf, 2 * S + buf, -S)].filter((g) => g !== null);
    return pieces.map((g) => ({ minX: g.wx0, minY: g.wy0, maxX: g.wx1, maxY: g.wy1, grid: g, seq: this.seq++ }));
  }
}

/**
 * Prepares a grid for the index: projects its rings (exteriors positive, holes negative by signed area,
 * whatever the input's winding) and weighs every vertex for simplification.
 * @param maxzoom - deepest zoom of the tiles; world units are extent · 2^maxzoom across the world
 */
export function prepareGrid(
  geometry: Polygon | MultiPolygon,
  grid: Pick<IndexedGrid, 'code' | 'level' | 'id' | 'properties'>,
  options: { maxzoom: number; extent: number },
): IndexedGrid {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  const scale = options.extent * 2 ** options.maxzoom;
  let vertices = 0;
  let ringCount = 0;
  for (const polygon of polygons) {
    for (const ring of polygon) {
      if (ring.length === 0) continue;
      vertices += ring.length;
      ringCount++;
    }
  }
  const coords = new Float64Array(3 * vertices);
  const rings = new Array<number>(ringCount + 1);
  const ringSize = new Array<number>(ringCount);
  const deg = [Infinity, Infinity, -Infinity, -Infinity];
  const world = [Infinity, Infinity, -Infinity, -Infinity];
  // The tolerance at maxzoom in world units (geojson-vt: TOLERANCE tile units there).
  const tolerance = (TOLERANCE * scale) / (2 ** options.maxzoom * options.extent);
  let v = 0;
  let r = 0;
  for (const polygon of polygons) {
    for (let i = 0; i < polygon.length; i++) {
      const ring = polygon[i]!;
      if (ring.length === 0) continue;
      rings[r] = v;
      const first = v;
      let area = 0;
      let fx = 0;
      let fy = 0;
      let px = 0;
      let py = 0;
      for (let j = 0; j < ring.length; j++) {
        const lon = ring[j]![0]!;
        const lat = ring[j]![1]!;
        const x = Math.floor(mercatorX(lon) * scale + 0.5);
        const y = Math.floor(Math.min(1, Math.max(0, mercatorY(lat))) * scale + 0.5);
        // Relative to the ring's first vertex: products of world coordinates (2^30) would lose a small ring's area.
        if (j === 0) {
          fx = x;
          fy = y;
        } else {
          area += ((px - fx) * (y - fy) - (x - fx) * (py - fy)) / 2;
        }
        px = x;
        py = y;
        coords[3 * v] = x;
        coords[3 * v + 1] = y;
        coords[3 * v + 2] = 0;
        v++;
        if (lon < deg[0]!) deg[0] = lon;
        if (lat < deg[1]!) deg[1] = lat;
        if (lon > deg[2]!) deg[2] = lon;
        if (lat > deg[3]!) deg[3] = lat;
        if (x < world[0]!) world[0] = x;
        if (y < world[1]!) world[1] = y;
        if (x > world[2]!) world[2] = x;
        if (y > world[3]!) world[3] = y;
      }
      const outer = i === 0;
      if ((outer && area < 0) || (!outer && area >= 0)) {
        reverse(coords, first, v);
        area = -area;
      }
      const last = v - 1;
      coords[3 * first + 2] = KEEP;
      simplify(coords, 3 * first, 3 * last, tolerance * tolerance);
      coords[3 * last + 2] = KEEP;
      ringSize[r] = Math.sign(area) * Math.sqrt(Math.abs(area));
      r++;
    }
  }
  rings[ringCount] = v;
  return {
    ...grid,
    vertices,
    minX: deg[0]!,
    minY: deg[1]!,
    maxX: deg[2]!,
    maxY: deg[3]!,
    coords,
    rings,
    ringSize,
    wx0: world[0]!,
    wy0: world[1]!,
    wx1: world[2]!,
    wy1: world[3]!,
  };
}

/** Per level, each grid's larger bbox side as a fraction of the Web Mercator world. */
export function sizesByLevel(grids: Iterable<IndexedGrid>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const g of grids) {
    const size = Math.max(mercatorX(g.maxX) - mercatorX(g.minX), mercatorY(g.minY) - mercatorY(g.maxY));
    const list = out.get(g.level);
    if (list) list.push(size);
    else out.set(g.level, [size]);
  }
  return out;
}

/** The part of a grid between two meridians (world units), moved `offset` east; null when none. */
function clipGridX(grid: IndexedGrid, k1: number, k2: number, offset: number): IndexedGrid | null {
  if (grid.wx1 < k1 || grid.wx0 >= k2) return null;
  const parts: Float64Array[] = [];
  const sizes: number[] = [];
  for (let r = 0; r + 1 < grid.rings.length; r++) {
    const ring = clipRing(grid.coords.subarray(3 * grid.rings[r]!, 3 * grid.rings[r + 1]!), k1, k2, 0);
    if (ring.length === 0) continue;
    parts.push(ring);
    sizes.push(grid.ringSize[r]!);
  }
  if (parts.length === 0) return null;
  const coords = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  const rings = new Array<number>(parts.length + 1);
  const world = [Infinity, Infinity, -Infinity, -Infinity];
  let at = 0;
  for (const [i, part] of parts.entries()) {
    rings[i] = at / 3;
    for (let j = 0; j < part.length; j += 3, at += 3) {
      const x = part[j]! + offset;
      const y = part[j + 1]!;
      coords[at] = x;
      coords[at + 1] = y;
      coords[at + 2] = part[j + 2]!;
      world[0] = Math.min(world[0]!, x);
      world[1] = Math.min(world[1]!, y);
      world[2] = Math.max(world[2]!, x);
      world[3] = Math.max(world[3]!, y);
    }
  }
  rings[parts.length] = at / 3;
  return { ...grid, coords, rings, ringSize: sizes, wx0: world[0]!, wy0: world[1]!, wx1: world[2]!, wy1: world[3]! };
}

interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** One grid cut to a tile: rings clipped to the box, simplified, in tile units; rings left empty are dropped. */
function cutGrid(grid: IndexedGrid, k: Box, tolerance: number, shift: number, tx: number, ty: number): Int16Array[] {
  const out: Int16Array[] = [];
  if (grid.wx1 < k.x0 || grid.wx0 >= k.x1 || grid.wy1 < k.y0 || grid.wy0 >= k.y1) return out;
  const inside = grid.wx0 >= k.x0 && grid.wx1 < k.x1 && grid.wy0 >= k.y0 && grid.wy1 < k.y1;
  for (let r = 0; r + 1 < grid.rings.length; r++) {
    if (Math.abs(grid.ringSize[r]!) < tolerance) continue;
    let ring: Float64Array = grid.coords.subarray(3 * grid.rings[r]!, 3 * grid.rings[r + 1]!);
    if (!inside) {
      ring = clipRing(ring, k.x0, k.x1, 0, 0);
      if (ring.length > 0) ring = clipRing(ring, k.y0, k.y1, 1, 1);
      if (ring.length === 0) continue;
    }
    let kept = 0;
    for (let i = 2; i < ring.length; i += 3) if (tolerance === 0 || ring[i]! > tolerance) kept++;
    const tileRing = new Int16Array(2 * kept);
    let w = 0;
    for (let i = 0; i < ring.length; i += 3) {
      if (tolerance !== 0 && !(ring[i + 2]! > tolerance)) continue;
      tileRing[w++] = Math.round(ring[i]! / shift - tx);
      tileRing[w++] = Math.round(ring[i + 1]! / shift - ty);
    }
    out.push(tileRing);
  }
  return out;
}

/**
 * A closed ring clipped between two axis-parallel lines (k1 ≤ value ≤ k2), as geojson-vt's clipRing does
 * for polygons: crossing points are rounded to world units and always kept; the result is closed again.
 */
function clipRing(ring: Float64Array, k1: number, k2: number, axis: 0 | 1, scratch?: 0 | 1): Float64Array {
  const n = ring.length / 3;
  let min = Infinity;
  let max = -Infinity;
  for (let i = axis; i < ring.length; i += 3) {
    if (ring[i]! < min) min = ring[i]!;
    if (ring[i]! > max) max = ring[i]!;
  }
  if (min >= k1 && max < k2) return ring;
  if (max < k1 || min >= k2) return EMPTY;
  // Each segment adds at most two points, plus one to close. A tile's clipping reuses two buffers.
  const size = 3 * (2 * n + 1);
  let out: Float64Array;
  if (scratch === undefined) out = new Float64Array(size);
  else {
    if (scratches[scratch].length < size) scratches[scratch] = new Float64Array(2 * size);
    out = scratches[scratch];
  }
  let w = 0;
  const intersect = (ax: number, ay: number, bx: number, by: number, k: number) => {
    if (axis === 0) {
      out[w] = k;
      out[w + 1] = Math.floor(ay + (by - ay) * ((k - ax) / (bx - ax)) + 0.5);
    } else {
      out[w] = Math.floor(ax + (bx - ax) * ((k - ay) / (by - ay)) + 0.5);
      out[w + 1] = k;
    }
    out[w + 2] = KEEP;
    w += 3;
  };
  for (let i = 0; i < ring.length - 3; i += 3) {
    const ax = ring[i]!;
    const ay = ring[i + 1]!;
    const bx = ring[i + 3]!;
    const by = ring[i + 4]!;
    const a = axis === 0 ? ax : ay;
    const b = axis === 0 ? bx : by;
    if (a < k1) {
      if (b >= k1) intersect(ax, ay, bx, by, k1);
    } else if (a > k2) {
      if (b <= k2) intersect(ax, ay, bx, by, k2);
    } else {
      out[w] = ax;
      out[w + 1] = ay;
      out[w + 2] = ring[i + 2]!;
      w += 3;
    }
    if (b < k1 && a >= k1) intersect(ax, ay, bx, by, k1);
    if (b > k2 && a <= k2) intersect(ax, ay, bx, by, k2);
  }
  const last = ring.length - 3;
  const a = ring[last + axis]!;
  if (a >= k1 && a <= k2) {
    out[w] = ring[last]!;
    out[w + 1] = ring[last + 1]!;
    out[w + 2] = ring[last + 2]!;
    w += 3;
  }
  if (w >= 6 && (out[w - 3] !== out[0] || out[w - 2] !== out[1])) {
    out[w] = out[0]!;
    out[w + 1] = out[1]!;
    out[w + 2] = out[2]!;
    w += 3;
  }
  return out.subarray(0, w);
}

const EMPTY = new Float64Array(0);
/** Clipping buffers for the x and the y pass of `cutGrid`, whose results are read before the next ring. */
const scratches: [Float64Array, Float64Array] = [new Float64Array(3072), new Float64Array(3072)];

function reverse(coords: Float64Array, first: number, end: number): void {
  for (let i = first, j = end - 1; i < j; i++, j--) {
    for (let c = 0; c < 3; c++) {
      const t = coords[3 * i + c]!;
      coords[3 * i + c] = coords[3 * j + c]!;
      coords[3 * j + c] = t;
    }
  }
}

/**
 * Douglas–Peucker weights (geojson-vt's simplify.js): each vertex gets the distance at which it stops
 * mattering, so a tile at any zoom keeps the vertices heavier than its tolerance.
 */
function simplify(coords: Float64Array, first: number, last: number, sqTolerance: number): void {
  let maxSqDist = sqTolerance;
  const mid = first + ((last - first) >> 1);
  let minPosToMid = last - first;
  let index = -1;
  const ax = coords[first]!;
  const ay = coords[first + 1]!;
  const bx = coords[last]!;
  const by = coords[last + 1]!;
  for (let i = first + 3; i < last; i += 3) {
    const d = sqSegDist(coords[i]!, coords[i + 1]!, ax, ay, bx, by);
    if (d > maxSqDist) {
      index = i;
      maxSqDist = d;
    } else if (d === maxSqDist) {
      // A pivot near the middle for degenerate input keeps the recursion shallow (geojson-vt #104).
      const posToMid = Math.abs(i - mid);
      if (posToMid < minPosToMid) {
        index = i;
        minPosToMid = posToMid;
      }
    }
  }
  if (maxSqDist > sqTolerance && index >= 0) {
    if (index - first > 3) simplify(coords, first, index, sqTolerance);
    coords[index + 2] = Math.sqrt(maxSqDist);
    if (last - index > 3) simplify(coords, index, last, sqTolerance);
  }
}

function sqSegDist(px: number, py: number, x: number, y: number, bx: number, by: number): number {
  let dx = bx - x;
  let dy = by - y;
  if (dx !== 0 || dy !== 0) {
    const t = ((px - x) * dx + (py - y) * dy) / (dx * dx + dy * dy);
    if (t > 1) {
      x = bx;
      y = by;
    } else if (t > 0) {
      x += dx * t;
      y += dy * t;
    }
  }
  dx = px - x;
  dy = py - y;
  return dx * dx + dy * dy;
}
