import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * The map page's browser test harness: Debian's Chromium driven by playwright-core. CI must have the
 * browser: there a missing one fails the run (at import, so the file fails); on a developer's machine the
 * tests skip, loudly.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const chromiumPresent = fs.existsSync(CHROMIUM);
if (!chromiumPresent && process.env.CI) throw new Error(`CI is set but Chromium is missing at ${CHROMIUM}: install Debian's chromium or set CHROMIUM_PATH`);
if (!chromiumPresent) process.stderr.write(`\n*** SKIPPING the map page browser tests: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH) ***\n\n`);

// Quiet on a closed network: no sync, updates or background fetches that would leave localhost.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export const launchChromium = (): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });

/** Screenshots kept as test artefacts (git-ignored). */
export const SCREENSHOTS = path.resolve('.tmp/screenshots');

/** Resolves once the map has drawn every tile it asked for. */
export function mapIdle(page: Page): Promise<void> {
  return page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const { map } = (window as unknown as { gridatlas: { map: { loaded(): boolean; areTilesLoaded(): boolean; once(e: string, f: () => void): void } } }).gridatlas;
        if (map.loaded() && map.areTilesLoaded()) resolve();
        else map.once('idle', () => resolve());
      }),
  );
}

/**
 * Opens the page at `url` in `page` and waits until it is ready and drawn; `requests` collects every URL
 * the page asks for (the no-external-request check).
 */
export async function openMapPage(page: Page, url: string, requests?: string[]): Promise<Page> {
  if (requests) page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { gridatlas?: { ready: boolean } }).gridatlas?.ready === true);
  await mapIdle(page);
  return page;
}

export async function screenshot(page: Page, name: string): Promise<Buffer> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  return page.screenshot({ type: 'png', path: path.join(SCREENSHOTS, `${name}.png`) });
}
