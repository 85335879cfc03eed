import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCityStream } from '../demo/index';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { WORKER_THRESHOLD } from './compute';

/** A city big enough that its overlay runs in the worker thread: fire, health and three banks over ~300 communities. */
const city = generateCityStream({ seed: 5, grids: 3000 });
const gov = city.systems.find((s) => s.system.key === 'governance')!;
const district = gov.grids.features.find((f) => f.properties.level === 'district')!.properties.code;
const participants = city.systems.filter((s) => s.system.kind !== 'governance');

describe.each(engines())('overlays off the event loop on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    for (const s of city.systems) {
      await t.request.post('/api/systems').send(s.system).expect(201);
      await t.request.post(`/api/systems/${s.system.key}/import`).send(s.grids).expect(200);
    }
  }, 120_000);
  afterAll(async () => t?.close());

  it('keeps /livez and timers answering while a large overlay is arranged', async () => {
    // Each system takes part with its finest level: fire blocks, health grids, bank grids.
    const grids = participants.reduce((n, s) => n + s.grids.features.filter((f) => f.properties.level === s.system.levels[s.system.levels.length - 1]!.key).length, 0);
    expect(grids).toBeGreaterThan(WORKER_THRESHOLD * 4);
    let worstLag = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstLag = Math.max(worstLag, now - last);
      last = now;
    }, 5);
    const started = performance.now();
    const overlay = t.request
      .post('/api/overlays/report?mode=sync')
      .send({ territory: { system: 'governance', code: district }, systems: participants.map((s) => s.system.key) })
      .then((res) => ({ res, ms: performance.now() - started }));
    const live: number[] = [];
    let done = false;
    void overlay.then(() => (done = true));
    // At least one check, even when the overlay is over before the first one returns.
    do {
      await new Promise((r) => setTimeout(r, 20));
      const sent = performance.now();
      await t.request.get('/livez').expect(200);
      live.push(performance.now() - sent);
    } while (!done);
    const { res, ms } = await overlay;
    clearInterval(timer);
    expect(res.status).toBe(200);
    expect(res.body.summary.faces).toBeGreaterThan(WORKER_THRESHOLD * 4);
    expect(res.body.faces.length).toBe(res.body.summary.faces);
    // The event loop only reads rows, tabulates and serialises; the arrangement runs in the worker.
    const why = `overlay ${Math.round(ms)} ms, ${live.length} /livez, slowest ${Math.round(Math.max(...live))} ms, worst timer lag ${Math.round(worstLag)} ms`;
    expect(live.length, why).toBeGreaterThan(2);
    expect(Math.max(...live), why).toBeLessThan(ms / 3);
    expect(worstLag, why).toBeLessThan(ms / 3);
  }, 120_000);
});
