import type { Router } from '@koa/router';
import type { Config } from '../config';
import type { ChangeBus } from '../db/changes';
import type { Database } from '../db/engine';
import type { Logger } from '../logger';
import { incidentSourceProvider } from '../incidents';
import { addressSourceProvider } from './address-provider';
import { gridSourceProvider, type GridProviderOptions } from './grid-provider';
import { problemsSourceProvider } from './problems-provider';
import { tilesRouter } from './router';
import { TileService } from './service';

/**
 * Defaults from bench-tiles.ts on the 2-core machine: a system held in memory costs about 0.2 KB of heap
 * per vertex (128 MB for the 110,907 grids, 730,787 vertices of the 100,000-grid city), so ST_AsMVT on
 * the server takes over above 20 million vertices (about 4 GB); a system's shard indexes hold at most
 * 2 million vertices besides.
 */
export const GRID_PROVIDER_DEFAULTS: GridProviderOptions = { memoryVertexLimit: 20_000_000, shardVertexBudget: 2_000_000 };

/** The tile service of the app, listening to changes from now on, and its routes. */
export function createTiles(deps: { config: Config; db: Database; changes: ChangeBus; logger: Logger }): { service: TileService; router: Router } {
  const providers = [gridSourceProvider(deps.db, GRID_PROVIDER_DEFAULTS), problemsSourceProvider(deps.db), addressSourceProvider(deps.db), incidentSourceProvider(deps.db)];
  const service = new TileService(providers, deps.logger, deps.config.tileCacheBytes);
  service.start(deps.changes);
  return { service, router: tilesRouter(service, { basemapUrl: deps.config.basemapUrl }) };
}
