import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { generateCity } from '../demo/index';
import { startTestApp, type TestApp } from '../test/app';

/**
 * The overlay faces on the map page in headless Chromium (Debian's package, driven by playwright-core),
 * launched as service/web/browser.test.ts launches it: a stored overlay of the demo city's banks over its
 * district, toggled on, drawn by depth. CI must have the browser; elsewhere a missing one skips, loudly.
 */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const present = fs.existsSync(CHROMIUM);
if (!present && process.env.CI) throw new Error(`CI is set but Chromium is missing at ${CHROMIUM}: install Debian's chromium or set CHROMIUM_PATH`);
if (!present) process.stderr.write(`\n*** SKIPPING the overlay map browser test: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH) ***\n\n`);

// Quiet on a closed network: no sync, updates or background fetches that would leave localhost.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const city = generateCity({ seed: 1 });
const gov = city.systems.find((s) => s.system.key === 'governance')!;
const banks = city.systems.filter((s) => s.system.kind === 'bank');
const district = gov.grids.features.find((f) => f.properties.level === 'district')!.properties.code;

type Rendered = { properties: { depth: number; excess: boolean; blank: boolean } };

describe.runIf(present)('overlay faces on the map page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  let id: number;

  beforeAll(async () => {
    t = await startTestApp('embedded');
    for (const s of [gov, ...banks]) {
      await t.request.post('/api/systems').send(s.system).expect(201);
      await t.request.post(`/api/systems/${s.system.key}/import`).send(s.grids).expect(200);
    }
    id = (await t.request.post('/api/overlays/stored').send({ territory: { system: 'governance', code: district }, systems: banks.map((s) => s.system.key) }).expect(201)).body.id;
    base = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.services.storedOverlays.settled();
    await t?.close();
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(`${base}${path}`);
    await page.waitForFunction(() => (window as unknown as { gridatlasOverlay?: { ready: boolean } }).gridatlasOverlay?.ready === true);
    return page;
  }

  /** Waits until the map has drawn every visible tile. */
  const idle = (page: Page) =>
    page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const { map } = (window as unknown as { gridatlas: { map: { loaded(): boolean; once(e: string, f: () => void): void; triggerRepaint(): void } } }).gridatlas;
          map.once('idle', () => resolve());
          map.triggerRepaint();
        }),
    );

  const rendered = (page: Page) =>
    page.evaluate(() => {
      const { map } = (window as unknown as { gridatlas: { map: any } }).gridatlas;
      const { layers } = (window as unknown as { gridatlasOverlay: { layers: string[] } }).gridatlasOverlay;
      return map.queryRenderedFeatures({ layers: [layers[0]] }).map((f: Rendered) => ({ properties: f.properties }));
    });

  it('draws the faces by depth when toggled on, with a zh-CN legend, and hides them when toggled off', async () => {
    const page = await open('/');
    expect(await page.$eval('#show-overlay-faces-label', (el) => el.textContent)).toBe('覆盖分析');
    expect(await page.isChecked('#show-overlay-faces')).toBe(false);
    await page.check('#show-overlay-faces');
    await idle(page);
    const faces: Rendered[] = await rendered(page);
    expect(faces.length).toBeGreaterThan(10);
    const depths = new Set(faces.map((f) => f.properties.depth));
    for (const d of [0, 1, 2]) expect(depths.has(d), `depth ${d} drawn`).toBe(true);
    expect(faces.some((f) => f.properties.excess)).toBe(true);
    expect(faces.every((f) => f.properties.blank === (f.properties.depth === 0))).toBe(true);
    const legend = await page.$$eval('#legend-overlay li', (items) => items.map((li) => [(li as HTMLElement).dataset.depth, li.textContent]));
    expect(legend.map(([d]) => d)).toEqual(['blank', 'one', 'two', 'three', 'excess']);
    expect(legend[0]![1]).toContain('空白');

    // The blanks are red on screen: some pixel of the canvas has the blank colour blended over the base.
    const red = await page.evaluate(async () => {
      const { map } = (window as unknown as { gridatlas: { map: any } }).gridatlas;
      const { layers } = (window as unknown as { gridatlasOverlay: { layers: string[] } }).gridatlasOverlay;
      map.setPaintProperty(layers[0], 'fill-opacity', 1);
      await new Promise<void>((r) => map.once('idle', () => r()));
      const canvas = map.getCanvas() as HTMLCanvasElement;
      const copy = document.createElement('canvas');
      copy.width = canvas.width;
      copy.height = canvas.height;
      const ctx = copy.getContext('2d')!;
      ctx.drawImage(canvas, 0, 0);
      const data = ctx.getImageData(0, 0, copy.width, copy.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i]! - 0xd7) < 6 && Math.abs(data[i + 1]! - 0x30) < 6 && Math.abs(data[i + 2]! - 0x1f) < 6) n++;
      return n;
    });
    expect(red).toBeGreaterThan(100);

    await page.uncheck('#show-overlay-faces');
    // The hidden layer leaves the rendered features with the next frame.
    await idle(page);
    expect(await rendered(page)).toEqual([]);
    expect(await page.$('#legend-overlay')).toBeNull();
    await page.close();
  });

  it('speaks English with ?lang=en and opens a named overlay with ?overlay=', async () => {
    const page = await open(`/?lang=en&overlay=${id}`);
    expect(await page.$eval('#show-overlay-faces-label', (el) => el.textContent)).toBe('Overlay');
    expect(await page.isChecked('#show-overlay-faces')).toBe(true);
    await idle(page);
    expect((await rendered(page)).length).toBeGreaterThan(10);
    expect(await page.$eval('#legend-overlay li[data-depth="blank"]', (el) => el.textContent)).toContain('Blank');
    await page.close();
  });
});
