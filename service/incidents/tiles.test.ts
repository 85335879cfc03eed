import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { binary } from '../tiles/testing';
import { tileAt } from '../tiles/tile-math';
import { governanceGrids, governanceSystem, pointIn, actorFor } from './testing';
import { INCIDENT_FIELDS, INCIDENT_POINT_MINZOOM } from './tiles';
import { WORKFLOWS } from './workflow';

const fcol = (features: unknown[]) => ({ type: 'FeatureCollection', features });
const REPORTERS = [
  { name: '王小明', phone: '13812345678' },
  { name: '李四', phone: '+86 139 0000 1111' },
  { name: 'Ann Lee', phone: '010-12345678' },
];

type Props = Record<string, string | number | boolean>;

/** The features of the `incidents` layer, decoded as a map client decodes them. */
function decode(body: Buffer): Props[] {
  if (body.length === 0) return [];
  const layer = new VectorTile(new PbfReader(body)).layers.incidents;
  if (!layer) return [];
  return Array.from({ length: layer.length }, (_, i) => layer.feature(i).properties as Props);
}

describe.each(engines())('incident tiles on %s PostGIS', (engine) => {
  let t: TestApp;
  const ids: number[] = [];
  const { x, y } = pointIn('Q1A1');
  const tilePath = (z: number) => {
    const c = tileAt(x, y, z);
    return `/tiles/incidents/${z}/${c.x}/${c.y}.mvt`;
  };
  const get = async (path: string) => (await t.request.get(path).set('Accept-Encoding', 'identity').buffer(true).parse(binary)).body as Buffer;

  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(governanceSystem).expect(201);
    await t.request.post(`/api/systems/${governanceSystem.key}/import`).send(fcol(governanceGrids())).expect(200);
    for (const [i, reporter] of REPORTERS.entries()) {
      const res = await t.request
        .post('/api/incidents')
        .send({ category: i === 2 ? '0201' : '0101', point: { x: x + i * 1e-4, y }, source: 'resident', reporter, description: `case ${i}` })
        .expect(201);
      ids.push(res.body.id);
    }
  });
  afterAll(async () => t?.close());

  it('carries case number, category, status, route, card, overdue and unit codes per case, and no reporter field', async () => {
    const features = decode(await get(tilePath(INCIDENT_POINT_MINZOOM)));
    expect(features).toHaveLength(3);
    for (const f of features) {
      for (const key of Object.keys(f)) expect(Object.keys(INCIDENT_FIELDS), key).toContain(key);
      expect(f).toMatchObject({ status: 'reported', card: 'none', overdue: false, unit: 'Q1A1', route: 'routine' });
      expect(f.case_no).toMatch(/^Q1A1-\d{8}-\d{4}$/);
      const text = JSON.stringify(f);
      for (const r of REPORTERS) for (const secret of [r.name, r.phone, r.phone.slice(-4)]) expect(text).not.toContain(secret);
      expect(Object.keys(f).some((k) => /reporter|name|phone/.test(k))).toBe(false);
    }
    expect(features.map((f) => f.category).sort()).toEqual(['0101', '0101', '0201']);
  });

  it('clusters at low zooms with counts, and the TileJSON names no reporter field', async () => {
    for (const z of [4, 10, INCIDENT_POINT_MINZOOM - 1]) {
      const features = decode(await get(tilePath(z)));
      expect(features.every((f) => f.cluster === true)).toBe(true);
      expect(features.reduce((s, f) => s + (f.point_count as number), 0), `z${z}`).toBe(3);
      expect(features.reduce((s, f) => s + (f.open_count as number), 0)).toBe(3);
    }
    const tilejson = (await t.request.get('/tiles/incidents.json').expect(200)).body;
    const fields = Object.keys(tilejson.vector_layers[0].fields);
    expect(fields.some((k) => /reporter|name|phone/.test(k))).toBe(false);
  });

  it('is fresh right after a transition, at the point zoom and in the clusters above it', async () => {
    const points = tilePath(INCIDENT_POINT_MINZOOM);
    decode(await get(points));
    decode(await get(tilePath(10)));
    const incident = (await t.request.get(`/api/incidents/${ids[0]}`).expect(200)).body.incident;
    const row = WORKFLOWS.routine.find((r) => r.action === 'reject')!;
    await t.request.post(`/api/incidents/${ids[0]}/transitions`).send({ action: 'reject', actor: actorFor(row.by[0]!, incident), note: '重复' }).expect(200);
    const after = decode(await get(points));
    expect(after.find((f) => f.case_no === incident.caseNo)).toMatchObject({ status: 'rejected' });
    expect(decode(await get(tilePath(10))).reduce((s, f) => s + (f.open_count as number), 0)).toBe(2);
  });
});
