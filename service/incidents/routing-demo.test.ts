import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity, type DemoCity } from '../demo/index';
import { locatePoint } from '../point';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { createIncidents, type IncidentService } from './index';
import type { ActorInput, IncidentView } from './service';

/**
 * Routing on the full demo city (issue #11 "Show"): its six grid systems as the demo start loads them
 * (the addresses are left out: routing does not read them). Points are demo addresses, one per street,
 * covering every grid type and a rural community; the expected answers come from the generator (the
 * address's own grid and the parent links) and from a point-in-polygon test written here, not from the
 * point lookup under test.
 */
const city: DemoCity = generateCity({ seed: 1 });
const governance = city.systems[0]!;
const at = new Date('2026-12-02T10:00:00+08:00');

type GridFeature = Feature<Polygon | MultiPolygon, { code: string; parent: string | null; level: string; type: string }>;

/** Even-odd ray casting over every ring (holes included); a point on an edge is not expected here. */
function covers(geometry: Polygon | MultiPolygon, [x, y]: Position): boolean {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  let inside = false;
  for (const rings of polygons) {
    for (const ring of rings) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i]!;
        const [xj, yj] = ring[j]!;
        if (yi! > y! !== yj! > y! && x! < ((xj! - xi!) * (y! - yi!)) / (yj! - yi!) + xi!) inside = !inside;
      }
    }
  }
  return inside;
}

/** Every system's chain at a point, finest first: the finest covering grid (lowest code on a tie), then its parents. */
function expectedChains(point: Position): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const { system, grids } of city.systems) {
    const features = grids.features as GridFeature[];
    const order = new Map(system.levels.map((l) => [l.key, l.order]));
    const covering = features.filter((f) => covers(f.geometry, point)).sort((a, b) => order.get(b.properties.level)! - order.get(a.properties.level)! || (a.properties.code < b.properties.code ? -1 : 1));
    if (covering.length === 0) continue;
    const byCode = new Map(features.map((f) => [f.properties.code, f]));
    const chain: string[] = [];
    for (let f: GridFeature | undefined = covering[0]; f; f = f.properties.parent ? byCode.get(f.properties.parent) : undefined) chain.push(f.properties.code);
    out[system.key] = chain;
  }
  return out;
}

/** One address per street, its grids cycling through the grid types, and one in a rural community. */
function samplePoints(): { label: string; point: Position; grid: string }[] {
  const features = governance.grids.features as GridFeature[];
  const byCode = new Map(features.map((f) => [f.properties.code, f]));
  const types = [...new Set(features.filter((f) => f.properties.level === 'grid').map((f) => f.properties.type))].sort();
  const out: { label: string; point: Position; grid: string }[] = [];
  const streets = features.filter((f) => f.properties.level === 'street').map((f) => f.properties.code);
  streets.forEach((street, i) => {
    const wanted = types[i % types.length];
    const address = city.addresses.features.find((a) => {
      const grid = byCode.get(a.properties.grid)!;
      return grid.properties.type === wanted && byCode.get(grid.properties.parent!)!.properties.parent === street;
    });
    if (address) out.push({ label: `${street} ${wanted}`, point: address.geometry.coordinates, grid: address.properties.grid });
  });
  const rural = city.addresses.features.find((a) => byCode.get(byCode.get(a.properties.grid)!.properties.parent!)!.properties.type === '农村社区')!;
  out.push({ label: 'rural community', point: rural.geometry.coordinates, grid: rural.properties.grid });
  return out;
}

describe.each(engines())('incident routing on the demo city on %s PostGIS', (engine) => {
  let t: TestApp;
  let svc: IncidentService;
  const points = samplePoints();

  beforeAll(async () => {
    t = await startTestApp(engine);
    for (const { system, grids } of city.systems) {
      await t.services.systems.create(system);
      await t.services.grids.import(system.key, grids.features, { mode: 'append', repair: false });
    }
    svc = createIncidents(t.db.knex, locatePoint, { now: () => at });
  }, 180_000);
  afterAll(async () => t?.close());

  it('samples every street, every grid type and a rural community', () => {
    const features = governance.grids.features as GridFeature[];
    const type = (code: string) => features.find((f) => f.properties.code === code)!.properties.type;
    expect(points.length).toBe(7);
    expect(new Set(points.map((p) => type(p.grid))).size).toBe(3);
  });

  it('lands each case in its grid, community, street and district, and in the right grid of every other system', async () => {
    for (const { label, point, grid } of points) {
      const { incident } = await svc.create({ category: '0101', point: { x: point[0]!, y: point[1]! }, source: 'patrol', description: label }, { at });
      const expected = expectedChains(point);
      expect(expected[governance.system.key]![0], label).toBe(grid);
      expect(incident.chain.map((u) => u.code), label).toEqual(expected[governance.system.key]);
      expect(incident.chain.map((u) => u.level), label).toEqual(['grid', 'community', 'street', 'district']);
      expect(Object.fromEntries(incident.grids.map((s) => [s.system, s.chain.map((u) => u.code)])), label).toEqual(expected);
      expect(Object.keys(expected).length, label).toBeGreaterThanOrEqual(3);
      // Routine, handling level 0: the grid itself handles it, and the case number starts with its code.
      expect(incident.handling.unit.code, label).toBe(grid);
      expect(incident.caseNo.startsWith(`${grid}-20261202-`), label).toBe(true);
    }
  });

  it('sends each class to the level it names, and escalates an urgent case up its own chain and across to a department', async () => {
    const { point } = points[1]!;
    const create = async (category: string) => (await svc.create({ category, point: { x: point[0]!, y: point[1]! }, source: 'hotline', description: category }, { at })).incident;
    // 0102 ordinary → the community, 0204 serious → the street (DOMAIN.md: small in the grid, ordinary in the community, serious in the street).
    expect((await create('0102')).handling.unit.level).toBe('community');
    expect((await create('0204')).handling.unit.level).toBe('street');

    // 0404 urgent, level 1: the community; the grid worker reports it up at once, then the street, then the district.
    let c: IncidentView = await create('0404');
    expect([c.route, c.handling.unit.level, c.department]).toEqual(['urgent', 'community', 'water']);
    const officer = (v: IncidentView, offset = v.handling.level): ActorInput => ({ kind: 'unit_officer', unit: v.chain[offset]!.code, name: '值班员' });
    c = await svc.transition(c.id, { action: 'escalate', actor: { kind: 'grid_worker', unit: c.chain[0]!.code, name: '网格员' } }, { at });
    expect([c.status, c.handling.unit.code]).toEqual(['reported', c.chain[2]!.code]);
    c = await svc.transition(c.id, { action: 'escalate', actor: officer(c) }, { at });
    expect([c.handling.level, c.handling.unit.code, c.handling.unit.level]).toEqual([3, c.chain[3]!.code, 'district']);
    await expect(svc.transition(c.id, { action: 'escalate', actor: officer(c) }, { at })).rejects.toMatchObject({ status: 409, code: 'no_higher_level' });
    // A street officer is no longer the handling unit: the table names the district (or the command centre) now.
    await expect(svc.transition(c.id, { action: 'register', actor: officer(c, 2) }, { at })).rejects.toMatchObject({ status: 403 });
    c = await svc.transition(c.id, { action: 'register', actor: officer(c) }, { at });
    c = await svc.transition(c.id, { action: 'hand_to_department', actor: officer(c), department: 'emergency' }, { at });
    expect([c.status, c.department]).toEqual(['dispatched', 'emergency']);
    c = await svc.transition(c.id, { action: 'accept', actor: { kind: 'department', department: 'emergency', name: '应急局' } }, { at });
    expect(c.status).toBe('in_progress');
    const { log } = await svc.get(c.id);
    expect(log.map((e) => [e.action, e.toStatus])).toEqual([
      ['report', 'reported'],
      ['escalate', 'reported'],
      ['escalate', 'reported'],
      ['register', 'registered'],
      ['hand_to_department', 'dispatched'],
      ['accept', 'in_progress'],
    ]);
    expect(log[1]!.details).toMatchObject({ fromLevel: 1, toLevel: 2, toUnit: c.chain[2]!.code });
  });
});
