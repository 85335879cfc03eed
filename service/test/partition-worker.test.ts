import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCityStream } from '../demo/index';
import { engines } from './db';
import { startTestApp, type TestApp } from './app';

/** A city big enough that validation runs in a worker thread (issue #15: never block the service). */
const city = generateCityStream({ seed: 5, grids: 3000, defects: true });
const gov = city.systems.find((s) => s.system.key === 'governance')!;

describe.each(engines())('whole-system validation off the event loop on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(gov.system).expect(201);
    await t.request.post(`/api/systems/${gov.system.key}/import`).send(gov.grids).expect(200);
  });
  afterAll(async () => t?.close());

  it('keeps timers and HTTP requests answering while a few thousand grids are validated', async () => {
    expect(gov.grids.features.length).toBeGreaterThan(2500);
    // The longest the event loop went without running a 5 ms timer, while the validation ran.
    let worstLag = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstLag = Math.max(worstLag, now - last);
      last = now;
    }, 5);
    const started = performance.now();
    const validation = t.request.post(`/api/systems/${gov.system.key}/validate?mode=sync`).send({});
    const validated = validation.then((res) => ({ res, ms: performance.now() - started }));
    // Health checks sent while the validation runs are answered promptly.
    const health: number[] = [];
    let done = false;
    void validated.then(() => (done = true));
    // At least one check, even when the validation is over before the first one returns (a quiet server).
    do {
      await new Promise((r) => setTimeout(r, 20));
      const sent = performance.now();
      await t.request.get('/healthz').expect(200);
      health.push(performance.now() - sent);
    } while (!done);
    const { res, ms } = await validated;
    clearInterval(timer);
    expect(res.status).toBe(200);
    expect(res.body.summary.gridsChecked).toBeGreaterThan(2500);
    expect(res.body.summary.counts.gap + res.body.summary.counts.overlap + res.body.summary.counts.sliver).toBeGreaterThan(0);
    // The event loop is only busy reading rows and storing the report (the embedded engine runs its
    // queries on it too); the validation itself runs elsewhere. Run on the event loop, it blocked for
    // 85–97% of the request (1,124 of 1,320 ms; 1,577 of 1,624); a loaded machine stretches every
    // figure, not that share.
    const why = `validation ${Math.round(ms)} ms, worst timer lag ${Math.round(worstLag)} ms, slowest /healthz ${Math.round(Math.max(...health))} ms`;
    expect(health.length, why).toBeGreaterThan(0);
    expect(Math.max(...health), why).toBeLessThan(ms / 3);
    expect(worstLag, why).toBeLessThan(ms / 3);
  });
});
