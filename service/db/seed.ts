import type { Services } from '../app';
import { generateCity, type DemoCity } from '../demo/index';
import type { Database } from './engine';

export interface SeedResult {
  systems: number;
  grids: number;
  ms: number;
}

/** Loads a generated city through the same import path as users' files, one system at a time. */
export async function loadCity(services: Pick<Services, 'systems' | 'grids'>, city: DemoCity): Promise<SeedResult> {
  const started = performance.now();
  const { systems, grids } = services;
  let count = 0;
  for (const { system, grids: fc } of city.systems) {
    await systems.create(system);
    const result = await grids.import(system.key, fc.features, { mode: 'append', repair: false });
    count += result.inserted;
  }
  return { systems: city.systems.length, grids: count, ms: Math.round(performance.now() - started) };
}

/** An empty database gets the demo city on first start (issue #2), so the map has something to show. */
export async function loadDemoCityIfEmpty(db: Database, services: Pick<Services, 'systems' | 'grids'>): Promise<SeedResult | null> {
  const row = await db.knex('grid_systems').count({ n: '*' }).first();
  if (Number(row?.n ?? 0) > 0) return null;
  return loadCity(services, generateCity({ seed: 1 }));
}
