import type { Services } from '../app';
import { generateCity, type DemoCity } from './index';
import { incidentHistory } from './incidents';
import type { SourceRecord } from '../addresses';

export interface SeedResult {
  systems: number;
  grids: number;
  addresses: number;
  ms: number;
}

/** Loads a generated city through the same import paths as users' files: systems, grids, then addresses. */
export async function loadCity(services: Pick<Services, 'systems' | 'grids' | 'addresses'>, city: DemoCity): Promise<SeedResult> {
  const started = performance.now();
  const { systems, grids, addresses } = services;
  let count = 0;
  for (const { system, grids: fc } of city.systems) {
    await systems.create(system);
    const result = await grids.import(system.key, fc.features, { mode: 'append', repair: false });
    count += result.inserted;
  }
  const loaded = await addresses.import(demoAddressRecords(city), { crs: 'EPSG:4326', atomic: true, nearestM: 200 });
  return { systems: city.systems.length, grids: count, addresses: loaded.inserted + loaded.updated + loaded.unchanged, ms: Math.round(performance.now() - started) };
}

/** The demo addresses as import records; `grid` (the generator's own answer) is left out of the register. */
async function* demoAddressRecords(city: DemoCity): AsyncGenerator<SourceRecord> {
  let index = 0;
  for (const { properties, geometry } of city.addresses.features) {
    const { grid: _grid, ...values } = properties;
    index++;
    yield { row: index, label: `demo address ${index}`, values, geometry };
  }
}

/**
 * An empty database gets the demo city on first start (issue #2), so the map has something to show.
 * @param generated - the city when it is being generated elsewhere already (main.ts: on a worker thread)
 */
export async function loadDemoCityIfEmpty(
  services: Pick<Services, 'systems' | 'grids' | 'addresses' | 'incidents' | 'open311' | 'storedOverlays'>,
  generated?: Promise<DemoCity>,
): Promise<SeedResult | null> {
  if ((await services.systems.list()).length > 0) return null;
  const city = generated ? await generated : generateCity({ seed: 1 });
  const result = await loadCity(services, city);
  await loadDemoIncidents(services.incidents, city);
  // The demo start, and only it, gets the well-known Open311 key "demo" (issue #12).
  await services.open311.issueKey('demo', { key: 'demo' });
  // The banks' overlay over the district, stored so the map's overlay faces show on first start (issue #13).
  const district = city.systems.find((s) => s.system.key === 'governance')!.grids.features.find((f) => f.properties.parent === null)!.properties.code;
  const banks = city.systems.filter((s) => s.system.kind === 'bank').map((s) => ({ key: s.system.key }));
  await services.storedOverlays.create({ territory: { system: 'governance', code: district }, systems: banks }, 'all');
  return result;
}

/** A year of incident history up to now over the demo city (issue #11), then a scan for today's cards. */
export async function loadDemoIncidents(incidents: Services['incidents'], city: DemoCity): Promise<{ cases: number; log: number }> {
  const points = city.addresses.features.map((f) => f.geometry.coordinates as [number, number]);
  const grids = city.systems[0]!.grids.features.filter((f) => f.properties.level === 'grid').length;
  const history = incidentHistory(city.seed, points, grids, incidents.classification.doc, incidents.calendar, incidents.now());
  const loaded = await incidents.importHistory(history);
  await incidents.scanOverdue();
  return loaded;
}
