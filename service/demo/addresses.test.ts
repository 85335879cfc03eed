import { booleanPointInPolygon } from '@turf/turf';
import { describe, expect, it } from 'vitest';
import { addressFeature } from './addresses';
import { generateCity, generateCityStream } from './index';
import { addressJson, featureCollectionText } from './serialise';

const city = generateCity();
const grids = new Map(city.systems[0].grids.features.filter((f) => f.properties.level === 'grid').map((f) => [f.properties.code, f]));
const addresses = city.addresses.features;

describe('addresses', () => {
  it('lie strictly inside the governance grid they name', () => {
    for (const a of addresses) {
      const grid = grids.get(a.properties.grid)!;
      expect(booleanPointInPolygon(a.geometry.coordinates, grid.geometry, { ignoreBoundary: true }), a.properties.external_id).toBe(true);
    }
  });

  it("add up to each grid's households and population", () => {
    const sums = new Map<string, { households: number; population: number; count: number }>();
    for (const { properties: p } of addresses) {
      const s = sums.get(p.grid) ?? { households: 0, population: 0, count: 0 };
      sums.set(p.grid, { households: s.households + p.households, population: s.population + p.population, count: s.count + 1 });
      if (p.kind === 'residential') expect(p.population).toBeGreaterThanOrEqual(p.households);
      else expect([p.households, p.population]).toEqual([0, 0]);
    }
    expect(sums.size).toBe(grids.size);
    for (const [code, grid] of grids) {
      const s = sums.get(code)!;
      expect({ code, households: s.households, population: s.population }).toEqual({ code, households: grid.properties.households, population: grid.properties.population });
      expect(s.count).toBeGreaterThanOrEqual(100);
      expect(s.count).toBeLessThanOrEqual(150);
    }
  });

  it('have stable unique ids, door numbers on named roads, and about 95 % residential', () => {
    expect(new Set(addresses.map((a) => a.properties.external_id)).size).toBe(addresses.length);
    expect(new Set(addresses.map((a) => `${a.properties.door} ${a.properties.building}`)).size).toBe(addresses.length);
    for (const { properties: p } of addresses.slice(0, 2000)) {
      expect(p.door).toMatch(new RegExp(`^${p.street}\\d+号$`));
      expect(p.street).toMatch(/^\p{Script=Han}{2,3}(路|街|大道)$/u);
      expect(p.building).toMatch(/^\d+栋$/);
    }
    const residential = addresses.filter((a) => a.properties.kind === 'residential').length / addresses.length;
    expect(residential).toBeGreaterThan(0.93);
    expect(residential).toBeLessThan(0.97);
  });

  it('stream as records that become the features generateCity returns, or their exact JSON text', () => {
    let k = 0;
    for (const record of generateCityStream().addressRecords()) {
      expect(addressFeature(record)).toEqual(addresses[k]);
      expect(addressJson(record)).toBe(JSON.stringify(addresses[k]));
      k++;
    }
    expect(k).toBe(addresses.length);
  });

  it('write a FeatureCollection one feature per line', () => {
    const text = [...featureCollectionText(addresses.slice(0, 3), (f) => JSON.stringify(f), { note: 'x' })].join('');
    expect(JSON.parse(text)).toEqual({ type: 'FeatureCollection', note: 'x', features: addresses.slice(0, 3) });
    expect(text.split('\n')).toHaveLength(6);
  });
});

describe('outlets', () => {
  it('belong to the bank systems and are outlets or ATMs', () => {
    const banks = new Set(city.systems.filter((s) => s.system.kind === 'bank').map((s) => s.system.key));
    expect(banks.size).toBe(3);
    for (const o of city.outlets.features) {
      expect(banks.has(o.properties.bank)).toBe(true);
      expect(['outlet', 'atm']).toContain(o.properties.kind);
    }
    expect(city.outlets.features.filter((o) => o.properties.kind === 'outlet').length).toBeGreaterThanOrEqual(9);
  });
});
