import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toCsv } from '../formats/csv';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { gridFeature, rect } from '../test/fixtures';
import { binary } from '../tiles/testing';

/**
 * Boundary changesets over HTTP (issue #14) on a system of our own: district D (2×2 cells of 0.01°) →
 * communities C1 (west), C2 (east) → grids C1A/C1B (south/north), C2A/C2B. The stories run in order and
 * build on each other, as a planner's year would.
 */
const X0 = 116.3;
const Y0 = 39.9;
const D = 0.01;
const KEY = 'cs-test';
const base = `/api/systems/${KEY}`;

const system = {
  key: KEY,
  name: '调整测试网格',
  kind: 'governance',
  levels: [
    { key: 'district', name: '区县', order: 1 },
    { key: 'community', name: '社区', order: 2 },
    { key: 'grid', name: '网格', order: 3 },
  ],
};

const grids = [
  gridFeature('D', 'district', null, rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D)),
  gridFeature('C1', 'community', 'D', rect(X0, Y0, X0 + D, Y0 + 2 * D)),
  gridFeature('C2', 'community', 'D', rect(X0 + D, Y0, X0 + 2 * D, Y0 + 2 * D)),
  gridFeature('C1A', 'grid', 'C1', rect(X0, Y0, X0 + D, Y0 + D)),
  gridFeature('C1B', 'grid', 'C1', rect(X0, Y0 + D, X0 + D, Y0 + 2 * D)),
  gridFeature('C2A', 'grid', 'C2', rect(X0 + D, Y0, X0 + 2 * D, Y0 + D)),
  gridFeature('C2B', 'grid', 'C2', rect(X0 + D, Y0 + D, X0 + 2 * D, Y0 + 2 * D)),
];

/** Addresses placed where the stories move boundaries. */
const addresses: [string, number, number, number, number][] = [
  ['MOVES-1', X0 + 0.5 * D, Y0 + 1.1 * D, 3, 7], // C1B until the C1A|C1B boundary moves north to 1.2
  ['MOVES-2', X0 + 0.3 * D, Y0 + 1.15 * D, 2, 4], // likewise
  ['STAYS-B', X0 + 0.5 * D, Y0 + 1.5 * D, 1, 2],
  ['STAYS-A', X0 + 0.5 * D, Y0 + 0.5 * D, 4, 9],
  ['EAST-LOW', X0 + 1.5 * D, Y0 + 0.95 * D, 2, 3], // C2A until its boundary with the north moves south to 0.9
];

const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });
const feature = (code: string, geometry: unknown, properties: Record<string, unknown> = {}) => ({ type: 'Feature', properties: { code, ...properties }, geometry });

describe.each(engines())('boundary changesets on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(system).expect(201);
    await t.request.post(`${base}/import`).send(fc(grids)).expect(200);
    const csv = toCsv(
      ['external_id', 'kind', 'door', 'households', 'population', 'lon', 'lat'],
      addresses.map(([id, lon, lat, h, p]) => [id, 'residential', `${id}号`, h, p, lon, lat]),
    );
    await t.request.post('/api/addresses/import?format=csv').set('content-type', 'text/csv').send(csv).expect(200);
  });
  afterAll(async () => t?.close());

  const gridOf = async (id: string) => (await t.request.get(`/api/addresses?external_id=${id}`).expect(200)).body.features[0].properties.grids[KEY]?.code ?? null;
  const propose = (reason: string, operations: unknown[]) =>
    t.request.post(`${base}/changesets`).send({ reason, operations });
  const step = (id: number, verb: string, body?: unknown) => t.request.post(`${base}/changesets/${id}/${verb}`).send(body ?? {});
  const dbNow = async () => (await t.db.knex.raw('select now() as t')).rows[0].t as Date;
  const state = async () =>
    (await t.request.get(`${base}/grids`).expect(200)).body.features.map((f: { properties: { code: string; version: number }; geometry: unknown }) => [f.properties.code, f.properties.version, f.geometry]);

  /** The `diff` layer of one tile of a boundary difference around a point (zoom 13: the whole test area): kinds and latitudes per piece. */
  const diffTile = async (source: string, lon: number, lat: number) => {
    const z = 13;
    const x = Math.floor(((lon + 180) / 360) * 2 ** z);
    const y = Math.floor(((1 - Math.log(Math.tan((lat * Math.PI) / 180) + 1 / Math.cos((lat * Math.PI) / 180)) / Math.PI) / 2) * 2 ** z);
    const res = await t.request.get(`/tiles/${source}/${z}/${x}/${y}.mvt`).buffer(true).parse(binary).expect(200);
    const layer = new VectorTile(new PbfReader(res.body)).layers.diff!;
    return Array.from({ length: layer.length }, (_, i) => {
      const f = layer.feature(i);
      const lats = (f.toGeoJSON(x, y, z).geometry as { coordinates: number[][][] }).coordinates.flat().map((p) => p[1]!);
      return { kind: `${f.properties.code}:${f.properties.change}:${f.properties.grid}`, south: Math.min(...lats), north: Math.max(...lats) };
    }).sort((a, b) => a.kind.localeCompare(b.kind));
  };
  /** An instant as a `history.{system}.{from}.{to}` tile id names it: UTC to the second, rounded up. */
  const second = (d: Date) => new Date(Math.ceil(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');

  it('moves a shared boundary: proof clean, impact table of the addresses that move, applied atomically with history', async () => {
    const before = await dbNow();
    // The date diff below starts at the next whole second: the import must lie before it, the change after.
    await new Promise((r) => setTimeout(r, 1000 - (before.getTime() % 1000) + 20));
    const res = await propose('C1A takes the new estate south of 1.2', [
      { op: 'redraw', grids: fc([feature('C1A', rect(X0, Y0, X0 + D, Y0 + 1.2 * D)), feature('C1B', rect(X0, Y0 + 1.2 * D, X0 + D, Y0 + 2 * D))]) },
    ]).expect(201);
    const cs = res.body;
    expect(cs).toMatchObject({ status: 'draft', proposedBy: 'test-admin', baseVersions: { C1A: 1, C1B: 1 } });
    expect(cs.proof).toMatchObject({ clean: true, families: ['C1'], findings: [] });
    expect(cs.proof.impact.addresses).toMatchObject({ moved: 2, households: 5, population: 11, moves: [{ from: 'C1B', to: 'C1A', addresses: 2, households: 5, population: 11 }] });
    expect(cs.proof.impact.codes).toEqual({ added: [], removed: [], recoded: [], changed: ['C1A', 'C1B'] });
    const areas = Object.fromEntries(cs.proof.impact.areas.map((a: { code: string; added_m2: number; removed_m2: number }) => [a.code, [a.added_m2, a.removed_m2]]));
    expect(areas.C1A[0]).toBeGreaterThan(150_000); // 0.002° × 0.01° ≈ 222 m × 855 m
    expect(areas.C1A[1]).toBe(0);
    expect(areas.C1B[1]).toBeCloseTo(areas.C1A[0], 0);
    const diff = (await t.request.get(`${base}/changesets/${cs.id}/diff`).expect(200)).body;
    expect(diff.features.map((f: { properties: { code: string; change: string } }) => `${f.properties.code}:${f.properties.change}`)).toEqual(['C1A:added', 'C1B:removed']);

    // The same preview as vector tiles (issue #14): a tile source of its own, in the catalog, the strip 1.0–1.2 where it moves.
    expect((await t.request.get('/tiles').expect(200)).body.tiles.map((s: { id: string }) => s.id)).toContain(`changesets.${cs.id}`);
    const tilejson = (await t.request.get(`/tiles/changesets.${cs.id}.json`).expect(200)).body;
    expect(tilejson.vector_layers.map((l: { id: string }) => l.id)).toEqual(['diff']);
    const strip = [
      { kind: 'C1A:added:changed', south: Y0 + D, north: Y0 + 1.2 * D },
      { kind: 'C1B:removed:changed', south: Y0 + D, north: Y0 + 1.2 * D },
    ];
    const preview = await diffTile(`changesets.${cs.id}`, X0 + 0.5 * D, Y0 + 1.1 * D);
    expect(preview.map((p) => p.kind)).toEqual(strip.map((p) => p.kind));
    preview.forEach((p, i) => {
      expect(p.south).toBeCloseTo(strip[i]!.south, 4);
      expect(p.north).toBeCloseTo(strip[i]!.north, 4);
    });

    // A draft never touches current data.
    expect(await gridOf('MOVES-1')).toBe('C1B');
    expect((await t.request.get(`${base}/grids/C1A`).expect(200)).body.properties.version).toBe(1);

    await step(cs.id, 'submit').expect(200);
    const approved = (await step(cs.id, 'approve', { comment: '同意' }).expect(200)).body;
    expect(approved).toMatchObject({ status: 'approved', reviewComment: '同意' });
    const applied = (await step(cs.id, 'apply').expect(200)).body;
    expect(applied.status).toBe('applied');
    expect(applied.events.map((e: { action: string }) => e.action)).toEqual(['create', 'submit', 'approve', 'apply']);

    // The re-assignment hook ran in the apply: the addresses the proof named moved, the others stayed.
    expect([await gridOf('MOVES-1'), await gridOf('MOVES-2'), await gridOf('STAYS-B'), await gridOf('STAYS-A')]).toEqual(['C1A', 'C1A', 'C1B', 'C1A']);

    const history = (await t.request.get(`${base}/grids/C1A/history`).expect(200)).body.features.map((f: { properties: Record<string, unknown> }) => f.properties);
    expect(history).toHaveLength(2);
    expect(history[0]).toMatchObject({ version: 1, changeset: null });
    expect(history[0].valid_to).toBe(history[1].valid_from);
    expect(history[1]).toMatchObject({ version: 2, changeset: cs.id, proposed_by: 'test-admin', approved_by: 'test-admin', valid_to: null });

    // How the grids stood before the change, and now.
    const then = (await t.request.get(`${base}/history?asOf=${before.toISOString()}`).expect(200)).body.features;
    const now = (await t.request.get(`${base}/history?asOf=${(await dbNow()).toISOString()}`).expect(200)).body.features;
    const c1a = (fs: { properties: { code: string }; geometry: { coordinates: number[][][][] } }[]) => fs.find((f) => f.properties.code === 'C1A')!.geometry.coordinates[0]![0]!;
    expect(Math.max(...c1a(then).map((p) => p[1]!))).toBeCloseTo(Y0 + D, 9);
    expect(Math.max(...c1a(now).map((p) => p[1]!))).toBeCloseTo(Y0 + 1.2 * D, 9);
    expect(then).toHaveLength(7);
    expect((await t.request.get(`${base}/history?asOf=2020-01-01`).expect(200)).body.features).toEqual([]);

    // Applied, the preview is gone; the difference between two instants shows the same strip as tiles.
    await t.request.get(`/tiles/changesets.${cs.id}.json`).expect(404);
    const dated = `history.${KEY}.${second(before)}.${second(await dbNow())}`;
    expect((await t.request.get(`/tiles/${dated}.json`).expect(200)).body.vector_layers.map((l: { id: string }) => l.id)).toEqual(['diff']);
    const changed = await diffTile(dated, X0 + 0.5 * D, Y0 + 1.1 * D);
    expect(changed.map((p) => p.kind)).toEqual(strip.map((p) => p.kind));
    expect(changed[0]!.south).toBeCloseTo(Y0 + D, 4);
    expect(changed[0]!.north).toBeCloseTo(Y0 + 1.2 * D, 4);
    await t.request.get(`/tiles/history.${KEY}.2026-02-30.2026-03-01.json`).expect(404);
    await t.request.get(`/tiles/history.no-such-system.2026-01-01.2026-03-01.json`).expect(404);
  });

  it('blocks approval until every finding is accepted, and allows only the transitions of each status', async () => {
    const res = await propose('shrink C2A (leaves a gap)', [{ op: 'redraw', grids: [feature('C2A', rect(X0 + D, Y0, X0 + 1.8 * D, Y0 + D))] }]).expect(201);
    const cs = res.body;
    expect(cs.proof.clean).toBe(false);
    const gap = cs.proof.findings.find((f: { kind: string }) => f.kind === 'gap');
    expect(gap).toMatchObject({ parent: 'C2', new: true });

    const early = await step(cs.id, 'apply').expect(409);
    expect(early.body.error).toMatchObject({ code: 'transition_not_allowed', details: { status: 'draft', allowed: ['edit', 'submit', 'rebase'] } });
    await step(cs.id, 'submit').expect(200);
    const refused = await step(cs.id, 'approve', {}).expect(409);
    expect(refused.body.error.code).toBe('findings_not_accepted');
    expect(refused.body.error.details.unaccepted.map((f: { id: string }) => f.id)).toContain(gap.id);
    await step(cs.id, 'reject', {}).expect(400);
    const rejected = (await step(cs.id, 'reject', { comment: '留下空白区域，不同意' }).expect(200)).body;
    expect(rejected).toMatchObject({ status: 'rejected', reviewComment: '留下空白区域，不同意' });
    expect((await step(cs.id, 'apply').expect(409)).body.error.details.allowed).toEqual(['reopen']);
    await step(cs.id, 'reopen').expect(200);
    await step(cs.id, 'submit').expect(200);
    const accepted = (await step(cs.id, 'approve', { accept: cs.proof.findings.map((f: { id: string }) => f.id) }).expect(200)).body;
    expect(accepted.acceptedFindings).toEqual(cs.proof.findings.map((f: { id: string }) => f.id));
    // Not applied: the gap stays a proposal. Bad operations are refused with the operation named.
    const bad = await propose('x', [{ op: 'split', code: 'NOPE', into: [] }]).expect(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_operation' });
    expect(bad.body.error.message).toContain('operation 0');
    const unknownField = await t.request.post(`${base}/changesets`).send({ reason: 'x', operations: [{ op: 'rename', code: 'C1A', colour: 'red' }] }).expect(400);
    expect(JSON.stringify(unknownField.body.error)).toContain('colour');
  });

  it('splits a grid in two, never reuses its retired code, and merges the parts under a new code', async () => {
    const split = (
      await propose('C2B grows: split west/east', [
        { op: 'split', code: 'C2B', into: fc([feature('C2B1', rect(X0 + D, Y0 + D, X0 + 1.5 * D, Y0 + 2 * D)), feature('C2B2', rect(X0 + 1.5 * D, Y0 + D, X0 + 2 * D, Y0 + 2 * D))]) },
      ]).expect(201)
    ).body;
    expect(split.proof).toMatchObject({ clean: true });
    expect(split.proof.impact.codes).toMatchObject({ added: ['C2B1', 'C2B2'], removed: ['C2B'] });
    await step(split.id, 'submit').expect(200);
    await step(split.id, 'approve').expect(200);
    await step(split.id, 'apply').expect(200);
    const codes = (await state()).map((g: unknown[]) => g[0]);
    expect(codes).toEqual(['C1', 'C1A', 'C1B', 'C2', 'C2A', 'C2B1', 'C2B2', 'D']);
    const retiredHistory = (await t.request.get(`${base}/grids/C2B/history`).expect(200)).body.features;
    expect(retiredHistory).toHaveLength(1);
    expect(retiredHistory[0].properties.valid_to).not.toBeNull();

    const reuse = await propose('reuse', [{ op: 'add', grids: [feature('C2B', rect(X0, Y0, X0 + D, Y0 + D), { level: 'grid', parent: 'C2' })] }]).expect(400);
    expect(reuse.body.error.message).toContain('retired');

    const merge = (await propose('merge back', [{ op: 'merge', codes: ['C2B1', 'C2B2'], into: { code: 'C2C', name: '北区' } }]).expect(201)).body;
    expect(merge.proof).toMatchObject({ clean: true });
    expect(merge.proof.impact.codes).toMatchObject({ added: ['C2C'], removed: ['C2B1', 'C2B2'] });
    await step(merge.id, 'submit').expect(200);
    await step(merge.id, 'approve').expect(200);
    await step(merge.id, 'apply').expect(200);
    const c2c = (await t.request.get(`${base}/grids/C2C`).expect(200)).body;
    expect(c2c.properties).toMatchObject({ name: '北区', parent: 'C2', level: 'grid' });
    const area = (await t.db.knex.raw(`select ST_Area(geom::geography) as a, ST_Area(ST_MakeEnvelope(?, ?, ?, ?, 4326)::geography) as e from grids where code = 'C2C'`, [X0 + D, Y0 + D, X0 + 2 * D, Y0 + 2 * D])).rows[0];
    expect(area.a).toBeCloseTo(area.e, 0);
  });

  it('refuses to apply over grids that changed since the base (409 changeset_stale) until rebased', async () => {
    const cs = (await propose('rename C1B', [{ op: 'rename', code: 'C1B', name: '北苑' }]).expect(201)).body;
    await step(cs.id, 'submit').expect(200);
    await step(cs.id, 'approve').expect(200);
    await t.request.patch(`${base}/grids/C1B`).send({ properties: { type: 'residential' } }).expect(200);
    const stale = await step(cs.id, 'apply').expect(409);
    expect(stale.body.error).toMatchObject({ code: 'changeset_stale', details: { grids: [{ code: 'C1B', base: 2, current: 3 }] } });
    const rebased = (await step(cs.id, 'rebase').expect(200)).body;
    expect(rebased).toMatchObject({ status: 'submitted', baseVersions: { C1B: 3 }, reviewedBy: null });
    await step(cs.id, 'approve').expect(200);
    await step(cs.id, 'apply').expect(200);
    expect((await t.request.get(`${base}/grids/C1B`).expect(200)).body.properties).toMatchObject({ name: '北苑', type: 'residential', version: 4 });
  });

  it('leaves grids, addresses, history and the changeset untouched when apply fails midway', async () => {
    const cs = (
      await propose('C2A gives its north strip to C2C', [
        { op: 'redraw', grids: [feature('C2A', rect(X0 + D, Y0, X0 + 2 * D, Y0 + 0.9 * D)), feature('C2C', rect(X0 + D, Y0 + 0.9 * D, X0 + 2 * D, Y0 + 2 * D))] },
      ]).expect(201)
    ).body;
    expect(cs.proof.impact.addresses.moves).toEqual([{ from: 'C2A', to: 'C2C', addresses: 1, households: 2, population: 3 }]);
    await step(cs.id, 'submit').expect(200);
    await step(cs.id, 'approve').expect(200);
    const grid0 = await state();
    const versions0 = (await t.db.knex.raw('select count(*)::int as n from grid_versions')).rows[0].n;
    // A real failure inside the database, after the grids and addresses were written: the history insert of C2C.
    await t.db.knex.raw(`create function cs_test_fail() returns trigger language plpgsql as $f$ begin
      if new.code = 'C2C' then raise exception 'injected failure'; end if; return new; end $f$`);
    await t.db.knex.raw('create trigger cs_test_fail before insert on grid_versions for each row execute function cs_test_fail()');
    await step(cs.id, 'apply').expect(500);
    expect(await state()).toEqual(grid0);
    expect(await gridOf('EAST-LOW')).toBe('C2A');
    expect((await t.db.knex.raw('select count(*)::int as n from grid_versions')).rows[0].n).toBe(versions0);
    expect((await t.request.get(`${base}/changesets/${cs.id}`).expect(200)).body.status).toBe('approved');

    await t.db.knex.raw('drop trigger cs_test_fail on grid_versions');
    await step(cs.id, 'apply').expect(200);
    expect(await gridOf('EAST-LOW')).toBe('C2C');
  });

  it('removes a grid giving its area to its neighbour, and recodes with history following the grid', async () => {
    const cs = (await propose('C1 becomes one grid', [{ op: 'remove', code: 'C1B', giveTo: ['C1A'] }, { op: 'rename', code: 'C1A', newCode: 'C1X' }]).expect(201)).body;
    expect(cs.proof).toMatchObject({ clean: true });
    expect(cs.proof.impact.codes).toMatchObject({ removed: ['C1B'], recoded: [{ from: 'C1A', to: 'C1X' }], changed: ['C1X'] });
    expect(cs.proof.impact.addresses.moves).toEqual([
      { from: 'C1A', to: 'C1X', addresses: 3, households: 9, population: 20 },
      { from: 'C1B', to: 'C1X', addresses: 1, households: 1, population: 2 },
    ]);
    await step(cs.id, 'submit').expect(200);
    await step(cs.id, 'approve').expect(200);
    await step(cs.id, 'apply').expect(200);
    expect(await gridOf('STAYS-B')).toBe('C1X');
    const history = (await t.request.get(`${base}/grids/C1X/history`).expect(200)).body.features.map((f: { properties: { code: string; version: number } }) => `${f.properties.code}@${f.properties.version}`);
    expect(history).toEqual(['C1A@1', 'C1A@2', 'C1X@3']);
    await t.request.get(`${base}/grids/C1B/history`).expect(200);
    await t.request.get(`${base}/grids/NEVER/history`).expect(404);
  });
});
