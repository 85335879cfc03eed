import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test/app';
import { engines } from '../test/db';
import { cityOrigin, smallCity, smallSystem } from '../test/fixtures';

/** The slippy-map tile holding a point at zoom z. */
function tileOf(lon: number, lat: number, z: number): [number, number] {
  const n = 2 ** z;
  const rad = (lat * Math.PI) / 180;
  return [Math.floor(((lon + 180) / 360) * n), Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n)];
}

function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(name) && want.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

// The operations routes as the real application mounts them (service/app.ts).
describe.each(engines())('operations endpoints of the application on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(smallSystem).expect(201);
    await t.request.post(`/api/systems/${smallSystem.key}/import`).send({ type: 'FeatureCollection', features: smallCity() }).expect(200);
  });
  afterAll(async () => t?.close());

  it('answers liveness and readiness', async () => {
    expect((await t.request.get('/livez').expect(200)).body.status).toBe('live');
    expect((await t.request.get('/readyz').expect(200)).body).toMatchObject({ status: 'ready', engine });
  });

  it('counts tile cache misses then hits, job runs, and requests by route pattern', async () => {
    const before = (await t.request.get('/metrics').expect(200)).text;
    const [x, y] = tileOf(cityOrigin.x + cityOrigin.d / 2, cityOrigin.y + cityOrigin.d / 2, 14);
    const url = `/tiles/grids.${smallSystem.key}/14/${x}/${y}.mvt`;
    await t.request.get(url).expect(200);
    await t.request.get(url).expect(200);
    const job = (await t.request.post(`/api/systems/${smallSystem.key}/validate?mode=job`).expect(202)).body.job;
    for (let i = 0; i < 200; i++) {
      if ((await t.request.get(`/api/jobs/${job}`).expect(200)).body.status === 'done') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const after = (await t.request.get('/metrics').expect(200)).text;
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('gridatlas_tile_cache_total', { result: 'miss' })).toBeGreaterThanOrEqual(1);
    expect(delta('gridatlas_tile_cache_total', { result: 'hit' })).toBeGreaterThanOrEqual(1);
    expect(delta('gridatlas_job_duration_seconds_count', { kind: 'validate', outcome: 'done' })).toBe(1);
    expect(delta('gridatlas_operation_duration_seconds_count', { operation: 'partition_validate' })).toBe(1);
    expect(sample(after, 'gridatlas_job_queue_depth', { status: 'running' })).toBe(0);
    expect(delta('gridatlas_http_request_duration_seconds_count', { route: '/api/systems/:system/validate', status: '202' })).toBe(1);
  });

  it('serves a valid OpenAPI document of its route table and the docs page', async () => {
    const doc = (await t.request.get('/api/openapi.json').expect(200)).body;
    const validator = new Validator();
    expect((await validator.validate(doc)).valid).toBe(true);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/livez', '/readyz', '/metrics', '/api/openapi.json', '/api/docs', '/api/docs/{file}']));
    await t.request.get('/api/docs').expect(200).expect('content-type', /html/);
  });
});
