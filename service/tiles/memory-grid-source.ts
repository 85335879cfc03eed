import type { MultiPolygon, Polygon } from 'geojson';
import type { ChangeEvent } from '../db/changes';
import { GridIndex, prepareGrid, sizesByLevel, type IndexedGrid } from './grid-index';
import type { GridTileQueries, GridTileRow, TileSystem } from './grid-store';
import { GRID_MAXZOOM, gridLayerName, gridSourceId, gridSourceInfo } from './grid-source';
import { levelMinzooms, median } from './levels';
import { encodeTile, type MvtLayer, type MvtPolygon } from './mvt';
import { TILE_BUFFER, TILE_EXTENT, type GridSourceInfo, type Staleness, type TileSource } from './source';
import type { TileCoord } from './tile-math';

/**
 * A grid system's tiles cut in memory (grid-index.ts, geojson-vt's projection, simplification and
 * clipping) and encoded by mvt.ts. Faster per tile than one ST_AsMVT query on the PostGIS server at
 * every zoom, first request included (bench-tiles.ts), and the only encoder the embedded PostGIS has; so
 * every grid system uses it unless it is too large for memory (grid-provider.ts). mvt.ts encodes flat
 * rings directly, about twice as fast as vt-pbf, which builds an object per vertex.
 */
export class MemoryGridSource implements TileSource {
  readonly id: string;
  readonly maxzoom = GRID_MAXZOOM;
  private index: GridIndex | null = null;
  private minzoom: Map<string, number> = new Map();
  /** Loads and reloads, one after the other; tiles are cut only when it has settled. Never rejects. */
  private work: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    readonly system: TileSystem,
    private readonly queries: GridTileQueries,
  ) {
    this.id = gridSourceId(system.key);
  }

  async info(): Promise<GridSourceInfo> {
    const index = await this.current();
    return gridSourceInfo(this.system, index.bounds(), this.minzoom);
  }

  async getTile(tile: TileCoord): Promise<Uint8Array | null> {
    const features = (await this.current()).tile(tile);
    if (features.length === 0) return null;
    const byLevel = new Map<string, MvtPolygon[]>(this.system.levels.map((l) => [l.key, []]));
    for (const f of features) byLevel.get(f.level)?.push(f.polygon);
    const layers: MvtLayer[] = [...byLevel].map(([level, list]) => ({ name: gridLayerName(this.system.key, level), extent: TILE_EXTENT, features: list }));
    return encodeTile(layers);
  }

  onChange(event: ChangeEvent): Staleness {
    if (event.system !== this.system.key) return null;
    // A redefined or deleted system gets a new source or none (grid-provider.ts); this one's tiles all go.
    if (event.kind === 'system') return 'all';
    if (event.kind !== 'grids') return null;
    const codes = event.codes;
    this.enqueue(async () => {
      if (!this.index) return;
      if (codes.length === 0) {
        this.index = null;
        return;
      }
      const rows = await this.queries.grids(this.system.id, codes);
      this.index.update(rows.map(toIndexed), codes);
    });
    return event.bbox ?? 'all';
  }

  /** The index once every load and reload scheduled so far is done; loads it when needed. */
  private async current(): Promise<GridIndex> {
    for (let attempt = 0; ; attempt++) {
      const work = this.work;
      await work;
      if (work !== this.work) continue;
      if (this.index) return this.index;
      if (attempt > 0 && this.failure) throw this.failure;
      this.enqueue(() => this.loadAll());
    }
  }

  private enqueue(step: () => Promise<void>): void {
    this.failure = null;
    this.work = this.work.then(step).catch((err: unknown) => {
      // A failed load or reload leaves the index unknown: the next request loads it whole again.
      this.index = null;
      this.failure = err;
    });
  }

  private async loadAll(): Promise<void> {
    const grids = (await this.queries.grids(this.system.id)).map(toIndexed);
    // Level zooms are set from the whole system once per load, so a single edit never moves a level
    // to another zoom (which would make every tile of the system stale).
    const medians = new Map([...sizesByLevel(grids)].map(([level, sizes]) => [level, median(sizes)!]));
    this.minzoom = levelMinzooms(this.system.levels, medians, GRID_MAXZOOM);
    const index = new GridIndex({ maxzoom: GRID_MAXZOOM, extent: TILE_EXTENT, buffer: TILE_BUFFER });
    index.load(grids, this.minzoom);
    this.index = index;
  }
}

function toIndexed(row: GridTileRow): IndexedGrid {
  const geometry = JSON.parse(row.geojson) as Polygon | MultiPolygon;
  return prepareGrid(
    geometry,
    {
      code: row.code,
      level: row.level,
      id: row.id,
      properties: { code: row.code, name: row.name, level: row.level, parent: row.parent, type: row.type, households: row.households, population: row.population },
    },
    { maxzoom: GRID_MAXZOOM, extent: TILE_EXTENT },
  );
}
