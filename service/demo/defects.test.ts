import { area, booleanPointInPolygon, distance } from '@turf/turf';
import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import { difference, intersection, type Geom } from 'polyclip-ts';
import { describe, expect, it } from 'vitest';
import { generateCity, type GridProperties } from './index';

const clean = generateCity();
const broken = generateCity({ defects: true });
const cleanGrids = clean.systems[0].grids.features;
const brokenGrids = broken.systems[0].grids.features;
const byCode = (features: Feature<MultiPolygon, GridProperties>[]) => new Map(features.map((f) => [f.properties.code, f]));
const before = byCode(cleanGrids);
const after = byCode(brokenGrids);
const district = cleanGrids[0].geometry;
const areaOf = (coordinates: Position[][][]) => area({ type: 'MultiPolygon', coordinates });
const geom = (g: MultiPolygon) => g.coordinates as Geom;
const defect = (kind: string) => broken.defects.find((d) => d.kind === kind)!;

describe('the defects variant', () => {
  it('lists one defect of each kind, far apart, in the governance system', () => {
    expect(broken.defects.map((d) => d.kind)).toEqual(['outside', 'gap', 'overlap', 'sliver', 'invalid']);
    expect(clean.defects).toEqual([]);
    for (const d of broken.defects) {
      expect(d.system).toBe('governance');
      for (const code of d.grids) expect(before.get(code)!.properties.parent).toBe(d.parent);
      for (const other of broken.defects) if (other !== d) expect(distance(d.location, other.location, { units: 'meters' })).toBeGreaterThan(1000);
    }
  });

  it('changes only the first grid of each defect, and only near the defect', () => {
    expect(brokenGrids.map((f) => f.properties)).toEqual(cleanGrids.map((f) => f.properties));
    const changed = brokenGrids.filter((f) => JSON.stringify(f.geometry) !== JSON.stringify(before.get(f.properties.code)!.geometry));
    expect(changed.map((f) => f.properties.code)).toEqual(broken.defects.map((d) => d.grids[0]).sort());
    for (const d of broken.defects) {
      const old = new Set(before.get(d.grids[0])!.geometry.coordinates.flat(2).map((p) => p.join()));
      const moved = after.get(d.grids[0])!.geometry.coordinates.flat(2).filter((p) => !old.has(p.join()));
      expect(moved.length).toBeGreaterThan(0);
      for (const p of moved) expect(distance(p, d.location, { units: 'meters' })).toBeLessThan(150);
    }
    expect(JSON.stringify(broken.systems.slice(1))).toBe(JSON.stringify(clean.systems.slice(1)));
    expect(JSON.stringify(broken.addresses)).toBe(JSON.stringify(clean.addresses));
    expect(JSON.stringify(broken.outlets)).toBe(JSON.stringify(clean.outlets));
  });

  it.each(['gap', 'sliver'])('%s: the area the grid lost is covered by no grid', (kind) => {
    const d = defect(kind);
    const lost = difference(geom(before.get(d.grids[0])!.geometry), geom(after.get(d.grids[0])!.geometry));
    expect(areaOf(lost)).toBeCloseTo(d.area_m2, 1);
    expect(area(before.get(d.grids[0])!.geometry) - area(after.get(d.grids[0])!.geometry)).toBeCloseTo(d.area_m2, 1);
    for (const f of brokenGrids.filter((g) => g.properties.level === 'grid')) expect(areaOf(intersection(lost, geom(f.geometry)))).toBeLessThan(1e-3);
    expect(booleanPointInPolygon(d.location, { type: 'MultiPolygon', coordinates: lost } as MultiPolygon)).toBe(true);
  });

  it('overlap: the grid gains a triangle that lies in its sibling alone', () => {
    const d = defect('overlap');
    const grown = after.get(d.grids[0])!.geometry;
    expect(area(grown) - area(before.get(d.grids[0])!.geometry)).toBeCloseTo(d.area_m2, 1);
    for (const f of brokenGrids.filter((g) => g.properties.level === 'grid' && g.properties.code !== d.grids[0])) {
      const shared = areaOf(intersection(geom(grown), geom(f.geometry)));
      if (f.properties.code === d.grids[1]) expect(shared).toBeCloseTo(d.area_m2, 1);
      else expect(shared).toBeLessThan(1e-3);
    }
  });

  it('outside: the grid leaves the district by the listed area and overlaps no other grid', () => {
    const d = defect('outside');
    const grown = after.get(d.grids[0])!.geometry;
    const out = difference(geom(grown), geom(district));
    expect(areaOf(out)).toBeCloseTo(d.area_m2, 1);
    expect(booleanPointInPolygon(d.location, district)).toBe(false);
    for (const f of brokenGrids.filter((g) => g.properties.level === 'grid' && g.properties.code !== d.grids[0])) {
      expect(areaOf(intersection(geom(grown), geom(f.geometry)))).toBeLessThan(1e-3);
    }
  });

  it('invalid: the ring runs out to the listed tip and back to the same vertex, adding no area', () => {
    const d = defect('invalid');
    const ring = after.get(d.grids[0])!.geometry.coordinates[0][0].slice(0, -1).map((p) => p.join());
    const repeated = ring.filter((p, k) => ring.indexOf(p) !== k);
    expect(repeated).toHaveLength(1);
    const base = ring.indexOf(repeated[0]);
    expect(ring.slice(base, base + 3)).toEqual([repeated[0], d.location.join(), repeated[0]]);
    expect(area(after.get(d.grids[0])!.geometry)).toBeCloseTo(area(before.get(d.grids[0])!.geometry), 3);
    expect(d.area_m2).toBe(0);
  });

  it.each(['gap', 'overlap', 'outside'])('%s: the location lies inside the defect', (kind) => {
    const d = defect(kind);
    const a = after.get(d.grids[0])!.geometry;
    const b = before.get(d.grids[0])!.geometry;
    const region = kind === 'gap' ? difference(geom(b), geom(a)) : difference(geom(a), geom(b));
    expect(booleanPointInPolygon(d.location, { type: 'MultiPolygon', coordinates: region } as MultiPolygon | Polygon)).toBe(true);
  });
});
