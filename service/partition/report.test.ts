import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { ISSUES_PER_KIND } from './report';

/**
 * A noisy family (issue #15: a dense invalid dataset stored an ~11 MB report): one parent, `N` children in
 * a row, each overlapping the next by a 0.0001° strip (N − 1 overlaps, ~1,000 m² each), each ring with
 * `REPEATS` repeated positions (one warning per grid, with the count).
 */
const N = 300;
const REPEATS = 40;
const W = 0.001;
const [X0, Y0] = [104, 30];
const X_END = X0 + N * W + W / 10;

function noisySystem() {
  const rect = (x0: number, x1: number) => {
    const ring = [[x0, Y0], [x1, Y0], [x1, Y0 + W], [x0, Y0 + W], [x0, Y0]];
    // repeated consecutive positions along the first edge
    return [ring[0]!, ...Array.from({ length: REPEATS }, () => ring[0]!), ...ring.slice(1)];
  };
  const features = [
    { type: 'Feature', properties: { code: 'P', name: 'parent', level: 'street' }, geometry: { type: 'Polygon', coordinates: [[[X0, Y0], [X_END, Y0], [X_END, Y0 + W], [X0, Y0 + W], [X0, Y0]]] } },
    ...Array.from({ length: N }, (_, i) => ({
      type: 'Feature',
      properties: { code: `P${String(i).padStart(3, '0')}`, name: `c${i}`, level: 'grid', parent: 'P' },
      geometry: { type: 'Polygon', coordinates: [rect(X0 + i * W, X0 + (i + 1) * W + W / 10)] },
    })),
  ];
  return {
    system: { key: 'noisy', name: 'noisy', kind: 'other', levels: [{ key: 'street', name: 'street' }, { key: 'grid', name: 'grid' }], codeScheme: { type: 'free' } },
    grids: { type: 'FeatureCollection', features },
  };
}

describe.each(engines())('bounded partition reports on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    const { system, grids } = noisySystem();
    await t.request.post('/api/systems').send(system).expect(201);
    await t.request.post('/api/systems/noisy/import').send(grids).expect(200);
  });
  afterAll(async () => t?.close());

  it('stores and serves the first findings per kind with exact totals, and pages the rest', async () => {
    const validated = await t.request.post('/api/systems/noisy/validate?mode=sync').expect(200);
    const report = (await t.request.get('/api/systems/noisy/report').expect(200)).body;
    for (const body of [validated.body, report]) {
      expect(body.summary.counts.overlap).toBe(N - 1);
      expect(body.summary.counts['repeated-vertices']).toBe(N);
      expect(body.summary.counts.gap + body.summary.counts.sliver + body.summary.counts.outside).toBe(0);
      expect(body.issues.filter((i: { kind: string }) => i.kind === 'overlap')).toHaveLength(ISSUES_PER_KIND);
      expect(body.omitted).toEqual({ overlap: N - 1 - ISSUES_PER_KIND, 'repeated-vertices': N - ISSUES_PER_KIND });
    }
    // the bound: ~600 findings with geometry, yet the report stays small
    expect(JSON.stringify(report).length).toBeLessThan(250_000);

    const all: { kind: string; seq: number; grids: string[]; count?: number; area_m2: number }[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = (await t.request.get(`/api/systems/noisy/report/issues?offset=${offset}&limit=1000`).expect(200)).body;
      expect(page.total).toBe(2 * N - 1);
      all.push(...page.issues);
      if (page.issues.length < 1000) break;
    }
    expect(all.map((i) => i.seq)).toEqual(Array.from({ length: 2 * N - 1 }, (_, i) => i));
    const repeated = all.filter((i) => i.kind === 'repeated-vertices');
    expect(new Set(repeated.map((i) => i.grids[0])).size).toBe(N);
    expect(repeated.every((i) => i.count === REPEATS)).toBe(true);
    const overlaps = all.filter((i) => i.kind === 'overlap');
    expect(overlaps.every((i) => i.area_m2 > 900 && i.area_m2 < 1200)).toBe(true);

    const page = (await t.request.get('/api/systems/noisy/report/issues?kind=overlap&offset=250&limit=100').expect(200)).body;
    expect(page).toMatchObject({ total: N - 1, offset: 250, limit: 100 });
    expect(page.issues).toHaveLength(N - 1 - 250);
    expect(page.issues[0]).toEqual(overlaps[250]);
    expect((await t.request.get('/api/systems/noisy/report/issues?kind=nope').expect(400)).body.error).toBeDefined();

    // the files carry every finding
    const layer = (await t.request.get('/api/systems/noisy/report?format=geojson').expect(200)).body;
    expect(layer.features.filter((f: { properties: { kind: string } }) => f.properties.kind === 'overlap').length).toBeGreaterThanOrEqual(N - 1);
  });

  it('re-checks an edited family into the stored findings, and the kept reply follows every stored version', async () => {
    await t.request.post('/api/systems/noisy/validate?mode=sync').expect(200);
    // The reply is kept by the stored row's version: an unchanged report is a 304 to a client that has it.
    const first = await t.request.get('/api/systems/noisy/report').expect(200);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"report-\d+\.\d+"$/);
    expect(first.headers['content-type']).toMatch(/^application\/json/);
    expect((await t.request.get('/api/systems/noisy/report').expect(200)).headers.etag).toBe(etag);
    await t.request.get('/api/systems/noisy/report').set('If-None-Match', etag).expect(304);
    // the last child no longer overlaps its neighbour: one overlap fewer, counted exactly
    const last = N - 1;
    const x0 = X0 + last * W + W / 10;
    await t.request
      .patch(`/api/systems/noisy/grids/P${String(last).padStart(3, '0')}`)
      .send({ geometry: { type: 'Polygon', coordinates: [[[x0, Y0], [X_END, Y0], [X_END, Y0 + W], [x0, Y0 + W], [x0, Y0]]] } })
      .expect(200);
    // The re-check replaced the stored report in place (same row): the old ETag no longer matches.
    const rechecked = await t.request.get('/api/systems/noisy/report').set('If-None-Match', etag).expect(200);
    const report = rechecked.body;
    expect(rechecked.headers.etag).not.toBe(etag);
    expect(report.summary.counts.overlap).toBe(N - 2);
    expect(report.summary.counts['repeated-vertices']).toBe(N - 1);
    const page = (await t.request.get('/api/systems/noisy/report/issues?kind=overlap&limit=1000').expect(200)).body;
    expect(page.total).toBe(N - 2);
    expect(page.issues).toHaveLength(N - 2);

    // Settings changed: the stored report is marked stale in place, and the reply says so at once.
    expect(report.stale).toBe(false);
    await t.request.patch('/api/systems/noisy').send({ description: 'renamed' }).expect(200);
    const stale = await t.request.get('/api/systems/noisy/report').set('If-None-Match', rechecked.headers.etag as string).expect(200);
    expect(stale.body.stale).toBe(true);
    expect(stale.body.summary).toEqual(report.summary);
  });
});
