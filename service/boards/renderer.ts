import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { AppError } from '../errors';

/** Turns self-contained HTML into PDF with a real headless Chromium (issue #17: printable boards). */
export interface PdfRenderer {
  pdf(html: string): Promise<Buffer>;
  close(): Promise<void>;
  /** Browsers launched so far: one while requests keep coming, another after an idle close or a crash. */
  readonly launches: number;
}

export interface PdfRendererOptions {
  /** Chromium's executable; empty = PDF output switched off. */
  executablePath: string | undefined;
  /** Pages rendered at once; more requests wait their turn (each page costs Chromium tens of MB). */
  maxPages?: number;
  /** Idle time after which the browser is closed, to be launched again on the next request. */
  idleMs?: number;
}

// Quiet on a closed network: no sync, updates or background fetches (FACTS.md "Browser tests").
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const unavailable = (message: string) => new AppError(503, 'pdf_renderer_unavailable', message);

/**
 * One Chromium shared by all requests: launched on the first PDF (start-up costs about a second, so
 * never per request), at most `maxPages` pages at once, closed after `idleMs` without work and launched
 * again when needed, and relaunched if it crashed. Each document gets its own page, and every request a
 * page would make is refused: a board must render from its own inline content alone.
 */
export function createPdfRenderer(options: PdfRendererOptions): PdfRenderer {
  const maxPages = options.maxPages ?? 2;
  const idleMs = options.idleMs ?? 60_000;
  let browser: Promise<Browser> | null = null;
  let active = 0;
  const waiting: (() => void)[] = [];
  let idleTimer: NodeJS.Timeout | null = null;
  let launches = 0;

  function launch(): Promise<Browser> {
    const path = options.executablePath;
    if (!path) return Promise.reject(unavailable('PDF output is off: set CHROMIUM_PATH to a Chromium executable (Debian: apt-get install chromium)'));
    if (!fs.existsSync(path)) return Promise.reject(unavailable(`no Chromium at CHROMIUM_PATH=${path}: install Debian's chromium or point CHROMIUM_PATH at one`));
    if (!browser) {
      launches++;
      const started = chromium.launch({ executablePath: path, headless: true, args: FLAGS }).then(
        (b) => {
          b.on('disconnected', () => {
            if (browser === started) browser = null;
          });
          return b;
        },
        (err: Error) => {
          browser = null;
          throw unavailable(`Chromium at ${path} did not start: ${err.message.split('\n')[0]}`);
        },
      );
      browser = started;
    }
    return browser;
  }

  async function acquire(): Promise<void> {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    if (active < maxPages) {
      active++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  }

  function release(): void {
    const next = waiting.shift();
    if (next) return next();
    active--;
    if (active === 0) {
      idleTimer = setTimeout(() => void closeBrowser(), idleMs);
      idleTimer.unref();
    }
  }

  async function closeBrowser(): Promise<void> {
    const b = browser;
    browser = null;
    if (b) await (await b.catch(() => null))?.close();
  }

  return {
    get launches() {
      return launches;
    },

    async pdf(html: string): Promise<Buffer> {
      await acquire();
      try {
        const b = await launch();
        const page = await b.newPage();
        try {
          await page.route('**/*', (route) => route.abort('blockedbyclient'));
          await page.setContent(html, { waitUntil: 'load' });
          return await page.pdf({ preferCSSPageSize: true, printBackground: true });
        } finally {
          await page.close();
        }
      } finally {
        release();
      }
    },

    async close(): Promise<void> {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = null;
      await closeBrowser();
    },
  };
}
