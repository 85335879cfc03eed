import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FeatureCollection, Polygon } from 'geojson';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, toCsv } from '../formats/csv';
import { writeShapefileZip } from '../formats/shapefile';
import { readXlsxRows } from '../formats/xlsx-reader';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { gridFeature, rect } from '../test/fixtures';

/**
 * The rest of a changeset's impact and the history reads (issue #14), on a system of our own: district D
 * (2×2 cells of 0.01°) → communities C1 (west), C2 (east) → grids C1A/C1B (south/north), C2A/C2B; grids
 * expect 1–5 households, communities 2–3 child grids. A bank system of two grids covers the same area.
 * The stories run in order: the first applies a boundary move that the history reads then look back on.
 */
const X0 = 116.5;
const Y0 = 39.7;
const D = 0.01;
const KEY = 'cs-impact';
const BANK = 'cs-impact-bank';
const base = `/api/systems/${KEY}`;

const system = {
  key: KEY,
  name: '调整影响测试网格',
  kind: 'governance',
  levels: [
    { key: 'district', name: '区县', order: 1 },
    { key: 'community', name: '社区', order: 2, children: { min: 2, max: 3 } },
    { key: 'grid', name: '网格', order: 3, households: { min: 1, max: 5 } },
  ],
};
const BANK2 = 'cs-impact-bank2';
const bankSystem = (key: string, name: string) => ({ key, name, kind: 'bank', levels: [{ key: 'grid', name: '金融服务网格', order: 1 }] });

const grids = [
  gridFeature('D', 'district', null, rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D)),
  gridFeature('C1', 'community', 'D', rect(X0, Y0, X0 + D, Y0 + 2 * D)),
  gridFeature('C2', 'community', 'D', rect(X0 + D, Y0, X0 + 2 * D, Y0 + 2 * D)),
  gridFeature('C1A', 'grid', 'C1', rect(X0, Y0, X0 + D, Y0 + D)),
  gridFeature('C1B', 'grid', 'C1', rect(X0, Y0 + D, X0 + D, Y0 + 2 * D)),
  gridFeature('C2A', 'grid', 'C2', rect(X0 + D, Y0, X0 + 2 * D, Y0 + D)),
  gridFeature('C2B', 'grid', 'C2', rect(X0 + D, Y0 + D, X0 + 2 * D, Y0 + 2 * D)),
];
/** Two banks: one serves the west half, the other the east half. */
const bankGrids = [gridFeature('B1', 'grid', null, rect(X0, Y0, X0 + D, Y0 + 2 * D))];
const bank2Grids = [gridFeature('K1', 'grid', null, rect(X0 + D, Y0, X0 + 2 * D, Y0 + 2 * D))];

const MOVES = [X0 + 0.5 * D, Y0 + 1.1 * D] as const; // C1B until the C1A|C1B boundary moves north to 1.2
const STAYS = [X0 + 0.5 * D, Y0 + 1.5 * D] as const;
const addresses: [string, number, number, number, number][] = [
  ['M1', MOVES[0], MOVES[1], 3, 7],
  ['M2', X0 + 0.3 * D, Y0 + 1.15 * D, 2, 4],
  ['S1', STAYS[0], STAYS[1], 1, 2],
  ['S2', X0 + 0.5 * D, Y0 + 0.5 * D, 4, 9],
  ['E1', X0 + 1.5 * D, Y0 + 0.5 * D, 2, 3],
  ['E2', X0 + 1.5 * D, Y0 + 1.5 * D, 2, 3],
];

const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });
const feature = (code: string, geometry: unknown, properties: Record<string, unknown> = {}) => ({ type: 'Feature', properties: { code, ...properties }, geometry });
const ymax = (g: { coordinates: number[][][] | number[][][][] }) => Math.max(...JSON.stringify(g.coordinates).match(/-?\d+\.\d+/g)!.map(Number).filter((v) => v < 60));

describe.each(engines())('changeset impact and history reads on %s PostGIS', (engine) => {
  let t: TestApp;
  let t0: string;
  let t1: string;
  let moved: number;
  let stays: number;
  let firstChangeset: number;
  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(system).expect(201);
    await t.request.post(`${base}/import`).send(fc(grids)).expect(200);
    for (const [key, name, features] of [[BANK, '调整测试银行', bankGrids], [BANK2, '另一银行', bank2Grids]] as const) {
      await t.request.post('/api/systems').send(bankSystem(key, name)).expect(201);
      await t.request.post(`/api/systems/${key}/import`).send(fc([...features])).expect(200);
    }
    const csv = toCsv(
      ['external_id', 'kind', 'door', 'households', 'population', 'lon', 'lat'],
      addresses.map(([id, lon, lat, h, p]) => [id, 'residential', `${id}号`, h, p, lon, lat]),
    );
    await t.request.post('/api/addresses/import?format=csv').set('content-type', 'text/csv').send(csv).expect(200);
    const report = async (x: number, y: number) =>
      (await t.request.post('/api/incidents').send({ category: '0101', point: { x, y }, source: 'hotline', description: '井盖缺失' }).expect(201)).body.id as number;
    moved = await report(MOVES[0], MOVES[1]);
    stays = await report(STAYS[0], STAYS[1]);
  });
  afterAll(async () => t?.close());

  const step = (id: number, verb: string, body?: unknown) => t.request.post(`${base}/changesets/${id}/${verb}`).send(body ?? {});
  const dbNow = async () => ((await t.db.knex.raw('select now() as t')).rows[0].t as Date).toISOString();
  const approveAndApply = async (id: number, accept: string[] = []) => {
    await step(id, 'submit').expect(200);
    await step(id, 'approve', { accept }).expect(200);
    return (await step(id, 'apply').expect(200)).body;
  };

  it('takes a redraw from a zipped Shapefile, names the open incident that moves and the size rules, and re-routes the case on apply', async () => {
    const draft = (await t.request.post(`${base}/changesets`).send({ reason: '新建小区划入C1A', operations: [{ op: 'rename', code: 'C1B', name: '北苑' }] }).expect(201)).body;
    // The planner's file, as a GIS exports it: upper-case DBF fields, WGS 84 .prj, attributes the operation ignores.
    const zip = await writeShapefileZip(
      {
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', properties: { CODE: 'C1A', NAME: '南苑', REMARK: '调整' }, geometry: rect(X0, Y0, X0 + D, Y0 + 1.2 * D) as Polygon },
          { type: 'Feature', properties: { CODE: 'C1B', NAME: null, REMARK: '调整' }, geometry: rect(X0, Y0 + 1.2 * D, X0 + D, Y0 + 2 * D) as Polygon },
        ],
      },
      { name: 'c1-redraw', encoding: 'gbk' },
    );
    const res = await t.request.post(`${base}/changesets/${draft.id}/operations/file?op=redraw`).set('content-type', 'application/zip').send(zip).expect(200);
    const cs = res.body;
    expect(cs.operations[1]).toMatchObject({ op: 'redraw', grids: [{ properties: { code: 'C1A', name: '南苑' } }, { properties: { code: 'C1B' } }] });
    expect(cs.operations[1].grids[0].properties).not.toHaveProperty('remark');
    expect(cs.proof).toMatchObject({ clean: true });
    expect(cs.proof.impact.addresses.moves).toEqual([{ from: 'C1B', to: 'C1A', addresses: 2, households: 5, population: 11 }]);
    // The open case in the moved strip is named; the one further north stays.
    expect(cs.proof.impact.incidents).toMatchObject({ moved: 1, cases: [{ id: moved, from: 'C1B', to: 'C1A', status: 'reported' }] });
    // Size rules after the change: C1A 4 + 5 = 9 households (rule 1–5, new); C1B had 6 (already broken), now 1.
    expect(cs.proof.impact.sizeRules).toEqual([expect.objectContaining({ id: 'households:C1A', rule: 'households', actual: 9, expected: { min: 1, max: 5 }, new: true })]);
    expect(cs.proof.impact.bankOverlay).toBeNull();
    expect(cs.proof.impact.codes.changed).toEqual(['C1A', 'C1B']);

    // A file that is not a shapefile, or an operation missing what it acts on, is refused and nothing changes.
    await t.request.post(`${base}/changesets/${draft.id}/operations/file?op=redraw`).set('content-type', 'application/zip').send(Buffer.from('PK\u0003\u0004 broken')).expect(400);
    const noCode = await t.request.post(`${base}/changesets/${draft.id}/operations/file?op=split`).send(fc([feature('X', rect(X0, Y0, X0 + D, Y0 + D))])).expect(400);
    expect(noCode.body.error.message).toContain('code');
    expect((await t.request.get(`${base}/changesets/${draft.id}`).expect(200)).body.operations).toHaveLength(2);

    t0 = await dbNow();
    const applied = await approveAndApply(draft.id);
    firstChangeset = draft.id;
    t1 = await dbNow();
    expect(applied.events.at(-1)).toMatchObject({ action: 'apply', rerouted: [{ id: moved, from: 'C1B', to: 'C1A' }] });
    const { incident, log } = (await t.request.get(`/api/incidents/${moved}`).expect(200)).body;
    expect(incident.unit.code).toBe('C1A');
    expect(incident.grids.find((s: { system: string }) => s.system === KEY).chain[0].code).toBe('C1A');
    expect(log.at(-1)).toMatchObject({ action: 'reroute', details: { reasons: ['boundary_changed'], changeset: draft.id, from: { grid: 'C1B' }, to: { grid: 'C1A' } } });
    expect((await t.request.get(`/api/incidents/${stays}`).expect(200)).body.incident.unit.code).toBe('C1B');
    expect((await t.request.get(`${base}/grids/C1A`).expect(200)).body.properties.name).toBe('南苑');
  });

  it('answers point lookups and exports as of a date before and after the change', async () => {
    const at = (asOf?: string) => t.request.get(`/api/point?lon=${MOVES[0]}&lat=${MOVES[1]}${asOf ? `&asOf=${encodeURIComponent(asOf)}` : ''}`).expect(200);
    const chain = (r: Response) => r.body.systems.find((s: { system: string }) => s.system === KEY).chain.map((l: { code: string }) => l.code);
    expect(chain(await at(t0))).toEqual(['C1B', 'C1', 'D']);
    expect(chain(await at(t1))).toEqual(['C1A', 'C1', 'D']);
    expect(chain(await at())).toEqual(['C1A', 'C1', 'D']);
    expect((await at('2020-01-01')).body.systems.find((s: { system: string }) => s.system === KEY)).toBeUndefined();
    const bad = await t.request.get(`/api/point?lon=${MOVES[0]}&lat=${MOVES[1]}&asOf=2026-02-30`).expect(400);
    expect(JSON.stringify(bad.body.error)).toContain('asOf');

    const exported = async (asOf: string) => (await t.request.get(`${base}/export?format=geojson&asOf=${encodeURIComponent(asOf)}`).expect(200)).body as FeatureCollection;
    const c1a = (f: FeatureCollection) => f.features.find((x) => x.properties!.code === 'C1A')!;
    const before = await exported(t0);
    const after = await exported(t1);
    expect(before.features).toHaveLength(7);
    expect(ymax(c1a(before).geometry as Polygon)).toBeCloseTo(Y0 + D, 9);
    expect(ymax(c1a(after).geometry as Polygon)).toBeCloseTo(Y0 + 1.2 * D, 9);
    expect(c1a(before).properties).toMatchObject({ name: '网格C1A' });
    expect(c1a(after).properties).toMatchObject({ name: '南苑' });
    const csv = await t.request.get(`${base}/export?format=csv&lang=en&asOf=${encodeURIComponent(t0)}`).expect(200);
    expect(csv.headers['content-disposition']).toContain(`${KEY}-grids-${t0.slice(0, 10)}-register.csv`);
    expect(csv.text).toContain('C1B,网格C1B,grid,C1');
  });

  it('lists what changed between two dates, as JSON and as a diff layer', async () => {
    const diff = (await t.request.get(`${base}/history/diff?from=${encodeURIComponent(t0)}&to=${encodeURIComponent(t1)}`).expect(200)).body;
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(diff.changed.map((c: { codeAfter: string }) => c.codeAfter)).toEqual(['C1A', 'C1B']);
    const [a, b] = diff.changed;
    expect(a.added_m2).toBeGreaterThan(150_000);
    expect(a.removed_m2).toBe(0);
    expect(b.removed_m2).toBeCloseTo(a.added_m2, 0);
    expect(a.after_m2 - a.before_m2).toBeCloseTo(a.added_m2, 0);
    const layer = (await t.request.get(`${base}/history/diff?from=${encodeURIComponent(t0)}&to=${encodeURIComponent(t1)}&format=geojson`).expect(200)).body;
    expect(layer.features.map((f: { properties: { code: string; change: string } }) => `${f.properties.code}:${f.properties.change}`)).toEqual(['C1A:added', 'C1B:removed']);
    // Nothing changed before the first import; reversed dates show the change undone.
    expect((await t.request.get(`${base}/history/diff?from=2020-01-01&to=2020-06-01`).expect(200)).body.changed).toEqual([]);
    const back = (await t.request.get(`${base}/history/diff?from=${encodeURIComponent(t1)}&to=${encodeURIComponent(t0)}&format=geojson`).expect(200)).body;
    expect(back.features.map((f: { properties: { code: string; change: string } }) => `${f.properties.code}:${f.properties.change}`)).toEqual(['C1A:removed', 'C1B:added']);
  });

  it('splits a grid into three from a GeoJSON file, with the fan-out and household rules after, and shows the split in the date diff', async () => {
    const draft = (await t.request.post(`${base}/changesets`).send({ reason: 'C2B 拆分', operations: [{ op: 'rename', code: 'C2A', name: '东南' }] }).expect(201)).body;
    const parts = fc([
      feature('C2B1', rect(X0 + D, Y0 + D, X0 + 1.3 * D, Y0 + 2 * D)),
      feature('C2B2', rect(X0 + 1.3 * D, Y0 + D, X0 + 1.6 * D, Y0 + 2 * D)),
      feature('C2B3', rect(X0 + 1.6 * D, Y0 + D, X0 + 2 * D, Y0 + 2 * D)),
    ]);
    const cs = (await t.request.post(`${base}/changesets/${draft.id}/operations/file?op=split&code=C2B`).set('content-type', 'application/geo+json').send(parts).expect(200)).body;
    expect(cs.proof.impact.codes).toMatchObject({ added: ['C2B1', 'C2B2', 'C2B3'], removed: ['C2B'] });
    // C2 now has 4 child grids: the fan-out rule (2–3) is broken by this change.
    expect(cs.proof.impact.sizeRules).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'children:C2', actual: 4, new: true })]));
    // E2 (2 households) goes to C2B2; C2B1 and C2B3 are empty, under the 1-household minimum.
    expect(cs.proof.impact.sizeRules.map((f: { id: string }) => f.id)).toEqual(['children:C2', 'households:C2B1', 'households:C2B3']);
    const from = await dbNow();
    await approveAndApply(cs.id);
    const to = await dbNow();
    const diff = (await t.request.get(`${base}/history/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`).expect(200)).body;
    expect(diff.added.map((c: { codeAfter: string }) => c.codeAfter)).toEqual(['C2B1', 'C2B2', 'C2B3']);
    expect(diff.removed).toMatchObject([{ codeBefore: 'C2B', codeAfter: null }]);
    expect(diff.changed).toMatchObject([{ codeAfter: 'C2A', added_m2: 0, removed_m2: 0 }]);
  });

  it('writes the change record as JSON, CSV and XLSX: one row per grid, with codes, areas, proposer, approver and dates', async () => {
    const rows = (await t.request.get(`${base}/change-record`).expect(200)).body.rows;
    const first = rows.filter((r: { changeset: number }) => r.changeset === firstChangeset);
    expect(first.map((r: { codeBefore: string; codeAfter: string; operation: string }) => `${r.codeBefore}>${r.codeAfter}:${r.operation}`)).toEqual(['C1A>C1A:redraw', 'C1B>C1B:rename+redraw']);
    expect(first[0]).toMatchObject({ reason: '新建小区划入C1A', proposedBy: 'test-admin', approvedBy: 'test-admin' });
    expect(first[0].areaAfter_m2).toBeGreaterThan(first[0].areaBefore_m2);
    expect(first[0].approvedAt <= first[0].appliedAt).toBe(true);
    const split = rows.filter((r: { changeset: number }) => r.changeset !== firstChangeset);
    expect(split.map((r: { codeBefore: string; codeAfter: string | null }) => `${r.codeBefore}>${r.codeAfter ?? '-'}`)).toEqual(['C2A>C2A', 'C2B>C2B1', 'C2B>C2B2', 'C2B>C2B3', 'C2B>-']);

    const csv = await t.request.get(`${base}/change-record?format=csv`).expect(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const records: string[][] = [];
    for await (const r of parseCsv((async function* () { yield Buffer.from(csv.text); })())) records.push(r.values);
    expect(records[0]!.slice(0, 5)).toEqual(['调整单号', '调整原因', '操作', '原网格编码', '新网格编码']);
    expect(records).toHaveLength(rows.length + 1);
    expect(records[1]!.slice(1, 5)).toEqual(['新建小区划入C1A', 'redraw', 'C1A', 'C1A']);

    const xlsx = await t.request.get(`${base}/change-record?format=xlsx&lang=en`).buffer(true).parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    }).expect(200);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cs-record-')), 'record.xlsx');
    fs.writeFileSync(file, xlsx.body as Buffer);
    const sheet: string[][] = [];
    for await (const r of readXlsxRows(file)) sheet.push(r.values);
    fs.rmSync(path.dirname(file), { recursive: true });
    expect(sheet[0]!.slice(0, 7)).toEqual(['changeset', 'reason', 'operation', 'code_before', 'code_after', 'area_before_m2', 'area_after_m2']);
    expect(sheet).toHaveLength(rows.length + 1);
    expect(Number(sheet[1]![6])).toBeCloseTo(first[0].areaAfter_m2, 1);
  });

  it('shows a bank changeset the blank and overlapped area before and after', async () => {
    const cs = (
      await t.request
        .post(`/api/systems/${BANK}/changesets`)
        .send({ reason: 'B1 延伸', operations: [{ op: 'redraw', grids: [feature('B1', rect(X0, Y0 + 0.1 * D, X0 + 1.2 * D, Y0 + 2 * D))] }] })
        .expect(201)
    ).body;
    const o = cs.proof.impact.bankOverlay;
    expect(o.systems).toEqual([BANK, BANK2]);
    expect(o.before).toEqual({ blank_m2: 0, overlap_m2: 0 });
    // After: the strip 0.2 × 1.9 cells east of the old boundary is covered by both banks; B1's old south strip by none.
    const strip = (w: number, h: number) => w * D * 111_320 * Math.cos((Y0 * Math.PI) / 180) * h * D * 110_950;
    expect(o.after.overlap_m2 / strip(0.2, 1.9)).toBeCloseTo(1, 1);
    expect(o.after.blank_m2 / strip(1, 0.1)).toBeCloseTo(1, 1);
  });

  it('filters history, the date diff and the change record to the caller’s area', async () => {
    await t.request.post('/api/access/users').send({ username: 'c2-auditor', password: 'c2-auditor-password-1', roles: [{ role: 'community', system: KEY, code: 'C2' }] }).expect(201);
    const token = (await t.request.post('/api/auth/login').send({ username: 'c2-auditor', password: 'c2-auditor-password-1' }).expect(200)).body.token;
    const as = (url: string) => t.request.get(url).set('Authorization', `Bearer ${token}`);
    const now = await dbNow();
    const codes = (await as(`${base}/history?asOf=${encodeURIComponent(now)}`).expect(200)).body.features.map((f: { properties: { code: string } }) => f.properties.code);
    expect(codes).toEqual(['C2', 'C2A', 'C2B1', 'C2B2', 'C2B3']);
    // The retired C2B was in C2: a C2 caller sees it in the past.
    const past = (await as(`${base}/history?asOf=${encodeURIComponent(t1)}`).expect(200)).body.features.map((f: { properties: { code: string } }) => f.properties.code);
    expect(past).toEqual(['C2', 'C2A', 'C2B']);
    expect((await as(`${base}/history/diff?from=${encodeURIComponent(t0)}&to=${encodeURIComponent(t1)}`).expect(200)).body.changed).toEqual([]);
    const rows = (await as(`${base}/change-record`).expect(200)).body.rows;
    expect(rows.every((r: { changeset: number }) => r.changeset !== firstChangeset)).toBe(true);
    expect(rows.length).toBeGreaterThan(0);
    const exported = (await as(`${base}/export?asOf=${encodeURIComponent(t0)}`).expect(200)).body.features.map((f: { properties: { code: string } }) => f.properties.code);
    expect(exported).toEqual(['C2', 'C2A', 'C2B']);
    // Proposing is not a community's permission.
    await t.request.post(`${base}/changesets`).set('Authorization', `Bearer ${token}`).send({ reason: 'x', operations: [{ op: 'rename', code: 'C2A', name: 'y' }] }).expect(403);

    // The differences as tiles: a dated one is the whole system's (a tile is not cut to a caller's grids), so
    // not for a C2 caller; a changeset's preview is for whoever may read the system's changesets, as its routes.
    const dated = `/tiles/history.${KEY}.2020-01-01.2020-06-01.json`;
    await as(dated).expect(404);
    expect((await t.request.get(dated).expect(200)).body.vector_layers.map((l: { id: string }) => l.id)).toEqual(['diff']);
    const draft = (await t.request.post(`${base}/changesets`).send({ reason: '改名', operations: [{ op: 'rename', code: 'C2A', name: '新名' }] }).expect(201)).body;
    expect((await as('/tiles').expect(200)).body.tiles.map((s: { id: string }) => s.id)).toContain(`changesets.${draft.id}`);
    await as(`/tiles/changesets.${draft.id}.json`).expect(200);
  });
});
