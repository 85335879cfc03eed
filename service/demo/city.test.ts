import type { Feature, MultiPolygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { generateCity, type GridProperties } from './index';
import { vertexMean } from './test-checks';

const city = generateCity();
const governance = city.systems.find((s) => s.system.key === 'governance')!;
const atLevel = (level: string) => governance.grids.features.filter((f) => f.properties.level === level);
const grids = atLevel('grid');

describe('generateCity', () => {
  it('is deterministic: the same options give byte-identical output, another seed another city', () => {
    expect(JSON.stringify(generateCity())).toBe(JSON.stringify(city));
    expect(JSON.stringify(generateCity({ seed: 1, grids: 400, defects: true }))).toBe(JSON.stringify(generateCity({ seed: 1, grids: 400, defects: true })));
    expect(JSON.stringify(generateCity({ seed: 2 }).systems[0])).not.toBe(JSON.stringify(city.systems[0]));
  });

  it('generates the default city well within 2 s', () => {
    const started = performance.now();
    generateCity({ defects: true });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('rejects options out of range, naming the value', () => {
    expect(() => generateCity({ grids: 5 })).toThrow(/grids must be an integer from 20 .* got 5/);
    expect(() => generateCity({ grids: 50, defects: true })).toThrow(/from 100 .* with defects, got 50/);
    expect(() => generateCity({ seed: 1.5 })).toThrow(/seed must be an integer, got 1.5/);
  });

  it('has one district of about 6 streets, 40 communities and exactly 400 grids of 200–500 households', () => {
    expect(atLevel('district')).toHaveLength(1);
    expect(atLevel('district')[0].properties.name).toBe('青川区');
    expect(atLevel('street').length).toBeGreaterThanOrEqual(4);
    expect(atLevel('street').length).toBeLessThanOrEqual(8);
    expect(atLevel('community').length).toBeGreaterThanOrEqual(32);
    expect(atLevel('community').length).toBeLessThanOrEqual(48);
    expect(grids).toHaveLength(400);
    for (const g of grids) {
      expect(g.properties.households).toBeGreaterThanOrEqual(200);
      expect(g.properties.households).toBeLessThanOrEqual(500);
      expect(g.properties.population).toBeGreaterThan(g.properties.households);
    }
    expect(city.addresses.features.length).toBeGreaterThan(45_000);
    expect(city.addresses.features.length).toBeLessThan(55_000);
  });

  it('names places and people plausibly and carries every grid property', () => {
    expect(atLevel('street').every((f) => /^\p{Script=Han}{2,3}街道$/u.test(f.properties.name))).toBe(true);
    expect(atLevel('community').every((f) => /^\p{Script=Han}{2,3}社区$/u.test(f.properties.name))).toBe(true);
    for (const g of grids) {
      const community = governance.grids.features.find((f) => f.properties.code === g.properties.parent)!;
      expect(g.properties.name).toBe(`${community.properties.name}第${Number(g.properties.code.slice(-3))}网格`);
      expect(['楼院型', '街巷型', '单位型']).toContain(g.properties.type);
    }
    for (const system of city.systems) {
      for (const f of system.grids.features) {
        expect(Object.keys(f.properties)).toEqual(['code', 'name', 'level', 'parent', 'type', 'people', 'households', 'population', 'valid_from']);
        expect(f.properties.valid_from).toBe('2024-01-01');
        expect(f.properties.people[0].role).toBe('responsible');
        for (const p of f.properties.people) {
          expect(p.name).toMatch(/^\p{Script=Han}{2,3}$/u);
          expect(p.phone).toMatch(/^1[3-9]\d{9}$/);
          expect(['responsible', 'helper']).toContain(p.role);
        }
      }
    }
  });

  it('lists parents before children and sums households and population up the levels', () => {
    for (const system of city.systems) {
      const seen = new Map<string, GridProperties>();
      const sums = new Map<string, { households: number; population: number }>();
      for (const f of system.grids.features) {
        if (f.properties.parent !== null) {
          expect(seen.has(f.properties.parent)).toBe(true);
          const sum = sums.get(f.properties.parent) ?? { households: 0, population: 0 };
          sums.set(f.properties.parent, { households: sum.households + f.properties.households, population: sum.population + f.properties.population });
        }
        seen.set(f.properties.code, f.properties);
      }
      for (const [code, sum] of sums) expect({ code, ...sum }).toEqual({ code, households: seen.get(code)!.households, population: seen.get(code)!.population });
    }
  });
});

describe('governance codes (DB11/T 2157-2023)', () => {
  it('are 6 + 3 + 3 + 3 digits, each extending its parent, numbered 001… without holes', () => {
    const length = { district: 6, street: 9, community: 12, grid: 15 } as Record<string, number>;
    const children = new Map<string, string[]>();
    for (const f of governance.grids.features) {
      const { code, parent, level } = f.properties;
      expect(code).toMatch(/^\d+$/);
      expect(code).toHaveLength(length[level]);
      if (parent === null) continue;
      expect(code.startsWith(parent)).toBe(true);
      children.set(parent, [...(children.get(parent) ?? []), code]);
    }
    for (const [parent, codes] of children) expect(codes).toEqual(codes.map((_, k) => parent + String(k + 1).padStart(3, '0')));
    expect(governance.system.codeScheme.type).toBe('db11-2157');
  });

  it('number grids west→east, north→south inside each community', () => {
    const byCommunity = new Map<string, Feature<MultiPolygon, GridProperties>[]>();
    for (const g of grids) byCommunity.set(g.properties.parent!, [...(byCommunity.get(g.properties.parent!) ?? []), g]);
    const heights = grids.map((g) => {
      const lats = g.geometry.coordinates[0][0].map((p) => p[1]);
      return Math.max(...lats) - Math.min(...lats);
    });
    const tolerance = heights.sort((a, b) => a - b)[heights.length >> 1] / 2;
    for (const members of byCommunity.values()) {
      const byCode = members.map((g) => g.properties.code);
      // Rows: centroids within half a grid height of the row's northernmost one; rows north to south.
      const byLat = [...members].sort((a, b) => vertexMean(b.geometry)[1] - vertexMean(a.geometry)[1]);
      const rows: (typeof members)[] = [];
      for (const g of byLat) {
        if (rows.length === 0 || vertexMean(rows[rows.length - 1][0].geometry)[1] - vertexMean(g.geometry)[1] > tolerance) rows.push([]);
        rows[rows.length - 1].push(g);
      }
      const reading = rows.flatMap((row) => row.sort((a, b) => vertexMean(a.geometry)[0] - vertexMean(b.geometry)[0]));
      expect(reading.map((g) => g.properties.code)).toEqual(byCode);
    }
  });
});

describe('scaling', () => {
  it('keeps codes within their digits and about 10 grids per community at 3000 grids', () => {
    const big = generateCity({ grids: 3000, seed: 5 });
    const features = big.systems[0].grids.features;
    const count = (level: string) => features.filter((f) => f.properties.level === level).length;
    expect(count('grid')).toBe(3000);
    expect(count('street')).toBeGreaterThanOrEqual(35);
    expect(count('street')).toBeLessThanOrEqual(50);
    expect(count('community')).toBeGreaterThanOrEqual(250);
    expect(count('community')).toBeLessThanOrEqual(330);
    expect(big.addresses.features.length / 3000).toBeCloseTo(125, -1);
  });
});
