import type { Database } from '../db/engine';
import { createGridTileQueries, type TileSystem } from './grid-store';
import { gridSourceId } from './grid-source';
import { MemoryGridSource } from './memory-grid-source';
import { PostgisGridSource } from './postgis-grid-source';
import type { TileSourceProvider } from './source';

export interface GridProviderOptions {
  /**
   * Above this many vertices a system's tiles are made by ST_AsMVT, where the PostGIS server has it.
   * Below it, memory is faster per tile (bench-tiles.ts) and costs about 0.2 KB per vertex held.
   */
  memoryVertexLimit: number;
}

/** One tile source per grid system, rediscovered whenever a system is created, changed or deleted. */
export function gridSourceProvider(db: Database, options: GridProviderOptions): TileSourceProvider {
  const queries = createGridTileQueries(db.knex);
  const unchanged = (source: { system: TileSystem }, system: TileSystem) => source.system.id === system.id && source.system.version === system.version;
  return {
    rediscoverOn: (event) => event.kind === 'system',
    async discover(current) {
      return (await queries.systems()).map((system) => {
        const existing = current.get(gridSourceId(system.key));
        if (db.capabilities.asMvt && system.vertices > options.memoryVertexLimit) {
          return existing instanceof PostgisGridSource && unchanged(existing, system) ? existing : new PostgisGridSource(system, db.knex);
        }
        return existing instanceof MemoryGridSource && unchanged(existing, system) ? existing : new MemoryGridSource(system, queries);
      });
    },
  };
}
