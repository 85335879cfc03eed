import GeoJSONVT, { type RawFeature } from 'geojson-vt';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import RBush from 'rbush';
import { clipToBox } from './clip';
import type { MvtValue } from './mvt';
import { ancestor, mercatorX, mercatorY, tileBounds, type LonLatBbox, type TileCoord } from './tile-math';

/** A grid held for tiling: its GeoJSON (properties are the tile properties) and its bbox for the R-tree. */
export interface IndexedGrid {
  code: string;
  level: string;
  feature: Feature<Polygon | MultiPolygon, Record<string, MvtValue>>;
  vertices: number;
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export interface GridIndexOptions {
  maxzoom: number;
  extent: number;
  /** Tile buffer in tile units (of `extent`). */
  buffer: number;
  /** Vertices all shard indexes may hold together before the least recently used are dropped. */
  shardVertexBudget: number;
}

/**
 * A tile at zoom z is cut from a geojson-vt index of the grids around its ancestor SHARD_DEPTH zooms up:
 * a shard serves the 16×16 tiles below it, so geojson-vt's drill-down work is shared, while an edit
 * only drops the few shards it touches (rebuilding one costs milliseconds, re-indexing 100,000 grids
 * hundreds), and memory stays bounded, which geojson-vt's own cache of every tile it ever cut is not.
 */
const SHARD_DEPTH = 4;

interface Shard {
  area: LonLatBbox;
  index: GeoJSONVT;
  vertices: number;
}

/**
 * Grids of one system in memory, cut into tiles on demand. geojson-vt treats every feature on its own,
 * so a tile cut from a shard's subset of the grids equals the one cut from all of them.
 */
export class GridIndex {
  private readonly grids = new Map<string, IndexedGrid>();
  private readonly tree = new RBush<IndexedGrid>();
  private readonly shards = new Map<string, Shard>();
  private shardVertices = 0;
  private minzoom: ReadonlyMap<string, number> = new Map();

  constructor(private readonly options: GridIndexOptions) {}

  get size(): number {
    return this.grids.size;
  }

  /** Replaces everything: the grids and the zoom from which each level is put in tiles. */
  load(grids: IndexedGrid[], minzoom: ReadonlyMap<string, number>): void {
    this.grids.clear();
    this.tree.clear();
    for (const g of grids) this.grids.set(g.code, g);
    this.tree.load(grids);
    this.minzoom = minzoom;
    this.dropShards(() => true);
  }

  /**
   * Writes grids over those with the same code and deletes the `removed` codes; drops the shards that
   * saw the old or the new geometry.
   */
  update(grids: IndexedGrid[], removed: Iterable<string>): void {
    const touched: LonLatBbox[] = [];
    const take = (code: string) => {
      const old = this.grids.get(code);
      if (!old) return;
      this.tree.remove(old);
      this.grids.delete(code);
      touched.push([old.minX, old.minY, old.maxX, old.maxY]);
    };
    for (const code of removed) take(code);
    for (const g of grids) {
      take(g.code);
      this.grids.set(g.code, g);
      this.tree.insert(g);
      touched.push([g.minX, g.minY, g.maxX, g.maxY]);
    }
    this.dropShards((area) => touched.some((b) => b[0] <= area[2] && b[2] >= area[0] && b[1] <= area[3] && b[3] >= area[1]));
  }

  /** The tile's grids in tile units, levels below their minzoom left out; empty when none. */
  tile(tile: TileCoord): readonly RawFeature[] {
    const shard = this.shard(tile);
    return shard?.index.getTileRaw(tile.z, tile.x, tile.y)?.features ?? [];
  }

  bounds(): LonLatBbox | null {
    if (this.grids.size === 0) return null;
    const b: LonLatBbox = [Infinity, Infinity, -Infinity, -Infinity];
    for (const g of this.grids.values()) {
      b[0] = Math.min(b[0], g.minX);
      b[1] = Math.min(b[1], g.minY);
      b[2] = Math.max(b[2], g.maxX);
      b[3] = Math.max(b[3], g.maxY);
    }
    return b;
  }

  private shard(tile: TileCoord): Shard | null {
    const top = ancestor(tile, Math.max(0, tile.z - SHARD_DEPTH));
    const key = `${tile.z}:${top.z}/${top.x}/${top.y}`;
    const cached = this.shards.get(key);
    if (cached) {
      this.shards.delete(key);
      this.shards.set(key, cached);
      return cached;
    }
    const { maxzoom, extent, buffer } = this.options;
    // The tiles' buffer, measured in widths of the shard's top tile.
    const area = tileBounds(top, buffer / extent / 2 ** (tile.z - top.z));
    const grids = this.tree.search({ minX: area[0], minY: area[1], maxX: area[2], maxY: area[3] }).filter((g) => (this.minzoom.get(g.level) ?? 0) <= tile.z);
    if (grids.length === 0) return null;
    // Grids reaching beyond the shard (a district around many shards) are cut to it first: geojson-vt
    // would otherwise carry all their vertices down every zoom of the drill.
    const features = grids.flatMap((g) => {
      if (g.minX >= area[0] && g.maxX <= area[2] && g.minY >= area[1] && g.maxY <= area[3]) return [g.feature];
      const geometry = clipToBox(g.feature.geometry, area);
      return geometry ? [{ ...g.feature, geometry }] : [];
    });
    const index = new GeoJSONVT(
      { type: 'FeatureCollection', features },
      { maxZoom: maxzoom, indexMaxZoom: 0, extent, buffer },
    );
    const shard = { area, index, vertices: grids.reduce((n, g) => n + g.vertices, 0) };
    this.shards.set(key, shard);
    this.shardVertices += shard.vertices;
    for (const [oldKey, old] of this.shards) {
      if (this.shardVertices <= this.options.shardVertexBudget || old === shard) break;
      this.shards.delete(oldKey);
      this.shardVertices -= old.vertices;
    }
    return shard;
  }

  private dropShards(stale: (area: LonLatBbox) => boolean): void {
    for (const [key, shard] of this.shards) {
      if (!stale(shard.area)) continue;
      this.shards.delete(key);
      this.shardVertices -= shard.vertices;
    }
  }
}

/** A grid's bbox in degrees, from its GeoJSON coordinates. */
export function bboxOf(geometry: Polygon | MultiPolygon): { bbox: LonLatBbox; vertices: number } {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  const bbox: LonLatBbox = [Infinity, Infinity, -Infinity, -Infinity];
  let vertices = 0;
  for (const polygon of polygons) {
    for (const ring of polygon) {
      vertices += ring.length;
      for (const [x, y] of ring) {
        if (x! < bbox[0]) bbox[0] = x!;
        if (y! < bbox[1]) bbox[1] = y!;
        if (x! > bbox[2]) bbox[2] = x!;
        if (y! > bbox[3]) bbox[3] = y!;
      }
    }
  }
  return { bbox, vertices };
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
