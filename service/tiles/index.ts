import type { Config } from '../config';
import type { ChangeBus } from '../db/changes';
import type { Database } from '../db/engine';
import type { Logger } from '../logger';
import { addressSourceProvider } from './address-provider';
import { gridSourceProvider, type GridProviderOptions } from './grid-provider';
import { problemsSourceProvider } from './problems-provider';
import type { RouteDef } from '../http/route';
import { tileRoutes } from './routes';
import { TileService } from './service';
import type { TileSourceProvider } from './source';

/**
 * Defaults from bench-tiles.ts on the 2-core machine: a system held in memory costs about 0.2 KB of heap
 * per vertex (128 MB for the 110,907 grids, 730,787 vertices of the 100,000-grid city), so ST_AsMVT on
 * the server takes over above 20 million vertices (about 4 GB); a system's shard indexes hold at most
 * 2 million vertices besides.
 */
export const GRID_PROVIDER_DEFAULTS: GridProviderOptions = { memoryVertexLimit: 20_000_000 };

/** The tile service of the app, listening to changes from now on, and its routes. */
/** `extra` are the tile layers of other features (e.g. incidents), handed in by the composition root. */
export function createTiles(deps: { config: Config; db: Database; changes: ChangeBus; logger: Logger }, extra: TileSourceProvider[] = []): { service: TileService; routes: RouteDef[] } {
  const providers = [gridSourceProvider(deps.db, GRID_PROVIDER_DEFAULTS), problemsSourceProvider(deps.db), addressSourceProvider(deps.db), ...extra];
  const service = new TileService(providers, deps.logger, deps.config.tileCacheBytes);
  service.start(deps.changes);
  return { service, routes: tileRoutes(service, { basemapUrl: deps.config.basemapUrl }) };
}
export { labelPoint } from './label-point';
// For other features' tile layers (e.g. incidents): the source contract, the encoder and tile maths.
export { encodeTile, type MvtPoint, type MvtPolygon } from './mvt';
export { toMvt as mvtFromGeojsonVt } from './problems-source';
export { GRID_MAXZOOM } from './grid-source';
export { TILE_BUFFER, TILE_EXTENT, type DiffSourceInfo, type FieldType, type IncidentSourceInfo, type OverlaySourceInfo, type Staleness, type TileSource, type TileSourceProvider } from './source';
export { mercatorX, mercatorY, tileBounds, type LonLatBbox, type TileCoord } from './tile-math';
