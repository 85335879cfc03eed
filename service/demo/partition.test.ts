import { area, booleanPointInPolygon } from '@turf/turf';
import type { Feature, MultiPolygon } from 'geojson';
import { union, type Geom } from 'polyclip-ts';
import { describe, expect, it } from 'vitest';
import { generateCity, type DemoSystem, type GridProperties } from './index';
import { partitionProblems, ringProblems, vertexMean } from './test-checks';

const city = generateCity();
const system = (key: string) => city.systems.find((s) => s.system.key === key)!;
const governance = system('governance');
const district = governance.grids.features[0];
const governanceGrids = governance.grids.features.filter((f) => f.properties.level === 'grid');
const banks = city.systems.filter((s) => s.system.kind === 'bank');
type GridFeature = Feature<MultiPolygon, GridProperties>;

/** Partition problems of every parent in `s`, and of its top level against `top` when it covers the district. */
function problemsOf(s: DemoSystem, top?: GridFeature): Record<string, string[]> {
  const children = new Map<string | null, GridFeature[]>();
  for (const f of s.grids.features) children.set(f.properties.parent, [...(children.get(f.properties.parent) ?? []), f]);
  const problems: Record<string, string[]> = {};
  for (const parent of s.grids.features) {
    const own = children.get(parent.properties.code);
    if (own) problems[parent.properties.code] = partitionProblems(parent.geometry, own.map((c) => c.geometry));
  }
  if (top) problems['(top level)'] = partitionProblems(top.geometry, children.get(null)!.map((c) => c.geometry));
  return problems;
}
const failing = (problems: Record<string, string[]>) => Object.entries(problems).filter(([, p]) => p.length > 0);
const unionOf = (geometries: MultiPolygon[]) => union(geometries[0].coordinates as Geom, ...geometries.slice(1).map((g) => g.coordinates as Geom));
/** Cells of governance grids inside `f`, found by their centroids. */
const gridsIn = (f: GridFeature) => governanceGrids.filter((g) => booleanPointInPolygon(vertexMean(g.geometry), f.geometry));

describe('every level partitions its parent exactly', () => {
  it.each([
    ['governance', undefined],
    ['fire', district],
    ['health', district],
  ] as const)('%s', (key, top) => {
    const problems = problemsOf(system(key), top);
    expect(Object.keys(problems).length).toBeGreaterThan(top ? 6 : 40);
    expect(failing(problems)).toEqual([]);
  });

  it.each(banks.map((b) => [b.system.key, b] as const))('%s, whose service areas never overlap', (_, bank) => {
    expect(failing(problemsOf(bank))).toEqual([]);
    const areas = bank.grids.features.filter((f) => f.properties.parent === null);
    const sum = areas.reduce((s, f) => s + area(f.geometry), 0);
    const merged = unionOf(areas.map((f) => f.geometry));
    expect(Math.abs(area({ type: 'MultiPolygon', coordinates: merged }) - sum) / sum).toBeLessThan(1e-6);
  });

  it('draws every grid as one polygon with closed, simple, correctly wound rings', () => {
    for (const s of city.systems) {
      for (const f of s.grids.features) {
        expect(f.geometry.coordinates, f.properties.code).toHaveLength(1);
        expect(ringProblems(f.geometry), f.properties.code).toEqual([]);
      }
    }
  });

  it('catches a broken partition (the check is not vacuous)', () => {
    const broken = generateCity({ defects: true });
    const brokenParents = failing(problemsOf(broken.systems[0])).map(([code]) => code);
    const expected = broken.defects.filter((d) => d.kind !== 'invalid').map((d) => d.parent);
    expect(brokenParents.sort()).toEqual([...new Set(expected)].sort());
  });
});

describe('systems over the same ground', () => {
  it('fire: big = street, medium = community, small = 2–6 governance grids', () => {
    const fire = system('fire').grids.features;
    const byLevel = (level: string) => fire.filter((f) => f.properties.level === level).map((f) => JSON.stringify(f.geometry));
    const governanceAt = (level: string) => governance.grids.features.filter((f) => f.properties.level === level).map((f) => JSON.stringify(f.geometry));
    expect(byLevel('big')).toEqual(governanceAt('street'));
    expect(byLevel('medium')).toEqual(governanceAt('community'));
    for (const block of fire.filter((f) => f.properties.level === 'small')) {
      const inside = gridsIn(block);
      expect(inside.length).toBeGreaterThanOrEqual(2);
      expect(inside.length).toBeLessThanOrEqual(6);
      expect(inside.reduce((s, g) => s + g.properties.households, 0)).toBe(block.properties.households);
    }
  });

  it('health: grids of 800–1000 households that ignore community borders', () => {
    const healthGrids = system('health').grids.features.filter((f) => f.properties.level === 'grid');
    let straddling = 0;
    for (const h of healthGrids) {
      expect(h.properties.households).toBeGreaterThanOrEqual(800);
      expect(h.properties.households).toBeLessThanOrEqual(1000);
      const inside = gridsIn(h);
      expect(inside.reduce((s, g) => s + g.properties.households, 0)).toBe(h.properties.households);
      if (new Set(inside.map((g) => g.properties.parent)).size > 1) straddling++;
    }
    expect(straddling / healthGrids.length).toBeGreaterThan(0.2);
  });

  it('banks: grids lie in one community each, outlets in their areas; rural communities all served, blanks only in town', () => {
    // Issue #13: the demo shows blanks, allowed and excessive overlap and rural overlap (覆盖盲区与重叠并存).
    const communityFeatures = governance.grids.features.filter((f) => f.properties.level === 'community');
    const communities = new Set(communityFeatures.map((f) => JSON.stringify(f.geometry)));
    const cellsOf = (f: GridFeature) => new Set(gridsIn(f).map((g) => g.properties.code));
    let depth = 0;
    let partial = 0;
    for (const bank of banks) {
      const features = bank.grids.features;
      for (const g of features.filter((f) => f.properties.level === 'grid')) {
        if (communities.has(JSON.stringify(g.geometry))) continue;
        // A partial grid: governance grids of a single community, fewer than all of them.
        const inside = gridsIn(g);
        expect(new Set(inside.map((c) => c.properties.parent)).size).toBe(1);
        const community = communityFeatures.find((c) => c.properties.code === inside[0].properties.parent)!;
        expect(inside.length).toBeLessThan(cellsOf(community).size);
        partial++;
      }
      for (const o of city.outlets.features.filter((p) => p.properties.bank === bank.system.key)) {
        const grid = features.find((f) => f.properties.code === o.properties.grid)!;
        expect(grid.properties.level).toBe(o.properties.kind === 'outlet' ? 'outlet-area' : 'grid');
        expect(booleanPointInPolygon(o.geometry.coordinates, grid.geometry, { ignoreBoundary: true })).toBe(true);
      }
      depth += features.filter((f) => f.properties.level === 'grid').length;
    }
    expect(partial).toBeGreaterThan(0);
    const covered = unionOf(banks.flatMap((b) => b.grids.features.filter((f) => f.properties.parent === null).map((f) => f.geometry)));
    const coveredArea = area({ type: 'MultiPolygon', coordinates: covered as MultiPolygon['coordinates'] });
    const rural = communityFeatures.filter((f) => f.properties.type === '农村社区');
    expect(rural.length).toBeGreaterThan(0);
    const ruralBank = banks.find((b) => b.system.key === 'bank-qingchuan-rcb-demo')!;
    const ruralServed = new Set(ruralBank.grids.features.filter((f) => f.properties.level === 'grid').map((f) => JSON.stringify(f.geometry)));
    for (const village of rural) expect(ruralServed.has(JSON.stringify(village.geometry))).toBe(true);
    const blank = area(district.geometry) - coveredArea;
    expect(blank / area(district.geometry)).toBeGreaterThan(0.01);
    expect(blank / area(district.geometry)).toBeLessThan(0.2);
    // Urban grids may overlap across banks, but not excessively (DOMAIN.md "Bank grids").
    expect(depth / communities.size).toBeGreaterThan(1.2);
    expect(depth / communities.size).toBeLessThan(2.5);
  });
});
