import { addressFeature, addressRecords } from './addresses';
import { bankSystems } from './banks';
import { injectDefects } from './defects';
import { createDistrict } from './district';
import { fireSystem } from './fire';
import { divideDistrict, governanceSystem } from './governance';
import { healthSystem, planHealth } from './health';
import { createOutliner } from './outline';
import type { DemoCity, DemoCityStream, GenerateCityOptions } from './types';

export type * from './types';
export { addressFeature } from './addresses';
export { addressJson, featureCollectionText } from './serialise';

/** Fewer grids leave communities too small to cut into fire blocks; defects need room to keep apart. */
const MIN_GRIDS = 20;
const MIN_GRIDS_WITH_DEFECTS = 100;
const MAX_GRIDS = 1_000_000;

/**
 * A demo city: the governance grids of one district (DB11/T 2157 codes), fire, health and three banks'
 * grid systems over the same ground, addresses and bank outlets. Every grid of every system is a union
 * of cells of one jittered lattice, so each level partitions its parent exactly, with shared vertices.
 * The same options always give byte-identical output.
 *
 * @param options.seed any integer; default 1
 * @param options.grids governance grids at the finest level, 20–1 000 000; default 400
 * @param options.defects inject the defects listed in `defects` into the governance grids
 * @returns the city; `defects` is empty unless asked for
 * @throws RangeError when an option is out of range
 * @example generateCity({ seed: 1, grids: 400, defects: true }).defects.map((d) => d.kind)
 */
export function generateCity(options: GenerateCityOptions = {}): DemoCity {
  const { addressRecords: records, ...city } = generateCityStream(options);
  const features = [];
  for (const record of records()) features.push(addressFeature(record));
  return { ...city, addresses: { type: 'FeatureCollection', features } };
}

/** The same city with its addresses as a generator of records: at 100 000 grids there are 12.5 million of them. */
export function generateCityStream(options: GenerateCityOptions = {}): DemoCityStream {
  const { seed = 1, grids = 400, defects = false } = options;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const min = defects ? MIN_GRIDS_WITH_DEFECTS : MIN_GRIDS;
  if (!Number.isInteger(grids) || grids < min || grids > MAX_GRIDS) {
    throw new RangeError(`grids must be an integer from ${min} to ${MAX_GRIDS}${defects ? ' with defects' : ''}, got ${grids}`);
  }
  const district = createDistrict(seed, grids);
  const { lattice } = district;
  const outline = createOutliner(lattice);
  const admin = divideDistrict(seed, district, outline);
  const health = planHealth(seed, district);
  const { households, population } = health;
  const clean = governanceSystem(seed, lattice, admin, households, population);
  const governance = defects ? injectDefects(seed, lattice, admin, clean) : { system: clean, defects: [] };
  const banks = bankSystems(seed, lattice, admin, households, population, outline);
  return {
    seed,
    systems: [governance.system, fireSystem(seed, lattice, admin, households, population, outline), healthSystem(seed, health, outline), ...banks.systems],
    outlets: { type: 'FeatureCollection', features: banks.outlets },
    defects: governance.defects,
    addressRecords: () => addressRecords(seed, lattice, admin, households, population),
  };
}
