import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { DEMO_PASSWORD, seedDemoAccounts } from '../access/demo-accounts';
import { generateCityStream } from '../demo/index';
import { startTestApp, type TestApp } from '../test/app';
import { engines } from '../test/db';
import { labelPoint } from '../tiles/label-point';
import { chromiumPresent, launchChromium, mapIdle, openMapPage, screenshot } from './testing';

/**
 * The map page's incident layer, filters and case card (issue #12 item 2), its grid board view (issue #17
 * item 4) and a grid worker's page (issue #10), in headless Chromium over the smallest demo city with the
 * demo accounts and a handful of cases in the worker's grid and beside it. One browser for the file.
 */
const HOUR = 3_600_000;
const city = generateCityStream({ seed: 1, grids: 20 });

interface Gridatlas {
  map: any;
  current: { levels: { layer: string; order: number }[] };
  incidents: { state: { mode: string } };
  board: { state: { counts: Map<string, { incidents: { open: number; overdue: number; closed: number }; households: number }> } };
  errors: string[];
}
declare const window: { gridatlas: Gridatlas };

describe.runIf(chromiumPresent)('incidents and the grid board on the map page in Chromium', () => {
  let browser: Browser;
  let photo: Buffer;
  beforeAll(async () => {
    browser = await launchChromium();
    // A real PNG for the before/after photos: a corner of a blank page.
    const page = await browser.newPage({ viewport: { width: 40, height: 30 } });
    await page.setContent('<body style="background:#3a7">');
    photo = await page.screenshot({ type: 'png' });
    await page.close();
  });
  afterAll(async () => browser?.close());

  describe.each(engines())('on %s PostGIS', (engine) => {
    let t: TestApp;
    let base: string;
    let page: Page;
    let gov: string;
    let workerGrid: string;
    let auth: Record<string, string>;
    const ids: Record<string, number> = {};
    const requests: string[] = [];

    beforeAll(async () => {
      t = await startTestApp(engine, {}, { access: 'real' });
      // The demo start's order: the city, then its accounts; everything after as the demo admin.
      for (const { system, grids } of city.systems) {
        await t.services.systems.create(system);
        await t.services.grids.import(system.key, grids.features, { mode: 'append', repair: false });
      }
      const worker = (await seedDemoAccounts(t.services.access)).find((a) => a.username === 'worker')!;
      gov = worker.system!;
      workerGrid = worker.code!;
      auth = { Authorization: `Bearer ${(await t.request.post('/api/auth/login').send({ username: 'admin', password: DEMO_PASSWORD }).expect(200)).body.token}` };
      // Households and cases in the worker's grid and in its sibling, around their label points.
      const grids = city.systems.find((s) => s.system.key === gov)!.grids.features;
      const mine = grids.find((f) => f.properties.code === workerGrid)!;
      const sibling = grids.find((f) => f.properties.parent === mine.properties.parent && f.properties.code !== workerGrid)!;
      const around = (feature: (typeof grids)[number], n: number) => {
        const [x, y] = labelPoint(feature.geometry)!;
        return Array.from({ length: n }, (_, i) => ({ lon: x! + (i - 1) * 0.0004, lat: y! + (i % 2) * 0.0003 }));
      };
      const own = around(mine, 3);
      const near = around(sibling, 2);
      const [cx, cy] = [own[1]!.lon, own[1]!.lat];
      const households = [...own, ...near].map((p, i) => ({
        type: 'Feature',
        properties: { external_id: `web-${i}`, kind: 'residential', door: `${i + 1}号`, street: '测试街', building: `${i + 1}栋`, households: 10 + i, population: 30 + i },
        geometry: { type: 'Point', coordinates: [p.lon, p.lat] },
      }));
      await t.request.post('/api/addresses/import').set(auth).set('content-type', 'application/geo+json').send({ type: 'FeatureCollection', features: households }).expect(200);
      const now = Date.now();
      const steps = (from: number) =>
        (['register', 'dispatch', 'accept', 'feed_back', 'close', 'evaluate'] as const).map((action, i) => ({
          action,
          at: new Date(from + (i + 1) * 20 * 60_000),
          name: '张伟',
          ...(action === 'feed_back' ? { note: '已清理' } : {}),
          ...(action === 'evaluate' ? { evaluation: { score: 4, note: '处理及时' } } : {}),
        }));
      const cases = [
        { key: 'overdue', at: own[0]!, source: 'patrol', description: '道路积水未处理', reportedAt: now - 72 * HOUR, steps: [] },
        { key: 'evaluated', at: own[1]!, source: 'patrol', description: '暴露垃圾', reportedAt: now - 48 * HOUR, steps: steps(now - 48 * HOUR) },
        { key: 'fresh', at: own[2]!, source: 'resident', description: '楼道堆物', reportedAt: now - 10 * 60_000, steps: [], reporter: { name: '李秀英', phone: '13912345678' } },
        { key: 'neighbour', at: near[0]!, source: 'hotline', description: '邻格热线', reportedAt: now - 72 * HOUR, steps: [], reporter: { name: '赵大海', phone: '13787654321' } },
        { key: 'neighbour2', at: near[1]!, source: 'hotline', description: '邻格热线二', reportedAt: now - 30 * 60_000, steps: [] },
      ] as const;
      await t.services.incidents.importHistory(
        cases.map((c) => ({ category: '0101', point: { lon: c.at.lon, lat: c.at.lat }, source: c.source, description: c.description, reportedAt: new Date(c.reportedAt), steps: [...c.steps], ...('reporter' in c ? { reporter: c.reporter } : {}) })),
      );
      await t.services.incidents.scanOverdue();
      const listed = (await t.request.get('/api/incidents?limit=100').set(auth).expect(200)).body.items as { id: number; description: string }[];
      for (const c of cases) ids[c.key] = listed.find((i) => i.description === c.description)!.id;
      for (const stage of ['before', 'after']) await t.request.post(`/api/incidents/${ids.evaluated}/photos?stage=${stage}`).set(auth).set('content-type', 'image/png').send(photo).expect(201);
      base = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
      // Zoom 15 on the worker's grid, where the tile layer draws cases one by one.
      page = await signIn(await openMapPage(await browser.newPage({ viewport: { width: 1100, height: 760 } }), `${base}/?system=${gov}#15/${cy}/${cx - 0.002}`, requests), 'admin');
    });
    afterAll(async () => {
      await page?.close();
      await t?.close();
    });

    /** Signs in with the page's own form (the session cookie), and waits for the reloaded page. */
    async function signIn(p: Page, username: string): Promise<Page> {
      await p.fill('#login-user', username);
      await p.fill('#login-pass', DEMO_PASSWORD);
      await Promise.all([p.waitForEvent('load'), p.click('#login-submit')]);
      await p.waitForFunction(() => (window as unknown as { gridatlas?: { ready: boolean } }).gridatlas?.ready === true);
      await mapIdle(p);
      return p;
    }

    const drawn = (layer: string): Promise<number[]> =>
      page.evaluate((id) => window.gridatlas.map.queryRenderedFeatures({ layers: [id] }).map((f: { id: number; properties: { id?: number } }) => f.id ?? f.properties.id), layer);
    /** Where a case is on the screen. */
    const screenPoint = (id: number) =>
      page.evaluate(async (id) => {
        const { map } = window.gridatlas;
        const f = map.queryRenderedFeatures().find((x: { id: number; layer: { id: string } }) => x.id === id && x.layer.id.endsWith(':point'));
        const p = map.project(f.geometry.coordinates);
        const r = map.getCanvas().getBoundingClientRect();
        return { x: r.left + p.x, y: r.top + p.y };
      }, id);
    const settle = async () => {
      await page.waitForTimeout(250);
      await mapIdle(page);
    };

    it('draws the cases by status and card with a legend, filters them, and opens a case card with its timeline and photos', async () => {
      expect(await page.evaluate(() => window.gridatlas.incidents.state.mode)).toBe('tiles');
      const all = await drawn('incidents:point');
      expect(all).toEqual(expect.arrayContaining([ids.overdue, ids.evaluated, ids.fresh]));
      expect(await page.$eval('#legend-incidents li[data-status="evaluated"]', (el) => el.textContent)).toContain('已评价');
      expect(await page.$eval('#legend-incidents li[data-card="red"]', (el) => el.textContent)).toContain('红牌');
      const red = await page.evaluate((id) => window.gridatlas.map.queryRenderedFeatures({ layers: ['incidents:point'] }).find((f: { id: number }) => f.id === id).properties.card, ids.overdue);
      expect(red).toBe('red');

      // In the tile: a MapLibre filter, no request.
      await page.selectOption('#filter-status', 'evaluated');
      await settle();
      expect(await drawn('incidents:point')).toEqual([ids.evaluated]);
      await page.selectOption('#filter-card', 'red');
      await settle();
      expect(await drawn('incidents:point')).toEqual([]);
      await page.selectOption('#filter-card', '');
      await page.selectOption('#filter-status', '');
      // Not in the tile: the API answers, for the viewport.
      await page.selectOption('#filter-source', 'hotline');
      await page.waitForFunction(() => window.gridatlas.map.queryRenderedFeatures({ layers: ['incidents-api:point'] }).length > 0);
      expect(await page.evaluate(() => window.gridatlas.incidents.state.mode)).toBe('api');
      const hotline = await drawn('incidents-api:point');
      expect(hotline.length).toBeGreaterThan(0);
      expect(hotline.every((id) => id === ids.neighbour || id === ids.neighbour2)).toBe(true);
      expect(await page.$eval('#legend-incidents', (el) => el.previousElementSibling!.textContent)).toMatch(/按筛选显示 \d+ 件/);
      await page.selectOption('#filter-source', '');
      await settle();
      expect(await page.evaluate(() => window.gridatlas.incidents.state.mode)).toBe('tiles');

      const at = await screenPoint(ids.evaluated);
      await page.mouse.click(at.x, at.y);
      await page.waitForSelector(`#card[data-incident="${ids.evaluated}"] img`);
      await page.waitForFunction(() => Array.from(document.querySelectorAll('#card img')).every((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0));
      const card = await page.$eval('#card', (el) => ({
        fields: Object.fromEntries(Array.from(el.querySelectorAll('dd')).map((dd) => [(dd as HTMLElement).dataset.field, dd.textContent])),
        labels: Array.from(el.querySelectorAll('dt')).map((dt) => dt.textContent),
        steps: Array.from(el.querySelectorAll('ol.timeline li')).map((li) => (li as HTMLElement).dataset.action),
        photos: el.querySelectorAll('img').length,
      }));
      expect(card.labels).toEqual(expect.arrayContaining(['地点', '报告人', '时间', '内容', '处置过程', '时限', '评价', '处置前照片', '处置后照片']));
      expect(card.steps).toEqual(['report', 'register', 'dispatch', 'accept', 'feed_back', 'close', 'evaluate']);
      expect(card.fields.progress).toContain('已清理');
      expect(card.fields.evaluation).toBe('★★★★☆ 处理及时');
      expect(card.fields.status).toBe('已评价');
      expect(card.fields.content).toBe('暴露垃圾');
      expect(card.photos).toBe(2);
      await screenshot(page, `${engine}-incident-card`);

      const fresh = await screenPoint(ids.fresh);
      await page.mouse.click(fresh.x, fresh.y);
      await page.waitForSelector(`#card[data-incident="${ids.fresh}"]`);
      const reporter = await page.$eval('#card dd[data-field="reporter"]', (el) => el.textContent);
      // Masked by the API: the page never holds the name or the phone.
      expect(reporter).toBe('李** · 139****5678');
      expect(await page.$eval('#card dd[data-field="deadline"]', (el) => el.textContent)).toMatch(/剩余 \d+ 小时 \d+ 分/);
      expect(await page.evaluate(() => window.gridatlas.errors)).toEqual([]);
      const outside = requests.filter((url) => !url.startsWith(base) && !url.startsWith('data:') && !url.startsWith('blob:'));
      expect(outside).toEqual([]);
    });

    it('colours the grids by open and overdue cases with the grid board toggle, and shows the counts in the grid card', async () => {
      await page.uncheck('#show-incidents');
      await page.check('#show-board');
      await page.waitForSelector('#legend-board');
      await settle();
      const expected = (await t.request.get(`/api/systems/${gov}/grid-counts?parent=${encodeURIComponent((await t.request.get(`/api/systems/${gov}/grids/${workerGrid}`).set(auth).expect(200)).body.properties.parent)}`).set(auth).expect(200)).body.grids.find(
        (g: { code: string }) => g.code === workerGrid,
      );
      expect(expected.incidents).toEqual({ open: 2, overdue: 1, closed: 1 });
      expect(await page.$eval('#legend-board li[data-board="overdue"]', (el) => el.textContent)).toMatch(/有逾期案件\s*[1-9]/);

      // A click on the worker's grid, at its label point.
      const target = await page.evaluate((code) => {
        const { map, current } = window.gridatlas;
        const r = map.getCanvas().getBoundingClientRect();
        const order = new Map(current.levels.map((l) => [l.layer, l.order]));
        const layers = current.levels.map((l) => `${l.layer}:fill`).filter((id) => map.getLayer(id));
        // The first point right of the panel where the finest grid drawn (the one a click selects) is the worker's.
        for (let x = 340; x < r.width; x += 15) {
          for (let y = 15; y < r.height; y += 15) {
            const hits = map.queryRenderedFeatures([x, y], { layers }).sort((a: { sourceLayer: string }, b: { sourceLayer: string }) => order.get(b.sourceLayer)! - order.get(a.sourceLayer)!);
            if (hits[0]?.properties.code === code) return { x: r.left + x, y: r.top + y, layer: hits[0].layer.id as string };
          }
        }
        return null;
      }, workerGrid);
      expect(target).not.toBeNull();
      await page.mouse.click(target!.x, target!.y);
      await page.waitForSelector(`#card[data-code="${workerGrid}"] dd[data-field="overdue"]`);
      const fields = await page.$eval('#card', (el) => Object.fromEntries(Array.from(el.querySelectorAll('dd')).map((dd) => [(dd as HTMLElement).dataset.field, dd.textContent])));
      expect(fields).toMatchObject({ open: '2', overdue: '1', closed: '1', households: expected.households.toLocaleString('zh-CN') });
      // The worker's grid is drawn in the board's colour for overdue cases.
      const fill = await page.evaluate((layer) => window.gridatlas.map.getPaintProperty(layer, 'fill-color'), target!.layer);
      expect(fill[0]).toBe('match');
      expect(fill[fill.indexOf('#d32f2f') - 1]).toContain(workerGrid);
      await screenshot(page, `${engine}-grid-board`);
      await page.uncheck('#show-board');
      await page.check('#show-incidents');
    });

    it("signs in on the page as the demo grid worker and sees only that grid's households and cases", async () => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
      const own = await context.newPage();
      await signIn(await openMapPage(own, `${base}/?system=${gov}${new URL(page.url()).hash}`), 'worker');
      expect(await own.$eval('#account-name', (el) => el.textContent)).toContain('worker');
      // No address layer for a grid worker: the register is reached only through scoped routes.
      expect(await own.$eval('#show-addresses-item', (el) => (el as HTMLElement).hidden)).toBe(true);

      // The incident tiles carry every case: a grid worker gets the scoped API instead.
      expect(await own.evaluate(() => window.gridatlas.incidents.state.mode)).toBe('api');
      await own.waitForFunction(() => window.gridatlas.map.queryRenderedFeatures({ layers: ['incidents-api:point'] }).length > 0);
      const seen = await own.evaluate(() => window.gridatlas.map.queryRenderedFeatures({ layers: ['incidents-api:point'] }).map((f: { id: number }) => f.id));
      expect(seen.sort()).toEqual([ids.overdue, ids.evaluated, ids.fresh].sort());

      const fetched = await own.evaluate(
        async ({ gov, other, neighbour }) => {
          const get = async (path: string) => {
            const res = await fetch(path);
            return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? await res.json() : null };
          };
          return {
            list: await get('/api/incidents?limit=1000'),
            neighbour: (await get(`/api/incidents/${neighbour}`)).status,
            neighbourReporter: (await get(`/api/incidents/${neighbour}/reporter`)).status,
            addresses: await get(`/api/addresses?system=${gov}&limit=10000`),
            otherAddresses: await get(`/api/addresses?system=${gov}&grid=${other}`),
            otherGrid: (await get(`/api/systems/${gov}/grids/${other}`)).status,
            counts: await get(`/api/systems/${gov}/grid-counts?bbox=-180,-85,180,85`),
            incidentTile: (await get('/tiles/incidents/14/0/0.mvt')).status,
            addressTile: (await get('/tiles/addresses/14/0/0.mvt')).status,
          };
        },
        { gov, other: (await t.request.get(`/api/incidents/${ids.neighbour}`).set(auth).expect(200)).body.incident.unit.code, neighbour: ids.neighbour },
      );
      expect(fetched.list.status).toBe(200);
      expect(fetched.list.body.items.map((i: { id: number }) => i.id).sort()).toEqual([ids.overdue, ids.evaluated, ids.fresh].sort());
      // A case outside the caller's area is answered as if it did not exist (issue #10).
      expect(fetched.neighbour).toBe(404);
      expect(fetched.neighbourReporter).toBe(404);
      expect(fetched.addresses.status).toBe(200);
      const households = fetched.addresses.body.features as { properties: { grids: Record<string, { code: string }> } }[];
      expect(households.length).toBeGreaterThan(0);
      expect(new Set(households.map((f) => f.properties.grids[gov]!.code))).toEqual(new Set([workerGrid]));
      expect(fetched.otherAddresses.body?.features ?? []).toEqual([]);
      expect(fetched.otherGrid).toBe(403);
      expect(fetched.counts.body.grids.map((g: { code: string }) => g.code)).toEqual([workerGrid]);
      expect(fetched.incidentTile).toBe(404);
      expect(fetched.addressTile).toBe(404);

      await own.check('#show-board');
      await own.waitForSelector('#legend-board');
      expect([...(await own.evaluate(() => [...window.gridatlas.board.state.counts.keys()]))]).toEqual([workerGrid]);
      expect(await own.evaluate(() => window.gridatlas.errors)).toEqual([]);
      await screenshot(own, `${engine}-worker`);
      await context.close();
    });
  });
});
