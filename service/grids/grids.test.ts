import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { cityOrigin, gridFeature, rect, smallCity, smallSystem } from '../test/fixtures';

const { x: X0, y: Y0, d: D } = cityOrigin;
const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });

async function snapshot(t: TestApp, system: string) {
  const res = await t.request.get(`/api/systems/${system}/grids`).expect(200);
  return res.body.features.map((f: { properties: Record<string, unknown>; geometry: unknown }) => ({
    code: f.properties.code,
    version: f.properties.version,
    geometry: f.geometry,
  }));
}

describe.each(engines())('grid systems and grids on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(smallSystem).expect(201);
    const res = await t.request.post(`/api/systems/${smallSystem.key}/import`).send(fc(smallCity())).expect(200);
    expect(res.body).toMatchObject({ inserted: 7, deleted: 0, flagged: [] });
  });
  afterAll(async () => t?.close());

  it('answers health and version with the engine and its PostGIS capabilities', async () => {
    expect((await t.request.get('/healthz').expect(200)).body).toEqual({ status: 'ok', engine });
    const version = (await t.request.get('/version').expect(200)).body;
    expect(version.postgis.postgisVersion).toMatch(/^3\./);
    expect(version.postgis.asMvt).toBe(engine === 'server');
  });

  it('lists systems with grid counts per level', async () => {
    const { systems } = (await t.request.get('/api/systems').expect(200)).body;
    expect(systems).toHaveLength(1);
    expect(systems[0]).toMatchObject({ key: 'test-gov', grids: 7, gridsByLevel: { district: 1, street: 2, community: 4 } });
    const one = (await t.request.get('/api/systems/test-gov').expect(200)).body;
    expect(one.bbox.map((v: number) => +v.toFixed(6))).toEqual([X0, Y0, X0 + 2 * D, Y0 + 2 * D]);
  });

  it('rejects a bad system definition with the field named', async () => {
    const res = await t.request.post('/api/systems').send({ key: 'Bad Key', name: 'x', kind: 'nope', levels: [] }).expect(400);
    expect(res.body.error.code).toBe('invalid_request');
    const fields = res.body.error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['key', 'kind', 'levels']));
    await t.request.post('/api/systems').send(smallSystem).expect(409);
  });

  it('filters grids by level, parent and bbox, and walks the tree', async () => {
    const byLevel = (await t.request.get('/api/systems/test-gov/grids?level=community').expect(200)).body;
    expect(byLevel.features.map((f: { id: string }) => f.id)).toEqual(['D01A', 'D01B', 'D02A', 'D02B']);
    const byParent = (await t.request.get('/api/systems/test-gov/grids?parent=D02').expect(200)).body;
    expect(byParent.features.map((f: { id: string }) => f.id)).toEqual(['D02A', 'D02B']);
    const bbox = `${X0 + 0.2 * D},${Y0 + 0.2 * D},${X0 + 0.4 * D},${Y0 + 0.4 * D}`;
    const byBbox = (await t.request.get(`/api/systems/test-gov/grids?bbox=${bbox}`).expect(200)).body;
    expect(byBbox.features.map((f: { id: string }) => f.id)).toEqual(['D', 'D01', 'D01A']);
    const ancestors = (await t.request.get('/api/systems/test-gov/grids/D02B/ancestors').expect(200)).body;
    expect(ancestors.features.map((f: { id: string }) => f.id)).toEqual(['D02', 'D']);
    const subtree = (await t.request.get('/api/systems/test-gov/grids/D01/subtree').expect(200)).body;
    expect(subtree.features.map((f: { id: string }) => f.id)).toEqual(['D01', 'D01A', 'D01B']);
    const one = (await t.request.get('/api/systems/test-gov/grids/D01A').expect(200)).body;
    expect(one.properties).toMatchObject({ code: 'D01A', level: 'community', parent: 'D01', households: 320 });
    expect(one.properties.people[0]).toEqual({ name: '张伟', role: 'responsible', title: '网格长', phone: '13800000001' });
    await t.request.get('/api/systems/test-gov/grids?bbox=1,2,3').expect(400);
    expect((await t.request.get('/api/systems/test-gov/grids?level=grid').expect(400)).body.error.code).toBe('unknown_level');
    expect((await t.request.get('/api/systems/test-gov/grids/NOPE').expect(404)).body.error.code).toBe('grid_not_found');
    expect((await t.request.get('/api/systems/nope/grids').expect(404)).body.error.code).toBe('system_not_found');
  });

  it('finds the chain of grids containing a point, finest first, and says so outside all grids', async () => {
    const inside = (await t.request.get(`/api/point?lon=${X0 + 1.5 * D}&lat=${Y0 + 0.5 * D}`).expect(200)).body;
    expect(inside.systems).toHaveLength(1);
    expect(inside.systems[0].chain.map((l: { code: string }) => l.code)).toEqual(['D02A', 'D02', 'D']);
    expect(inside.systems[0].chain[0].levelName).toBe('社区');
    const edge = (await t.request.get(`/api/point?lon=${X0 + D}&lat=${Y0 + 0.5 * D}`).expect(200)).body;
    expect(edge.systems[0].chain[0].code).toBe('D01A');
    expect(edge.systems[0].alsoIn).toEqual(['D02A']);
    const outside = (await t.request.get('/api/point?lon=10&lat=10').expect(200)).body;
    expect(outside).toEqual({ point: { lon: 10, lat: 10 }, systems: [], outside: ['test-gov'] });
    await t.request.get('/api/point?lon=200&lat=10').expect(400);
  });

  it('rejects a bad import listing every offending feature, and stores nothing', async () => {
    const before = await snapshot(t, 'test-gov');
    const bad = fc([
      gridFeature('X1', 'community', 'D01', rect(X0, Y0, X0 + D, Y0 + D)),
      gridFeature('X2', 'community', 'NOPE', rect(X0, Y0, X0 + D, Y0 + D)),
      gridFeature('X3', 'block', 'D01', rect(X0, Y0, X0 + D, Y0 + D)),
      gridFeature('X4', 'community', 'D01', { type: 'Point', coordinates: [X0, Y0] }),
      gridFeature('X5', 'community', 'D01', rect(X0, Y0, 190, Y0 + D)),
      gridFeature('D01A', 'community', 'D01', rect(X0, Y0, X0 + D, Y0 + D)),
      gridFeature('X1', 'community', 'D01', rect(X0, Y0, X0 + D, Y0 + D)),
      { type: 'Feature', properties: { name: 'no code', level: 'community', parent: 'D01' }, geometry: rect(X0, Y0, X0 + D, Y0 + D) },
    ]);
    const res = await t.request.post('/api/systems/test-gov/import').send(bad).expect(422);
    expect(res.body.error.code).toBe('invalid_features');
    const errors = res.body.error.details.errors as { index: number; code: string | null; field: string; error: string }[];
    expect(errors.map((e) => [e.index, e.error])).toEqual([
      [1, 'unknown_parent'],
      [2, 'unknown_level'],
      [3, 'invalid_geometry_type'],
      [4, 'coordinates_out_of_range'],
      [5, 'duplicate_code'],
      [6, 'duplicate_code'],
      [7, 'missing_code'],
    ]);
    expect(errors[0]).toMatchObject({ code: 'X2', field: 'properties.parent' });
    expect(res.body.error.message).toContain('feature 1 (code X2)');
    expect(await snapshot(t, 'test-gov')).toEqual(before);

    // replace mode with one bad feature keeps every stored grid as it was
    const replace = fc([...smallCity().slice(0, 6), gridFeature('D02B', 'community', 'MISSING', rect(X0, Y0, X0 + D, Y0 + D))]);
    await t.request.post('/api/systems/test-gov/import?mode=replace').send(replace).expect(422);
    expect(await snapshot(t, 'test-gov')).toEqual(before);

    expect((await t.request.post('/api/systems/test-gov/import').set('content-type', 'application/json').send('{"type": "Feature').expect(400)).body.error.code).toBe('invalid_json');
    expect((await t.request.post('/api/systems/test-gov/import').send({ type: 'Topology' }).expect(400)).body.error.code).toBe('invalid_geojson');
  });

  it('replaces a subtree atomically and leaves the rest untouched', async () => {
    const before = await snapshot(t, 'test-gov');
    const redraw = fc([
      gridFeature('D01W', 'community', 'D01', rect(X0, Y0, X0 + D / 2, Y0 + 2 * D)),
      gridFeature('D01E', 'community', 'D01', rect(X0 + D / 2, Y0, X0 + D, Y0 + 2 * D)),
    ]);
    const res = await t.request.post('/api/systems/test-gov/import?mode=replace&parent=D01').send(redraw).expect(200);
    expect(res.body).toMatchObject({ inserted: 2, deleted: 2 });
    const after = (await t.request.get('/api/systems/test-gov/grids?parent=D01').expect(200)).body;
    expect(after.features.map((f: { id: string }) => f.id)).toEqual(['D01E', 'D01W']);
    const untouched = (await snapshot(t, 'test-gov')).filter((g: { code: string }) => !g.code.startsWith('D01'));
    expect(untouched).toEqual(before.filter((g: { code: string }) => !g.code.startsWith('D01')));
    // put it back for the other tests
    await t.request.post('/api/systems/test-gov/import?mode=replace&parent=D01').send(fc(smallCity().slice(3, 5))).expect(200);
  });

  it('stores invalid geometries as given and flags them, or repairs them on request', async () => {
    await t.request
      .post('/api/systems')
      .send({ ...smallSystem, key: 'messy', levels: [{ key: 'grid', name: '网格', order: 1 }] })
      .expect(201);
    const bowtie = { type: 'Polygon', coordinates: [[[X0, Y0], [X0 + D, Y0 + D], [X0 + D, Y0], [X0, Y0 + D], [X0, Y0]]] };
    const unclosed = { type: 'Polygon', coordinates: [[[X0, Y0], [X0 + D, Y0], [X0 + D, Y0 + D], [X0, Y0 + D]]] };
    const collapsed = { type: 'Polygon', coordinates: [[[X0, Y0], [X0 + D, Y0], [X0, Y0]]] };
    const features = [
      gridFeature('B1', 'grid', null, bowtie),
      gridFeature('U1', 'grid', null, unclosed),
      gridFeature('C1', 'grid', null, collapsed),
      gridFeature('OK', 'grid', null, rect(X0 + 2 * D, Y0, X0 + 3 * D, Y0 + D)),
    ];
    const res = await t.request.post('/api/systems/messy/import').send(fc(features)).expect(200);
    const flagged = Object.fromEntries(res.body.flagged.map((f: { code: string; issues: { reason: string }[] }) => [f.code, f.issues.map((i) => i.reason).join(' | ')]));
    expect(Object.keys(flagged).sort()).toEqual(['B1', 'C1', 'U1']);
    expect(flagged.B1).toMatch(/Self-intersection/);
    expect(flagged.U1).toMatch(/Unclosed ring/);
    expect(flagged.C1).toMatch(/Too few points/);
    const b1 = (await t.request.get('/api/systems/messy/grids/B1').expect(200)).body;
    expect(b1.geometry.coordinates[0][0]).toHaveLength(5);
    expect(b1.properties.geometry_issues[0].location.map((v: number) => +v.toFixed(6))).toEqual([X0 + D / 2, Y0 + D / 2]);

    const repaired = await t.request.post('/api/systems/messy/import?mode=replace&repair=true').send(fc(features)).expect(200);
    const bowtieFix = repaired.body.repaired.find((r: { code: string }) => r.code === 'B1');
    expect(bowtieFix.reason).toMatch(/Self-intersection/);
    // the bow-tie's two triangles each cover a quarter of the cell; OK is a cell of the same size
    const cell = (await t.db.knex.raw(`select ST_Area(geom::geography)::float8 as a from grids where code = 'OK'`)).rows[0].a;
    expect(bowtieFix.areaAfter_m2 / cell).toBeCloseTo(0.5, 2);
    const valid = (await t.db.knex.raw(`select bool_and(ST_IsValid(geom)) as ok from grids g join grid_systems s on s.id = g.system_id where s.key = 'messy'`)).rows[0].ok;
    expect(valid).toBe(true);
  });

  it('edits one grid with optimistic concurrency and refuses to orphan children', async () => {
    const current = (await t.request.get('/api/systems/test-gov/grids/D02A').expect(200)).body;
    const v = current.properties.version;
    const patched = await t.request
      .patch('/api/systems/test-gov/grids/D02A')
      .set('If-Match', `"v${v}"`)
      .send({ properties: { name: '新名字', households: 260 } })
      .expect(200);
    expect(patched.body.properties).toMatchObject({ name: '新名字', households: 260, version: v + 1, parent: 'D02' });
    expect(patched.headers.etag).toBe(`"v${v + 1}"`);
    const stale = await t.request.patch('/api/systems/test-gov/grids/D02A').set('If-Match', `"v${v}"`).send({ properties: { name: 'x' } }).expect(409);
    expect(stale.body.error.code).toBe('version_conflict');

    const put = await t.request
      .put('/api/systems/test-gov/grids/D02C')
      .send(gridFeature('D02C', 'community', 'D02', rect(X0 + D, Y0, X0 + 1.5 * D, Y0 + D)))
      .expect(201);
    expect(put.body.properties.version).toBe(1);
    const wrongLevel = await t.request.put('/api/systems/test-gov/grids/D02D').send(gridFeature('D02D', 'street', 'D02', rect(X0, Y0, X0 + D, Y0 + D))).expect(422);
    expect(wrongLevel.body.error.details.errors[0].error).toBe('level_mismatch');
    await t.request.delete('/api/systems/test-gov/grids/D02C').expect(200);

    const refused = await t.request.delete('/api/systems/test-gov/grids/D02').expect(409);
    expect(refused.body.error).toMatchObject({ code: 'grid_has_children', details: { children: ['D02A', 'D02B'] } });
  });

  it('numbers children west→east, north→south under the DB11/T 2157 scheme, renaming descendants too', async () => {
    const bj = {
      key: 'bj',
      name: '北京样例',
      kind: 'governance',
      codeScheme: { type: 'db11-2157' },
      levels: [
        { key: 'district', name: '区', order: 1 },
        { key: 'street', name: '街道', order: 2 },
        { key: 'community', name: '社区', order: 3 },
        { key: 'grid', name: '网格', order: 4 },
      ],
    };
    await t.request.post('/api/systems').send(bj).expect(201);
    const cell = (i: number, j: number) => rect(X0 + i * D, Y0 + j * D, X0 + (i + 1) * D, Y0 + (j + 1) * D);
    // four communities in scrambled codes: 004 is north-west, 001 south-east
    const features = [
      gridFeature('110105', 'district', null, rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D)),
      gridFeature('110105001', 'street', '110105', rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D)),
      gridFeature('110105001004', 'community', '110105001', cell(0, 1)),
      gridFeature('110105001002', 'community', '110105001', cell(1, 1)),
      gridFeature('110105001003', 'community', '110105001', cell(0, 0)),
      gridFeature('110105001001', 'community', '110105001', cell(1, 0)),
      gridFeature('110105001004007', 'grid', '110105001004', cell(0, 1)),
    ];
    await t.request.post('/api/systems/bj/import').send(fc(features)).expect(200);
    const badCode = await t.request.put('/api/systems/bj/grids/11010500100').send(gridFeature('11010500100', 'community', '110105001', cell(0, 0))).expect(422);
    expect(badCode.body.error.details.errors[0].error).toBe('code_scheme');

    const dry = (await t.request.post('/api/systems/bj/grids/110105001/renumber?dryRun=true').expect(200)).body;
    expect(dry.renamed).toEqual([
      { from: '110105001004', to: '110105001001' },
      { from: '110105001003', to: '110105001003' },
      { from: '110105001001', to: '110105001004' },
    ].filter((r) => r.from !== r.to));
    expect((await t.request.get('/api/systems/bj/grids/110105001004007').expect(200)).body.properties.parent).toBe('110105001004');

    await t.request.post('/api/systems/bj/grids/110105001/renumber').expect(200);
    const communities = (await t.request.get('/api/systems/bj/grids?level=community').expect(200)).body.features;
    const west = (f: { geometry: { coordinates: number[][][][] } }) => f.geometry.coordinates[0]![0]![0]!;
    expect(communities.map((f: { id: string; geometry: { coordinates: number[][][][] } }) => [f.id, west(f)[0]! < X0 + D / 2 ? 'W' : 'E', west(f)[1]! < Y0 + D / 2 ? 'S' : 'N'])).toEqual([
      ['110105001001', 'W', 'N'],
      ['110105001002', 'E', 'N'],
      ['110105001003', 'W', 'S'],
      ['110105001004', 'E', 'S'],
    ]);
    const moved = (await t.request.get('/api/systems/bj/grids/110105001001007').expect(200)).body;
    expect(moved.properties.parent).toBe('110105001001');
  });
});
