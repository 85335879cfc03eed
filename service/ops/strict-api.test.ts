import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test/app';
import { engines } from '../test/db';
import { smallCity, smallSystem } from '../test/fixtures';

// Issue #16, "strict, documented API": what a new user tried that answered 2xx and did nothing, or 400 for
// input that already said what it meant.
describe.each(engines())('strict grid and system input on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(smallSystem).expect(201);
    await t.request.post(`/api/systems/${smallSystem.key}/import`).send({ type: 'FeatureCollection', features: smallCity() }).expect(200);
  });
  afterAll(async () => t?.close());

  it('takes the level order from the array when levels carry none', async () => {
    const levels = [
      { key: 'district', name: '区县' },
      { key: 'street', name: '街道' },
      { key: 'community', name: '社区' },
    ];
    await t.request.post('/api/systems').send({ key: 'no-order', name: '无序号', kind: 'governance', levels }).expect(201);
    const stored = (await t.request.get('/api/systems/no-order').expect(200)).body;
    expect(stored.levels.map((l: { key: string; order: number }) => `${l.order}:${l.key}`)).toEqual(['1:district', '2:street', '3:community']);
    // An explicit order still wins, and a collision with a defaulted one is named.
    const clash = await t.request
      .post('/api/systems')
      .send({ key: 'clash', name: 'x', kind: 'governance', levels: [{ key: 'a', name: 'A' }, { key: 'b', name: 'B', order: 1 }] })
      .expect(400);
    expect(clash.body.error.details).toEqual([{ field: 'levels.1.order', message: 'duplicate level order 1' }]);
  });

  it('applies flat grid fields of a PATCH as documented aliases of properties', async () => {
    const before = (await t.request.get('/api/systems/test-gov/grids/D01A').expect(200)).body;
    const res = await t.request.patch('/api/systems/test-gov/grids/D01A').send({ name: '新名称社区', valid_from: '2026-01-01' }).expect(200);
    expect(res.body.properties).toMatchObject({ name: '新名称社区', version: before.properties.version + 1 });
    const after = (await t.request.get('/api/systems/test-gov/grids/D01A').expect(200)).body;
    expect(after.properties.name).toBe('新名称社区');
    expect(after.properties.valid_from).toBe('2026-01-01');
    expect(after.properties.people).toEqual(before.properties.people);
    expect(after.geometry).toEqual(before.geometry);
    // The GeoJSON feature as GET returns it, edited, is a valid PATCH body too.
    const edited = { ...after, properties: { ...after.properties, name: '再改社区' } };
    expect((await t.request.patch('/api/systems/test-gov/grids/D01A').send(edited).expect(200)).body.properties.name).toBe('再改社区');
  });

  it('rejects an unknown or doubled PATCH field with a 400 naming it, and changes nothing', async () => {
    const before = (await t.request.get('/api/systems/test-gov/grids/D01B').expect(200)).body;
    const unknown = (await t.request.patch('/api/systems/test-gov/grids/D01B').send({ nmae: 'typo' }).expect(400)).body.error;
    expect(unknown.code).toBe('unknown_field');
    expect(unknown.message).toContain('"nmae"');
    expect(unknown.details).toEqual([{ field: 'nmae', message: 'unknown field' }]);
    const twice = (await t.request.patch('/api/systems/test-gov/grids/D01B').send({ name: 'a', properties: { name: 'b' } }).expect(400)).body.error;
    expect(twice.details[0].field).toBe('name');
    const typed = (await t.request.patch('/api/systems/test-gov/grids/D01B').send({ type: 'street' }).expect(400)).body.error;
    expect(typed.message).toContain('properties.type');
    const renamedById = (await t.request.patch('/api/systems/test-gov/grids/D01B').send({ id: 'OTHER', name: 'x' }).expect(400)).body.error;
    expect(renamedById.details[0].field).toBe('id');
    expect((await t.request.get('/api/systems/test-gov/grids/D01B').expect(200)).body).toEqual(before);
  });

  it('refuses a shapefile export whose text a DBF cannot hold, naming grid and field, and keeps it in GeoJSON', async () => {
    const note = '备注'.repeat(50); // 300 bytes in UTF-8, 200 in GBK
    await t.request.patch('/api/systems/test-gov/grids/D02A').send({ properties: { note } }).expect(200);
    const res = await t.request.get('/api/systems/test-gov/export?format=shapefile').expect(422).expect('content-type', /json/);
    expect(res.headers['content-disposition']).toBeUndefined();
    expect(res.body.error).toMatchObject({ code: 'dbf_value_too_long', details: { grid: 'D02A', field: 'note', bytes: 300, maxBytes: 254 } });
    expect(res.body.error.message).toContain('grid D02A');
    await t.request.get('/api/systems/test-gov/export?format=shapefile&encoding=gbk').expect(200).expect('content-type', 'application/zip');
    const geojson = (await t.request.get('/api/systems/test-gov/export?format=geojson').expect(200)).body;
    expect(geojson.features.find((f: { id: string }) => f.id === 'D02A').properties.note).toBe(note);
  });
});
