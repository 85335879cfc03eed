import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { addressFeature } from '../demo/addresses';
import { generateCityStream } from '../demo/index';
import { startTestApp, type TestApp } from '../test/app';
import { labelPoint } from '../tiles/label-point';
import { chromiumPresent, launchChromium, openMapPage } from './testing';

/**
 * The map page in headless Chromium over the demo city, its governance system with injected defects
 * validated beside it, and the addresses of its first grids.
 */
interface PageState {
  ready: boolean;
  errors: string[];
}

const city = generateCityStream({ seed: 1 });
const broken = generateCityStream({ seed: 1, defects: true });
const DEFECTS = 'governance-defects';
/** Enough addresses for clusters at city zoom; all of them would cost seconds of import. */
const ADDRESSES = 1500;

describe.runIf(chromiumPresent)('the map page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  const requests: string[] = [];

  beforeAll(async () => {
    t = await startTestApp('embedded');
    const defects = broken.systems.find((s) => s.system.key === 'governance')!;
    for (const { system, grids } of [...city.systems, { system: { ...defects.system, key: DEFECTS, name: '综合网格（缺陷样例）' }, grids: defects.grids }]) {
      await t.request.post('/api/systems').send(system).expect(201);
      await t.request.post(`/api/systems/${system.key}/import`).send(grids).expect(200);
    }
    await t.request.post(`/api/systems/${DEFECTS}/validate`).expect(200);
    const features = [];
    for (const record of city.addressRecords()) {
      if (features.push(addressFeature(record)) === ADDRESSES) break;
    }
    await t.request.post('/api/addresses/import').set('content-type', 'application/geo+json').send({ type: 'FeatureCollection', features }).expect(200);
    base = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function open(path: string): Promise<Page> {
    return openMapPage(await browser.newPage({ viewport: { width: 1000, height: 700 } }), `${base}${path}`, requests);
  }

  it('draws the grids, labels and address clusters from the service alone, with no request leaving localhost', async () => {
    const page = await open('/');
    const drawn = await page.evaluate(() => {
      const { map, current, errors } = (window as unknown as { gridatlas: { map: any; current: { source: string }; errors: string[] } }).gridatlas;
      const features = map.queryRenderedFeatures().filter((f: { source: string }) => f.source === current.source);
      const labels = features.filter((f: { layer: { type: string } }) => f.layer.type === 'symbol').map((f: { properties: { name: string } }) => f.properties.name);
      return { fills: features.filter((f: { layer: { type: string } }) => f.layer.type === 'fill').length, labels, errors };
    });
    expect(drawn.errors).toEqual([]);
    expect(drawn.fills).toBeGreaterThan(0);
    expect(drawn.labels.length).toBeGreaterThan(0);
    expect(drawn.labels.some((name: string) => /[\u4e00-\u9fff]/.test(name))).toBe(true);

    const clusters = await page.evaluate(() => {
      const { map, addresses } = (window as unknown as { gridatlas: { map: any; addresses: { layers: string[] } } }).gridatlas;
      return map.queryRenderedFeatures({ layers: addresses.layers }).map((f: { properties: { point_count: number } }) => f.properties.point_count);
    });
    expect(Math.max(...clusters)).toBeGreaterThan(1);
    expect(await page.$eval('#legend-addresses', (el) => el.textContent)).toContain('住宅');

    const outside = requests.filter((url) => !url.startsWith(base) && !url.startsWith('data:') && !url.startsWith('blob:'));
    expect(outside).toEqual([]);
    expect(requests.some((url) => /\/tiles\/grids\.[^/]+\/\d+\/\d+\/\d+\.mvt$/.test(url))).toBe(true);

    const screenshot = await page.screenshot({ type: 'png' });
    // Decoded in the page itself: how many distinct colours the map shows, and the share of the commonest.
    const colours = await page.evaluate(async (png) => {
      const img = new Image();
      img.src = `data:image/png;base64,${png}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, img.width, img.height).data;
      const counts = new Map<number, number>();
      for (let i = 0; i < data.length; i += 4) {
        const key = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return { distinct: counts.size, top: Math.max(...counts.values()) / (data.length / 4) };
    }, screenshot.toString('base64'));
    expect(colours.distinct).toBeGreaterThan(50);
    expect(colours.top).toBeLessThan(0.9);
    await page.close();
  });

  it('opens the card of the clicked grid, with its responsible person, in Chinese by default', async () => {
    const page = await open('/');
    const target = await page.evaluate(() => {
      const { map, current } = (window as unknown as { gridatlas: { map: any; current: { source: string; levels: { layer: string; order: number }[] } } }).gridatlas;
      const canvas = map.getCanvas().getBoundingClientRect();
      const order = new Map(current.levels.map((l) => [l.layer, l.order]));
      // A point right of the panel, where the finest level drawn there is the grid a click selects.
      for (const [fx, fy] of [[0.65, 0.5], [0.6, 0.4], [0.7, 0.6], [0.5, 0.5]]) {
        const point = [canvas.width * fx!, canvas.height * fy!];
        const hits = map
          .queryRenderedFeatures(point, { layers: current.levels.map((l) => `${l.layer}:fill`) })
          .sort((a: { sourceLayer: string }, b: { sourceLayer: string }) => order.get(b.sourceLayer)! - order.get(a.sourceLayer)!);
        if (hits.length > 0) return { x: canvas.left + point[0]!, y: canvas.top + point[1]!, code: hits[0].properties.code as string };
      }
      return null;
    });
    expect(target).not.toBeNull();
    await page.mouse.click(target!.x, target!.y);
    await page.waitForSelector(`#card[data-code="${target!.code}"] dd[data-field="phone"]`);
    const card = await page.$eval('#card', (el) => ({
      title: el.querySelector('h2')!.textContent,
      fields: Object.fromEntries(Array.from(el.querySelectorAll('dd')).map((dd) => [(dd as HTMLElement).dataset.field, dd.textContent])),
      labels: Array.from(el.querySelectorAll('dt')).map((dt) => dt.textContent),
    }));
    expect(card.fields.code).toBe(target!.code);
    expect(card.fields.responsible).toBeTruthy();
    expect(card.fields.phone).toMatch(/^\d{11}$/);
    expect(card.labels).toContain('编码');
    expect(await page.$eval('#system-label', (el) => el.textContent)).toBe('网格体系');
    await page.close();
  });

  it('switches to English with ?lang=en and between grid systems, with their problems', async () => {
    const page = await open('/?lang=en');
    expect(await page.$eval('html', (el) => el.lang)).toBe('en');
    expect(await page.$eval('#system-label', (el) => el.textContent)).toBe('Grid system');
    // The incident layer's and the board's words too.
    expect(await page.$eval('#legend-incidents li[data-status="in_progress"]', (el) => el.textContent)).toContain('in progress');
    expect(await page.$eval('#incidents h2', (el) => el.textContent)).toBe('Incidents');
    expect(await page.$eval('#show-board-label', (el) => el.textContent)).toBe('Grid board');
    const systems = await page.$$eval('#system option', (options) => options.map((o) => (o as HTMLOptionElement).value));
    expect(systems.length).toBeGreaterThan(1);
    const visibleSources = () =>
      page.evaluate(() => {
        const { map } = (window as unknown as { gridatlas: { map: any } }).gridatlas;
        return [...new Set(map.getStyle().layers.filter((l: any) => l.layout?.visibility === 'visible' && l.source).map((l: any) => l.source))].sort();
      });
    // The incident layer (from its tiles, for an unrestricted caller) shows over every system.
    await page.selectOption('#system', systems[1]!);
    expect(await visibleSources()).toEqual(['addresses', `grids.${systems[1]}`, 'incidents', ...(systems[1] === DEFECTS ? [`problems.${DEFECTS}`] : [])].sort());
    await page.selectOption('#system', DEFECTS);
    expect(await visibleSources()).toEqual(['addresses', `grids.${DEFECTS}`, 'incidents', `problems.${DEFECTS}`]);
    expect(await page.$eval('#legend-problems li[data-kind="gap"]', (el) => el.textContent)).toMatch(/^gap\s*1$/);
    await page.uncheck('#show-problems');
    expect(await visibleSources()).toEqual(['addresses', `grids.${DEFECTS}`, 'incidents']);
    expect(await page.$('#legend-problems')).toBeNull();
    await page.close();
  });

  it("highlights the defect city's problems with a legend entry per kind, and opens a problem's card", async () => {
    const report = (await t.request.get(`/api/systems/${DEFECTS}/report`).expect(200)).body;
    const gap = report.issues.find((i: { kind: string }) => i.kind === 'gap');
    const page = await open(`/?system=${DEFECTS}`);
    const legend = await page.$$eval('#legend-problems li', (items) => items.map((li) => [(li as HTMLElement).dataset.kind, li.textContent]));
    expect(legend.map(([kind]) => kind).sort()).toEqual(broken.defects.map((d) => d.kind).sort());
    expect(legend.find(([kind]) => kind === 'gap')![1]).toContain('缺口');
    expect(legend.find(([kind]) => kind === 'sliver')![1]).toContain('狭缝');

    // At city zoom every defect is drawn, if only as its marker.
    const kindsAt = () =>
      page.evaluate(() => {
        const { map, current } = (window as unknown as { gridatlas: { map: any; current: { problems: { layers: string[] } } } }).gridatlas;
        return [...new Set(map.queryRenderedFeatures({ layers: current.problems.layers }).map((f: { properties: { kind: string } }) => f.properties.kind))].sort();
      });
    expect(await kindsAt()).toEqual([...new Set(broken.defects.map((d) => d.kind))].sort());

    // Close up, the gap is a filled polygon; a click on it opens its card.
    const marker = labelPoint(gap.geometry)!;
    await page.evaluate((center) => {
      const { map } = (window as unknown as { gridatlas: { map: any } }).gridatlas;
      map.jumpTo({ center, zoom: 17 });
      return new Promise<void>((resolve) => map.once('idle', () => resolve()));
    }, marker);
    const fills = await page.evaluate(() => {
      const { map, current } = (window as unknown as { gridatlas: { map: any; current: { problems: { source: string } } } }).gridatlas;
      return map.queryRenderedFeatures({ layers: [`${current.problems.source}:fill`] }).map((f: { properties: { kind: string } }) => f.properties.kind);
    });
    expect(fills).toContain('gap');
    const canvas = (await (await page.$('#map canvas'))!.boundingBox())!;
    await page.mouse.click(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
    await page.waitForSelector('#card[data-kind="gap"]');
    const fields = await page.$eval('#card', (el) => Object.fromEntries(Array.from(el.querySelectorAll('dd')).map((dd) => [(dd as HTMLElement).dataset.field, dd.textContent])));
    expect(fields.kind).toBe('缺口');
    expect(fields.area).toBe(`${gap.area_m2.toLocaleString('zh-CN', { maximumFractionDigits: 2 })} m²`);
    expect(fields.grids).toBe(gap.grids.join('、'));
    expect(fields.reason).toBe(gap.reason);
    expect(await page.evaluate(() => (window as unknown as { gridatlas: PageState }).gridatlas.errors)).toEqual([]);
    await page.close();
  });


});
