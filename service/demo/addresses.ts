import type { Feature, Point } from 'geojson';
import type { Administration } from './governance';
import { cellPoint, type Lattice } from './lattice';
import { roadNames } from './names';
import { apportion, createRandom, deriveSeed, randomInt } from './random';
import type { AddressProperties, AddressRecord } from './types';

/** 100–150 addresses per grid, about 50 000 for 400 grids. */
const ADDRESSES_PER_GRID = { min: 100, max: 150 };
/** Share of each kind; the rest are public buildings. */
const KINDS: [AddressProperties['kind'], number][] = [
  ['residential', 0.95],
  ['business', 0.03],
  ['organisation', 0.01],
  ['public', 0.01],
];
/** Addresses keep this fraction of a cell away from its sides, i.e. 12 m or more: strictly inside their grid. */
const MARGIN = 0.08;
/** Door numbers per cell side and road side (odd on one side of a road, even on the other). */
const DOORS_PER_SIDE = 6;

/**
 * The addresses of every governance grid (门牌 + 栋), drawn grid by grid from a stream of their own.
 * Each lies strictly inside its grid; the households of a grid's residential addresses sum to the grid's
 * households (at least one each), their population likewise (at least one person per household).
 * Business, organisation and public addresses hold no households. Each address takes its door number
 * from the nearest lattice line, which stands for a road: lines running east–west are 路, north–south
 * ones 街; addresses at one door are its buildings (栋).
 */
export function* addressRecords(seed: number, lattice: Lattice, admin: Administration, households: Int32Array, population: Int32Array): Generator<AddressRecord> {
  const eastWest = roadNames(createRandom(deriveSeed(seed, 'roads-east-west')), lattice.rows + 1, '路');
  const northSouth = roadNames(createRandom(deriveSeed(seed, 'roads-north-south')), lattice.columns + 1, '街');
  const doors = new Int32Array(4 * DOORS_PER_SIDE);
  const record: AddressRecord = { grid: '', index: 0, kind: 'residential', street: '', door: 0, building: 0, households: 0, population: 0, lon: 0, lat: 0 };
  for (const grid of admin.grids) {
    const random = createRandom(deriveSeed(seed, 'addresses', grid.code));
    const i = grid.cell % lattice.columns;
    const j = Math.floor(grid.cell / lattice.columns);
    const count = randomInt(random, ADDRESSES_PER_GRID.min, ADDRESSES_PER_GRID.max);
    const kinds: AddressProperties['kind'][] = [];
    const weights: number[] = [];
    for (let a = 0; a < count; a++) {
      kinds.push(kindOf(random()));
      if (kinds[a] === 'residential') weights.push(0.3 + random());
    }
    if (weights.length === 0) {
      kinds[0] = 'residential';
      weights.push(1);
    }
    const homes = apportion(households[grid.cell], weights, 1);
    const people = apportion(population[grid.cell] - households[grid.cell], homes);
    doors.fill(0);
    record.grid = grid.code;
    let r = 0;
    for (let a = 0; a < count; a++) {
      const u = MARGIN + (1 - 2 * MARGIN) * random();
      const v = MARGIN + (1 - 2 * MARGIN) * random();
      // The nearest side names the road: 0 north, 1 south, 2 west, 3 east of the cell.
      const side = v <= Math.min(1 - v, u, 1 - u) ? 0 : 1 - v <= Math.min(u, 1 - u) ? 1 : u <= 1 - u ? 2 : 3;
      const slot = Math.floor((side < 2 ? u : v) * DOORS_PER_SIDE);
      const [lon, lat] = cellPoint(lattice, grid.cell, u, v);
      record.index = a + 1;
      record.kind = kinds[a];
      record.street = side === 0 ? eastWest[j] : side === 1 ? eastWest[j + 1] : side === 2 ? northSouth[i] : northSouth[i + 1];
      // Odd numbers on the north and west sides of a road, even on the south and east: unique across grids.
      record.door = 2 * ((side < 2 ? i : j) * DOORS_PER_SIDE + slot) + (side === 1 || side === 3 ? 1 : 2);
      record.building = ++doors[side * DOORS_PER_SIDE + slot];
      record.households = kinds[a] === 'residential' ? homes[r] : 0;
      record.population = kinds[a] === 'residential' ? homes[r] + people[r++] : 0;
      record.lon = lon;
      record.lat = lat;
      yield record;
    }
  }
}

/** The GeoJSON feature of an address record. */
export function addressFeature(record: AddressRecord): Feature<Point, AddressProperties> {
  return {
    type: 'Feature',
    properties: {
      external_id: externalId(record),
      kind: record.kind,
      door: `${record.street}${record.door}号`,
      street: record.street,
      building: `${record.building}栋`,
      households: record.households,
      population: record.population,
      grid: record.grid,
    },
    geometry: { type: 'Point', coordinates: [record.lon, record.lat] },
  };
}

/** Stable across runs with the same seed: the grid code and the address's sequence in it. */
export function externalId(record: AddressRecord): string {
  return `${record.grid}-${record.index < 10 ? '00' : record.index < 100 ? '0' : ''}${record.index}`;
}

function kindOf(r: number): AddressProperties['kind'] {
  for (const [kind, share] of KINDS) {
    if (r < share) return kind;
    r -= share;
  }
  return 'public';
}
