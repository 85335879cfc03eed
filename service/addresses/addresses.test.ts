import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../db/changes';
import { toCsv } from '../formats/csv';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { gridFeature, rect } from '../test/fixtures';
import type { IndexGrid } from './grid-index';
import { shapeCoordinates, shapeFromWkb } from './shape';
import { createAddressQueries } from './store';

/**
 * The address register over HTTP on a small system of our own, away from every other fixture:
 * district D (2×2 cells of 0.01°) → communities C1 (west), C2 (east) → grids C1A/C1B (south/north), C2A/C2B.
 */
const X0 = 113.9;
const Y0 = 22.5;
const D = 0.01;
const FIXTURES = path.resolve('fixtures/addresses');

const system = {
  key: 'addr-test',
  name: '地址测试网格',
  kind: 'governance',
  levels: [
    { key: 'district', name: '区县', order: 1, children: { min: 3, max: 5 } },
    { key: 'community', name: '社区', order: 2 },
    { key: 'grid', name: '网格', order: 3, households: { min: 150, max: 400 } },
  ],
};

const grids = (boundary = Y0 + D) => [
  gridFeature('D', 'district', null, rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D)),
  gridFeature('C1', 'community', 'D', rect(X0, Y0, X0 + D, Y0 + 2 * D)),
  gridFeature('C2', 'community', 'D', rect(X0 + D, Y0, X0 + 2 * D, Y0 + 2 * D)),
  gridFeature('C1A', 'grid', 'C1', rect(X0, Y0, X0 + D, boundary)),
  gridFeature('C1B', 'grid', 'C1', rect(X0, boundary, X0 + D, Y0 + 2 * D)),
  gridFeature('C2A', 'grid', 'C2', rect(X0 + D, Y0, X0 + 2 * D, Y0 + D)),
  gridFeature('C2B', 'grid', 'C2', rect(X0 + D, Y0 + D, X0 + 2 * D, Y0 + 2 * D)),
];
const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });

interface TestAddress {
  id: string;
  kind: string;
  door: string;
  households: number;
  population: number;
  lon: number;
  lat: number;
}

/** 400 seeded addresses inside the district, plus the cases the rules are about. */
function testAddresses(): TestAddress[] {
  let s = 42;
  const random = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const out: TestAddress[] = [];
  for (let i = 0; i < 400; i++) {
    const business = random() < 0.1;
    const households = business ? 0 : 1 + Math.floor(random() * 5);
    out.push({
      id: `T${String(i).padStart(4, '0')}`,
      kind: business ? 'business' : 'residential',
      door: `深南路${1 + Math.floor(random() * 80)}号`,
      households,
      population: households * (1 + Math.floor(random() * 3)),
      lon: +(X0 + random() * 2 * D).toFixed(7),
      lat: +(Y0 + random() * 2 * D).toFixed(7),
    });
  }
  const special = (id: string, kind: string, lon: number, lat: number) => out.push({ id, kind, door: `${id}号`, households: kind === 'residential' ? 1 : 0, population: 1, lon, lat });
  special('EDGE', 'residential', X0 + D, Y0 + 0.5 * D); // on the C1A | C2A boundary
  special('CORNER', 'residential', X0 + D, Y0 + D); // where the four grids meet
  special('SHOP-50M', 'business', X0 + 2 * D + 0.0005, Y0 + 0.25 * D); // ≈ 51 m east of the district
  special('HOME-50M', 'residential', X0 + 2 * D + 0.0005, Y0 + 0.25 * D);
  special('SHOP-500M', 'business', X0 + 2 * D + 0.005, Y0 + 0.25 * D);
  return out;
}

const csvOf = (addresses: TestAddress[]) =>
  toCsv(
    ['external_id', 'kind', 'door', 'street', 'building', 'households', 'population', 'lon', 'lat'],
    addresses.map((a) => [a.id, a.kind, a.door, '深南路', '1栋', a.households, a.population, a.lon, a.lat]),
  );

const importCsv = (t: TestApp, csv: string | Buffer, q = '') => t.request.post(`/api/addresses/import?format=csv${q}`).set('content-type', 'text/csv').send(csv);

async function versions(t: TestApp): Promise<Map<string, string>> {
  const { rows } = await t.db.knex.raw('select external_id, xmin::text as x from addresses');
  return new Map(rows.map((r: { external_id: string; x: string }) => [r.external_id, r.x]));
}

async function assignmentOf(t: TestApp, id: string) {
  const res = await t.request.get(`/api/addresses?external_id=${encodeURIComponent(id)}`).expect(200);
  return res.body.features[0]?.properties.grids[system.key] ?? null;
}

/** External ids whose stored grid differs from a PostGIS ST_Covers join with the same rule (nearest ones aside). */
async function differFromCoversJoin(t: TestApp, key: string): Promise<string[]> {
  const { rows } = await t.db.knex.raw(
    `with s as (select id, levels from grid_systems where key = ?),
     lv as (select l->>'key' as key, (l->>'order')::int as ord from s, jsonb_array_elements(s.levels) l),
     hit as (
       select distinct on (a.id) a.id, g.code from addresses a join s on true
       join grids g on g.system_id = s.id and ST_Covers(g.geom, a.geom) join lv on lv.key = g.level
       order by a.id, lv.ord desc, g.code collate "C")
     select a.external_id from addresses a join s on true left join hit on hit.id = a.id
     where (a.grids ->> s.id::text) is distinct from hit.code
       and (a.grid_status -> s.id::text ->> 'status') is distinct from 'nearest'`,
    [key],
  );
  return rows.map((r: { external_id: string }) => r.external_id);
}

describe.each(engines())('addresses on %s PostGIS', (engine) => {
  let t: TestApp;
  const addresses = testAddresses();
  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(system).expect(201);
    await t.request.post(`/api/systems/${system.key}/import`).send(fc(grids())).expect(200);
  });
  afterAll(async () => t?.close());

  it('assigns each address to its finest grid; a shared boundary goes to the lowest code', async () => {
    const res = await importCsv(t, csvOf(addresses)).expect(200);
    expect(res.body).toMatchObject({ records: addresses.length, inserted: addresses.length, rejected: 0 });
    expect(await assignmentOf(t, 'EDGE')).toEqual({ code: 'C1A', status: 'assigned' });
    expect(await assignmentOf(t, 'CORNER')).toEqual({ code: 'C1A', status: 'assigned' });
    expect(await differFromCoversJoin(t, system.key)).toEqual([]);
    // The point lookup applies the same rule.
    const point = (await t.request.get(`/api/point?lon=${X0 + D}&lat=${Y0 + D}`).expect(200)).body;
    expect(point.systems[0].chain[0].code).toBe('C1A');
  });

  it('places businesses outside every grid in the nearest grid within reach (就近划入), recording the distance', async () => {
    const shop = await assignmentOf(t, 'SHOP-50M');
    expect(shop).toMatchObject({ code: 'C2A', status: 'nearest' });
    const { rows } = await t.db.knex.raw(
      `select ST_Distance(a.geom::geography, g.geom::geography)::float8 as d from addresses a, grids g
       where a.external_id = 'SHOP-50M' and g.code = 'C2A'`,
    );
    expect(Math.abs(shop.distance_m - rows[0].d) / rows[0].d).toBeLessThan(0.005);
    expect(await assignmentOf(t, 'HOME-50M')).toBeNull();
    expect(await assignmentOf(t, 'SHOP-500M')).toBeNull();
  });

  it('re-imports the same file as a no-op and updates a changed address in place', async () => {
    const before = await versions(t);
    const again = await importCsv(t, csvOf(addresses)).expect(200);
    expect(again.body).toMatchObject({ inserted: 0, updated: 0, unchanged: addresses.length });
    expect(await versions(t)).toEqual(before);

    const moved = addresses.map((a) => (a.id === 'HOME-50M' ? { ...a, lon: X0 + 1.5 * D, households: 7 } : a));
    const res = await importCsv(t, csvOf(moved)).expect(200);
    expect(res.body).toMatchObject({ inserted: 0, updated: 1, unchanged: addresses.length - 1 });
    const after = await versions(t);
    expect([...after].filter(([id, x]) => before.get(id) !== x).map(([id]) => id)).toEqual(['HOME-50M']);
    expect(await assignmentOf(t, 'HOME-50M')).toEqual({ code: 'C2A', status: 'assigned' });
    const feature = (await t.request.get('/api/addresses?external_id=HOME-50M').expect(200)).body.features[0];
    expect(feature.properties).toMatchObject({ households: 7, version: 2 });
    await importCsv(t, csvOf(addresses)).expect(200);
  });

  it('moving a shared boundary re-assigns exactly the addresses that crossed it, in the same transaction', async () => {
    const before = await versions(t);
    const events: ChangeEvent[] = [];
    const stop = t.changes.on((e) => events.push(e));
    const boundary = Y0 + 1.2 * D;
    // C1A grows north into C1B: one atomic replace of C1's subtree.
    await t.request.post(`/api/systems/${system.key}/import?mode=replace&parent=C1`).send(fc(grids(boundary).slice(3, 5))).expect(200);
    stop();
    const crossed = addresses.filter((a) => a.lon >= X0 && a.lon <= X0 + D && a.lat > Y0 + D && a.lat <= boundary).map((a) => a.id);
    expect(crossed.length).toBeGreaterThan(10);
    const after = await versions(t);
    const rewritten = [...after].filter(([id, x]) => before.get(id) !== x).map(([id]) => id);
    expect(rewritten.sort()).toEqual(crossed.sort());
    for (const id of crossed) expect((await assignmentOf(t, id)).code).toBe('C1A');
    expect(await differFromCoversJoin(t, system.key)).toEqual([]);
    const moved = events.find((e) => e.kind === 'addresses' && e.system === system.key);
    expect(moved?.codes.sort()).toEqual(['C1A', 'C1B']);

    // Deleting a grid hands its addresses to the finest grid still covering them, the parent.
    const inC2B = addresses.filter((a) => a.lon > X0 + D && a.lat > Y0 + D && a.lat < Y0 + 2 * D && a.lon < X0 + 2 * D).map((a) => a.id);
    await t.request.delete(`/api/systems/${system.key}/grids/C2B`).expect(200);
    expect((await assignmentOf(t, inC2B[0]!)).code).toBe('C2');
    await t.request.put(`/api/systems/${system.key}/grids/C2B`).send(grids()[6]).expect(201);
    expect((await assignmentOf(t, inC2B[0]!)).code).toBe('C2B');
    expect(await differFromCoversJoin(t, system.key)).toEqual([]);
  });

  it('flags addresses in overlapping grids as ambiguous and lists them', async () => {
    await t.request
      .post('/api/systems')
      .send({ key: 'addr-bank', name: '银行网格', kind: 'bank', levels: [{ key: 'grid', name: '网格', order: 1 }], overlapPolicy: { maxDepth: 2 } })
      .expect(201);
    // Two outlet areas overlapping in the middle column of the district: the import's hook assigns at once.
    await t.request
      .post('/api/systems/addr-bank/import')
      .send(fc([gridFeature('B1', 'grid', null, rect(X0, Y0, X0 + 1.5 * D, Y0 + 2 * D)), gridFeature('B2', 'grid', null, rect(X0 + 0.5 * D, Y0, X0 + 2 * D, Y0 + 2 * D))]))
      .expect(200);
    const overlapping = addresses.filter((a) => a.lon > X0 + 0.5 * D && a.lon < X0 + 1.5 * D);
    const stats = (await t.request.get('/api/systems/addr-bank/stats?limit=1000').expect(200)).body;
    expect(stats.totals.ambiguous).toBe(overlapping.length);
    expect(stats.completeness.ambiguous.items.map((i: { externalId: string }) => i.externalId).sort()).toEqual(overlapping.map((a) => a.id).sort());
    expect(stats.completeness.ambiguous.items[0]).toMatchObject({ code: 'B1', alsoIn: ['B2'] });
    expect(await differFromCoversJoin(t, 'addr-bank')).toEqual([]);
    await t.request.delete('/api/systems/addr-bank').expect(204);
  });

  it('counts per grid roll up the tree and are checked against household ranges and fan-out', async () => {
    const stats = (await t.request.get(`/api/systems/${system.key}/stats`).expect(200)).body;
    const byCode = Object.fromEntries(stats.grids.map((g: { code: string }) => [g.code, g]));
    const inDistrict = addresses.filter((a) => a.lon <= X0 + 2 * D);
    const sum = (list: TestAddress[], f: (a: TestAddress) => number) => list.reduce((n, a) => n + f(a), 0);
    expect(byCode.D).toMatchObject({ addresses: inDistrict.length + 1, households: sum(inDistrict, (a) => a.households), children: 2 });
    expect(byCode.D.addresses).toBe(byCode.C1.addresses + byCode.C2.addresses);
    expect(byCode.C1.households).toBe(byCode.C1A.households + byCode.C1B.households);
    expect(byCode.D.byKind.business.addresses).toBe(inDistrict.filter((a) => a.kind === 'business').length + 1);
    expect(byCode.D.nearest).toBe(1);
    expect(byCode.D.violations).toEqual([
      { rule: 'children', expected: { min: 3, max: 5 }, actual: 2, message: 'grid D has 2 child grids; level 区县 (district) expects 3–5' },
    ]);
    for (const code of ['C1A', 'C1B', 'C2A', 'C2B']) {
      const g = byCode[code];
      expect(g.violations.length > 0).toBe(g.households < 150 || g.households > 400);
    }
    expect(stats.totals).toMatchObject({ addresses: addresses.length, unassigned: 2, nearest: 1 });
    expect(stats.completeness.unassigned.items.map((i: { externalId: string }) => i.externalId).sort()).toEqual(['HOME-50M', 'SHOP-500M']);
    // Every test address names building 1栋 at its door; doors with only businesses have no household.
    const doors = new Map<string, TestAddress[]>();
    for (const a of addresses) doors.set(a.door, [...(doors.get(a.door) ?? []), a]);
    const empty = [...doors.values()].filter((list) => list.some((a) => a.kind === 'residential') && sum(list, (a) => a.households) === 0);
    expect(stats.completeness.buildingsWithoutHouseholds.count).toBe(empty.length);
    expect(stats.completeness.gridsWithoutAddresses).toEqual([]);
  });

  it('lists addresses as GeoJSON by grid subtree, status, bbox, kind and external id', async () => {
    const byGrid = (await t.request.get(`/api/addresses?system=${system.key}&grid=C1&limit=10000`).expect(200)).body;
    const codes = new Set(byGrid.features.map((f: { properties: { grids: Record<string, { code: string }> } }) => f.properties.grids[system.key]!.code));
    expect([...codes].sort()).toEqual(['C1A', 'C1B']);
    const stats = (await t.request.get(`/api/systems/${system.key}/stats`).expect(200)).body;
    expect(byGrid.features).toHaveLength(stats.grids.find((g: { code: string }) => g.code === 'C1').addresses);

    const nearest = (await t.request.get(`/api/addresses?system=${system.key}&status=nearest`).expect(200)).body;
    expect(nearest.features.map((f: { id: string }) => f.id)).toEqual(['SHOP-50M']);
    expect(nearest.features[0].geometry).toEqual({ type: 'Point', coordinates: [X0 + 2 * D + 0.0005, Y0 + 0.25 * D] });
    const bbox = `${X0 + 2 * D},${Y0},${X0 + 3 * D},${Y0 + D}`;
    const outside = (await t.request.get(`/api/addresses?bbox=${bbox}&kind=business`).expect(200)).body;
    expect(outside.features.map((f: { id: string }) => f.id).sort()).toEqual(['SHOP-500M', 'SHOP-50M']);
    const paged = (await t.request.get('/api/addresses?limit=10&offset=5').expect(200)).body;
    expect(paged).toMatchObject({ type: 'FeatureCollection', numberReturned: 10 });

    expect((await t.request.get('/api/addresses?grid=C1').expect(400)).body.error.code).toBe('system_required');
    expect((await t.request.get(`/api/addresses?system=${system.key}&grid=NOPE`).expect(404)).body.error.code).toBe('grid_not_found');
    expect((await t.request.get('/api/addresses?status=lost&system=x').expect(400)).body.error.code).toBe('invalid_request');
  });

  it('answers the point lookup with the nearest address and its grids when asked', async () => {
    const a = addresses[0]!;
    const res = (await t.request.get(`/api/point?lon=${a.lon + 0.00001}&lat=${a.lat}&nearest_address=true`).expect(200)).body;
    expect(res.nearestAddress).toMatchObject({ externalId: a.id, grids: [{ system: system.key, status: 'assigned' }] });
    expect(res.nearestAddress.distance_m).toBeCloseTo(1.03, 1);
    const far = (await t.request.get(`/api/point?lon=${X0 + 0.5}&lat=${Y0}&nearest_address=true`).expect(200)).body;
    expect(far.nearestAddress).toBeNull();
    expect((await t.request.get(`/api/point?lon=${a.lon}&lat=${a.lat}`).expect(200)).body.nearestAddress).toBeUndefined();
  });

  it('reports every bad row with its number and reason; atomic=true stores nothing; good rows land otherwise', async () => {
    const file = fs.readFileSync(path.join(FIXTURES, 'invalid/bad-rows.csv'));
    const count = async () => Number((await t.db.knex('addresses').count({ n: '*' }).first())!.n);
    const before = await count();
    const atomic = await importCsv(t, file, '&atomic=true').expect(422);
    expect(atomic.body.error.code).toBe('invalid_rows');
    expect(atomic.body.error.message).toMatch(/^11 of 13 records are invalid; nothing was stored/);
    expect(await count()).toBe(before);

    const res = await importCsv(t, file).expect(200);
    const found = res.body.errors.map((e: { row: number; externalId: string | null; field: string; error: string }) => ({ row: e.row, externalId: e.externalId, field: e.field, error: e.error }));
    expect(found).toEqual(expected('invalid/bad-rows.expected.json', found));
    expect(res.body).toMatchObject({ records: 13, inserted: 2, rejected: 11 });
    expect(atomic.body.error.details.errors.map((e: { row: number }) => e.row)).toEqual(found.map((e: { row: number }) => e.row));
    expect(res.body.errors[0].message).toBe('row 3: no external_id: every address needs a stable id so a re-import updates it in place');
    expect(await count()).toBe(before + 2);
    const stored = (await t.request.get('/api/addresses?external_id=BAD-01,BAD-10').expect(200)).body;
    expect(stored.features.map((f: { properties: { door: string } }) => f.properties.door)).toEqual(['科苑路5号', '科苑路23号']);

    expect((await importCsv(t, file).expect(200)).body).toMatchObject({ inserted: 0, updated: 0, unchanged: 2, rejected: 11 });
    expect((await importCsv(t, 'a,b\n1,2\n').expect(400)).body.error.code).toBe('missing_column');
    expect((await t.request.post('/api/addresses/import?crs=EPSG:9999').set('content-type', 'text/csv').send('x').expect(400)).body.error.code).toBe('unknown_crs');
    expect((await t.request.post('/api/addresses/import').set('content-type', 'application/octet-stream').send('x').expect(400)).body.error.code).toBe('format_required');
  });

  it('reads a GBK CSV and an XLSX workbook with Chinese column titles; the same register in both is one import', async () => {
    const gbk = await importCsv(t, fs.readFileSync(path.join(FIXTURES, 'valid/small-area-gbk.csv'))).expect(200);
    expect(gbk.body).toMatchObject({ records: 6, inserted: 6, rejected: 0 });
    const shop = (await t.request.get('/api/addresses?external_id=SZ-0003,SZ-0005').expect(200)).body.features;
    expect(shop[0].properties).toMatchObject({ kind: 'business', door: '科苑路3号', 备注: '便利店' });
    expect(shop[0].properties.grids[system.key]).toEqual({ code: 'C2A', status: 'assigned' });
    expect(shop[1].properties).toMatchObject({ households: 12, population: 30, 备注: '"引号", 逗号' });
    const rooms = (await t.request.get('/api/addresses?external_id=SZ-0001,SZ-0002').expect(200)).body.features;
    expect(rooms.map((f: { properties: { building_key: string; room: string } }) => [f.properties.building_key, f.properties.room])).toEqual([
      ['科苑路|科苑路1号|1栋', '101'],
      ['科苑路|科苑路1号|1栋', '102'],
    ]);

    const xlsx = await t.request
      .post('/api/addresses/import')
      .set('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      .send(fs.readFileSync(path.join(FIXTURES, 'valid/small-area.xlsx')))
      .expect(200);
    expect(xlsx.body).toMatchObject({ records: 6, inserted: 0, updated: 0, unchanged: 6 });
    const notZip = await t.request.post('/api/addresses/import?format=xlsx').set('content-type', 'application/octet-stream').send(Buffer.from('编号,经度\n')).expect(400);
    expect(notZip.body.error.code).toBe('invalid_xlsx');
  });

  it('re-imports its own GeoJSON output as a no-op', async () => {
    const out = (await t.request.get('/api/addresses?limit=10000').expect(200)).body;
    const res = await t.request.post('/api/addresses/import').set('content-type', 'application/geo+json').send(out).expect(200);
    expect(res.body).toMatchObject({ records: out.features.length, inserted: 0, updated: 0, unchanged: out.features.length });
    const declared = { ...out, crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4547' } } };
    expect((await t.request.post('/api/addresses/import?format=geojson').send(declared).expect(400)).body.error.code).toBe('crs_mismatch');
  });

  it('imports control points from every kind of declared CRS within 1 m of their WGS 84 truth', async () => {
    // Gauss-Krüger coordinates come from PostGIS (PROJ), independent of the proj4 path under test; GCJ-02
    // is the published pair for Tiananmen; BD-09 is that GCJ-02 point through Baidu's published formula.
    const truths: [string, string, number, number][] = [
      ['CRS-4490', 'EPSG:4490', 113.9031, 22.5042],
      ['CRS-4527', 'EPSG:4527', 116.3975, 39.9087],
      ['CRS-4547', 'EPSG:4547', 113.9031, 22.5042],
      ['CRS-4523', 'EPSG:4523', 104.0657, 30.6595],
      ['CRS-4507', 'EPSG:4507', 104.0657, 30.6595],
      ['CRS-4499', 'EPSG:4499', 126.6424, 45.7567],
    ];
    const rows: (string | number)[][] = [];
    for (const [id, crs, lon, lat] of truths) {
      const srid = Number(crs.slice(5));
      const { rows: p } = await t.db.knex.raw('select ST_X(g)::float8 as x, ST_Y(g)::float8 as y from ST_Transform(ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4490), ?::int) g', [lon, lat, srid]);
      rows.push([id, crs, p[0].x, p[0].y]);
    }
    const [gx, gy] = [116.41024449916938, 39.91640428150164];
    truths.push(['CRS-GCJ', 'GCJ-02', 116.404, 39.915]);
    rows.push(['CRS-GCJ', 'gcj02', gx, gy]);
    const z = Math.sqrt(gx * gx + gy * gy) + 0.00002 * Math.sin(gy * ((Math.PI * 3000) / 180));
    const theta = Math.atan2(gy, gx) + 0.000003 * Math.cos(gx * ((Math.PI * 3000) / 180));
    truths.push(['CRS-BD', 'BD-09', 116.404, 39.915]);
    rows.push(['CRS-BD', 'bd09', z * Math.cos(theta) + 0.0065, z * Math.sin(theta) + 0.006]);
    const csv = toCsv(['external_id', 'kind', 'crs', 'x', 'y'], rows.map(([id, crs, x, y]) => [id, 'public', crs, x, y]));
    expect((await importCsv(t, csv).expect(200)).body).toMatchObject({ inserted: truths.length, rejected: 0 });
    const { rows: errors } = await t.db.knex.raw(
      `select a.external_id, ST_Distance(a.geom::geography, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326)::geography)::float8 as m
       from addresses a join unnest(?::text[], ?::float8[], ?::float8[]) as t(id, lon, lat) on t.id = a.external_id order by 1`,
      [truths.map((r) => r[0]), truths.map((r) => r[2]), truths.map((r) => r[3])],
    );
    expect(errors).toHaveLength(truths.length);
    for (const e of errors) expect(e.m, e.external_id).toBeLessThan(1);

    // The declared CRS applies to rows without their own; projected axes swapped are named as such.
    const [, , x, y] = rows[2] as [string, string, number, number];
    const swapped = await importCsv(t, toCsv(['external_id', 'x', 'y'], [['CRS-SWAP', y, x]]), '&crs=EPSG:4547').expect(200);
    expect(swapped.body.errors[0]).toMatchObject({ row: 2, error: 'coordinates_out_of_range' });
    expect(swapped.body.errors[0].message).toMatch(/x and y look swapped/);
  });

  it('reads a system\'s grids for the index as stored, whole and within an area, outside and inside a transaction', async () => {
    // The server reads them by binary COPY, the embedded engine by pages of aggregates: both must give what
    // PostGIS holds, each geometry decoded from its own ST_AsBinary.
    const { rows } = await t.db.knex.raw(
      `select g.code, g.level, ST_AsBinary(g.geom) as wkb, g.geom && ST_MakeEnvelope(?::float8, ?::float8, ?::float8, ?::float8, 4326) as in_area,
         not exists (select 1 from grids c where c.system_id = g.system_id and c.parent_code = g.code) as leaf
       from grids g join grid_systems s on s.id = g.system_id where s.key = ?`,
      [X0, Y0, X0 + D / 2, Y0 + D / 2, system.key],
    );
    const id = Number((await t.db.knex.raw('select id from grid_systems where key = ?', [system.key])).rows[0].id);
    const order = new Map(system.levels.map((l) => [l.key, l.order]));
    const stored = (r: { code: string; level: string; wkb: Uint8Array; leaf: boolean }) => ({ code: r.code, order: order.get(r.level), leaf: r.leaf, coordinates: shapeCoordinates(shapeFromWkb(r.wkb)) });
    const read = (gs: IndexGrid[]) => gs.map((g) => ({ code: g.code, order: g.order, leaf: g.leaf, coordinates: shapeCoordinates(g.shape) })).sort((a, b) => (a.code < b.code ? -1 : 1));
    const whole = rows.map(stored).sort((a: { code: string }, b: { code: string }) => (a.code < b.code ? -1 : 1));
    const area = rows.filter((r: { in_area: boolean }) => r.in_area).map(stored).sort((a: { code: string }, b: { code: string }) => (a.code < b.code ? -1 : 1));
    expect(area.length).toBeGreaterThan(0);
    expect(area.length).toBeLessThan(whole.length);
    expect(read(await createAddressQueries(t.db.knex).indexGrids(id, order, null))).toEqual(whole);
    expect(read(await createAddressQueries(t.db.knex).indexGrids(id, order, [X0, Y0, X0 + D / 2, Y0 + D / 2]))).toEqual(area);
    await t.db.knex.transaction(async (trx) => {
      expect(read(await createAddressQueries(trx).indexGrids(id, order, null))).toEqual(whole);
      expect(read(await createAddressQueries(trx).indexGrids(id, order, [X0, Y0, X0 + D / 2, Y0 + D / 2]))).toEqual(area);
    });
  });
});

/** Compares with an expected-output file; UPDATE=1 writes it, and a missing file says how to create it. */
function expected(name: string, actual: unknown): unknown {
  const file = path.join(FIXTURES, name);
  if (process.env.UPDATE === '1') fs.writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run UPDATE=1 npx vitest run service/test/addresses.test.ts, review it, and commit it`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
