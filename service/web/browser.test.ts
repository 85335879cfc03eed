import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { generateCityStream } from '../demo/index';
import { startTestApp, type TestApp } from '../test/app';

/**
 * The map page in headless Chromium (Debian's package, driven by playwright-core) over the demo city.
 * CI must have the browser: there a missing one fails the run; on a developer's machine it skips, loudly.
 */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const present = fs.existsSync(CHROMIUM);
if (!present && process.env.CI) throw new Error(`CI is set but Chromium is missing at ${CHROMIUM}: install Debian's chromium or set CHROMIUM_PATH`);
if (!present) process.stderr.write(`\n*** SKIPPING the map page browser test: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH) ***\n\n`);

// Quiet on a closed network: no sync, updates or background fetches that would leave localhost.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

interface PageState {
  ready: boolean;
  errors: string[];
}

describe.runIf(present)('the map page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  const requests: string[] = [];

  beforeAll(async () => {
    t = await startTestApp('embedded');
    for (const { system, grids } of generateCityStream({ seed: 1 }).systems) {
      await t.request.post('/api/systems').send(system).expect(201);
      await t.request.post(`/api/systems/${system.key}/import`).send(grids).expect(200);
    }
    base = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${base}${path}`);
    await page.waitForFunction(() => (window as unknown as { gridatlas?: PageState }).gridatlas?.ready === true);
    // Wait until every visible tile is loaded and drawn.
    await page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const { map } = (window as unknown as { gridatlas: { map: { loaded(): boolean; once(e: string, f: () => void): void } } }).gridatlas;
          if (map.loaded()) resolve();
          else map.once('idle', () => resolve());
        }),
    );
    return page;
  }

  it('draws the grids and labels from the service alone, with no request leaving localhost', async () => {
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

  it('switches to English with ?lang=en and between grid systems', async () => {
    const page = await open('/?lang=en');
    expect(await page.$eval('html', (el) => el.lang)).toBe('en');
    expect(await page.$eval('#system-label', (el) => el.textContent)).toBe('Grid system');
    const systems = await page.$$eval('#system option', (options) => options.map((o) => (o as HTMLOptionElement).value));
    expect(systems.length).toBeGreaterThan(1);
    await page.selectOption('#system', systems[1]!);
    const visible = await page.evaluate(() => {
      const { map } = (window as unknown as { gridatlas: { map: any } }).gridatlas;
      return [...new Set(map.getStyle().layers.filter((l: any) => l.layout?.visibility === 'visible' && l.source).map((l: any) => l.source))];
    });
    expect(visible).toEqual([`grids.${systems[1]}`]);
    await page.close();
  });
});
