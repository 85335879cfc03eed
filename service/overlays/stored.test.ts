import type { MultiPolygon, Polygon } from 'geojson';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity } from '../demo/index';
import { binary } from '../tiles/testing';
import { tilesCovering } from '../tiles/tile-math';
import { OVERLAY_FIELDS, OVERLAY_LAYER } from './tiles';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { ChangeBus } from '../db/changes';
import { createLogger } from '../logger';
import { createStoredOverlays } from './stored';

const city = generateCity({ seed: 1 });
const gov = city.systems.find((s) => s.system.key === 'governance')!;
const district = gov.grids.features.find((f) => f.properties.level === 'district')!.properties.code;
const banks = city.systems.filter((s) => s.system.kind === 'bank');
const body = { territory: { system: 'governance', code: district }, systems: banks.map((s) => s.system.key) };

type Face = { unit: string | null; grids: { system: string; code: string }[]; area_m2: number; depth: number };
type Report = { summary: { area_m2: number; faces: number; depth_m2: Record<string, number>; blank_m2: number; overlap_m2: number; excess_m2: number }; units: { code: string; flags: string[]; shares: Record<string, number> }[]; faces: Face[]; table: unknown[] };

/** Faces keyed by unit and covering grids: a face is exactly the ground one set of grids covers in one unit. */
const byKey = (faces: Face[]) => new Map(faces.map((f) => [`${f.unit}|${f.grids.map((g) => `${g.system}/${g.code}`).join(',')}`, f.area_m2]));

/** The stored overlay, after incremental updates, against the same overlay arranged afresh. */
function expectSame(stored: Report, fresh: Report): void {
  const a = byKey(stored.faces);
  const b = byKey(fresh.faces);
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [key, area] of b) expect(Math.abs(a.get(key)! - area), key).toBeLessThanOrEqual(0.01);
  expect(stored.summary).toEqual(fresh.summary);
  expect(stored.units).toEqual(fresh.units);
  expect(stored.table).toEqual(fresh.table);
}

/** Moves a polygon by (dx, dy) degrees: the grid's old and new extents overlap, as in a boundary edit. */
function shifted(geometry: Polygon | MultiPolygon, dx: number, dy: number): MultiPolygon {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  return { type: 'MultiPolygon', coordinates: polygons.map((p) => p.map((ring) => ring.map(([x, y]) => [x + dx, y + dy]))) };
}

describe.each(engines())('stored overlays kept current incrementally on %s PostGIS', (engine) => {
  let t: TestApp;
  let id: number;
  const updated = async (before: ReturnType<TestApp['services']['storedOverlays']['lastUpdate']>) => {
    // The change reaches the bus when the write commits; wait for its update to be written.
    for (let i = 0; i < 500 && t.services.storedOverlays.lastUpdate() === before; i++) await new Promise((r) => setTimeout(r, 10));
    await t.services.storedOverlays.settled();
    return t.services.storedOverlays.lastUpdate()!;
  };
  beforeAll(async () => {
    t = await startTestApp(engine);
    // The governance system and the banks: what the stored overlay reads.
    for (const s of [gov, ...banks]) {
      await t.request.post('/api/systems').send(s.system).expect(201);
      await t.request.post(`/api/systems/${s.system.key}/import`).send(s.grids).expect(200);
    }
    const created = await t.request.post('/api/overlays/stored').send(body).expect(201);
    id = created.body.id;
    expect(created.headers.location).toBe(`/api/overlays/stored/${id}`);
  });
  afterAll(async () => {
    await t?.services.storedOverlays.settled();
    await t?.close();
  });

  it('stores the same report as the overlay computed on request', async () => {
    const stored: Report = (await t.request.get(`/api/overlays/stored/${id}`).expect(200)).body;
    const fresh: Report = (await t.request.post('/api/overlays/report').send(body).expect(200)).body;
    expect(stored.summary.faces).toBeGreaterThan(20);
    expectSame(stored, fresh);
    const listed = (await t.request.get('/api/overlays/stored').expect(200)).body.overlays;
    expect(listed.map((o: { id: number }) => o.id)).toEqual([id]);
    // Storing the same request again keeps one stored overlay.
    expect((await t.request.post('/api/overlays/stored').send(body).expect(201)).body.id).toBe(id);
  });

  it('after a bank grid is moved, re-arranges only the units it touches and agrees with a full recomputation', async () => {
    const bank = banks[0]!;
    const level = bank.system.levels[bank.system.levels.length - 1]!.key;
    const grid = bank.grids.features.find((f) => f.properties.level === level)!;
    const before = t.services.storedOverlays.lastUpdate();
    const unitsBefore: Report = (await t.request.get(`/api/overlays/stored/${id}`).expect(200)).body;
    await t.request.patch(`/api/systems/${bank.system.key}/grids/${grid.properties.code}`).send({ geometry: shifted(grid.geometry as MultiPolygon, 0.004, -0.003) }).expect(200);
    const update = await updated(before);
    expect(update.mode).toBe('units');
    expect(update.units).toBeGreaterThan(0);
    expect(update.units).toBeLessThan(unitsBefore.units.length / 2);
    const stored: Report = (await t.request.get(`/api/overlays/stored/${id}`).expect(200)).body;
    const fresh: Report = (await t.request.post('/api/overlays/report').send(body).expect(200)).body;
    expect(stored.summary).not.toEqual(unitsBefore.summary);
    expectSame(stored, fresh);
  });

  it('follows a removed bank grid and a moved community boundary the same way', async () => {
    const bank = banks[1]!;
    const level = bank.system.levels[bank.system.levels.length - 1]!.key;
    const grid = bank.grids.features.filter((f) => f.properties.level === level)[1]!;
    let before = t.services.storedOverlays.lastUpdate();
    await t.request.delete(`/api/systems/${bank.system.key}/grids/${grid.properties.code}`).expect(200);
    expect((await updated(before)).mode).toBe('units');
    expectSame((await t.request.get(`/api/overlays/stored/${id}`).expect(200)).body, (await t.request.post('/api/overlays/report').send(body).expect(200)).body);

    // A community takes a strip of its neighbour's ground: a unit boundary edit inside the territory.
    const communities = gov.grids.features.filter((f) => f.properties.level === 'community');
    const unit = communities[5]!;
    before = t.services.storedOverlays.lastUpdate();
    await t.request.patch(`/api/systems/governance/grids/${unit.properties.code}`).send({ geometry: shifted(unit.geometry as MultiPolygon, 0.001, 0) }).expect(200);
    const update = await updated(before);
    expectSame((await t.request.get(`/api/overlays/stored/${id}`).expect(200)).body, (await t.request.post('/api/overlays/report').send(body).expect(200)).body);
    expect(update.ms).toBeGreaterThan(0);
  });

  it('serves its faces as the tile layer overlay_faces: depth, grids, blank and excess flags as the report has them', async () => {
    const tilejson = (await t.request.get(`/tiles/overlays.${id}.json`).expect(200)).body;
    expect(tilejson.vector_layers.map((l: { id: string }) => l.id)).toEqual([OVERLAY_LAYER]);
    expect(Object.keys(tilejson.vector_layers[0].fields).sort()).toEqual(Object.keys(OVERLAY_FIELDS).sort());
    expect((await t.request.get('/tiles').expect(200)).body.tiles.map((s: { id: string }) => s.id)).toContain(`overlays.${id}`);
    const report = (await t.request.get(`/api/overlays/stored/${id}`).expect(200)).body;
    const excessFaces = new Set<string>(report.excess.flatMap((e: { faces: string[] }) => e.faces));
    const excessKeys = new Set(report.faces.filter((f: { id: string }) => excessFaces.has(f.id)).map((f: Face) => `${f.unit}|${f.grids.map((g) => `${g.system}/${g.code}`).join(',')}`));
    // Every tile over the territory at z12, decoded as a map client decodes them.
    const seen = new Map<string, Record<string, unknown>>();
    for (const tile of tilesCovering(tilejson.bounds, 12)) {
      const res = await t.request.get(`/tiles/overlays.${id}/${tile.z}/${tile.x}/${tile.y}.mvt`).set('Accept-Encoding', 'identity').buffer(true).parse(binary);
      if (res.status === 204) continue;
      expect(res.status).toBe(200);
      const layer = new VectorTile(new PbfReader(res.body as Buffer)).layers[OVERLAY_LAYER]!;
      for (let i = 0; i < layer.length; i++) {
        const feature = layer.feature(i);
        expect(feature.type).toBe(3);
        const p = feature.properties;
        for (const key of Object.keys(p)) expect(Object.keys(OVERLAY_FIELDS)).toContain(key);
        seen.set(`${p.unit}|${p.grids}`, p);
      }
    }
    expect(seen.size).toBe(report.faces.length);
    const depths = new Set([...seen.values()].map((p) => p.depth));
    expect([...depths].sort()).toEqual(expect.arrayContaining([0, 1, 2, 3]));
    for (const [key, p] of seen) {
      expect(p.blank, key).toBe(p.depth === 0);
      expect(p.excess, key).toBe(excessKeys.has(key));
      expect(String(p.systems).split(',').filter(Boolean).length, key).toBe(p.depth);
    }
    expect([...seen.values()].some((p) => p.excess === true)).toBe(true);
  });

  it('serves the stored tables as XLSX and CSV, and answers unknown ids with 404', async () => {
    const csv = await t.request.get(`/api/overlays/stored/${id}?format=csv`).expect(200);
    expect(csv.text.replace(/^\uFEFF/, '').split('\r\n')[0]).toContain(`share:${banks[0]!.system.key}`);
    expect((await t.request.get('/api/overlays/stored/99999').expect(404)).body.error.code).toBe('overlay_not_found');
    expect((await t.request.get('/api/overlays/stored/x').expect(400)).body.error.code).toBe('invalid_request');
    expect((await t.request.post('/api/overlays/stored').send({ ...body, systems: ['nope'] }).expect(404)).body.error.code).toBe('system_not_found');
  });
  it('catches up, in a fresh instance, a change whose maker stopped before applying it', async () => {
    // The maker "dies" after its write commits: the change is recorded in the write's transaction, nothing applies it.
    t.services.storedOverlays.stop();
    await t.services.storedOverlays.settled();
    const before: Report = (await t.request.get(`/api/overlays/stored/${id}`).expect(200)).body;
    const bank = banks[2]!;
    const level = bank.system.levels[bank.system.levels.length - 1]!.key;
    const grid = bank.grids.features.filter((f) => f.properties.level === level)[0]!;
    await t.request.patch(`/api/systems/${bank.system.key}/grids/${grid.properties.code}`).send({ geometry: shifted(grid.geometry as MultiPolygon, -0.003, 0.002) }).expect(200);
    const recorded = async () => Number((await t.db.knex('overlay_pending').where({ result_id: id }).count({ n: '*' }).first())!.n);
    expect(await recorded()).toBe(1);
    expect((await t.request.get(`/api/overlays/stored/${id}`).expect(200)).body.summary).toEqual(before.summary);

    // A fresh instance on the same database applies it when it starts.
    const fresh = createStoredOverlays({ knex: t.db.knex, changes: new ChangeBus(t.db), logger: createLogger('silent') });
    await fresh.settled();
    fresh.stop();
    expect(await recorded()).toBe(0);
    expect(fresh.lastUpdate()).toMatchObject({ result: id, mode: 'units' });
    const stored: Report = (await t.request.get(`/api/overlays/stored/${id}`).expect(200)).body;
    expect(stored.summary).not.toEqual(before.summary);
    expectSame(stored, (await t.request.post('/api/overlays/report').send(body).expect(200)).body);
  });
});
