import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../app';
import { loadDemoCityIfEmpty } from '../demo/seed';
import { createLogger } from '../logger';
import { startTestApp, type TestApp } from '../test/app';
import { maskPhone } from './published';
import { createPdfRenderer } from './renderer';

/**
 * Boards and responsibility maps of the demo city, loaded as on a first start, rendered to PDF by the
 * real headless Chromium (Debian's package through playwright-core) and read back with poppler
 * (pdfinfo, pdftotext, pdftoppm): page count, text, and pixels of the map. The pages are kept as PNGs
 * under .tmp/boards for a reviewer to look at.
 * CI must have the browser and poppler: there a missing one fails the run; elsewhere the test skips, loudly.
 */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const POPPLER = ['pdfinfo', 'pdftotext', 'pdftoppm'];
const onPath = (tool: string) => (process.env.PATH ?? '').split(':').some((dir) => fs.existsSync(path.join(dir, tool)));
const missing = [...(fs.existsSync(CHROMIUM) ? [] : [`Chromium at ${CHROMIUM}`]), ...POPPLER.filter((t) => !onPath(t))];
if (missing.length && process.env.CI) throw new Error(`CI is set but ${missing.join(', ')} missing: install Debian's chromium and poppler-utils (.ci/run does)`);
if (missing.length) process.stderr.write(`\n*** SKIPPING the board PDF test: ${missing.join(', ')} missing (set CHROMIUM_PATH, apt-get install poppler-utils) ***\n\n`);

const ARTEFACTS = path.resolve('.tmp/boards');

interface Feature {
  properties: { code: string; name: string; level: string; people: { name: string; role: string; phone?: string }[] };
}

/** The PDF's pages, its text, and page `page` as RGB pixels at `dpi`; page images also saved as PNG. */
function readPdf(pdf: Buffer, name: string, dpi = 40): { pages: number; text: string; pageText: (page: number) => string; pixels: (page: number) => { width: number; height: number; rgb: Buffer } } {
  fs.mkdirSync(ARTEFACTS, { recursive: true });
  const file = path.join(ARTEFACTS, `${name}.pdf`);
  fs.writeFileSync(file, pdf);
  const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
  const pages = Number(/^Pages:\s+(\d+)/m.exec(info)![1]);
  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  execFileSync('pdftoppm', ['-r', '72', '-png', file, path.join(ARTEFACTS, name)]);
  return {
    pages,
    text,
    pageText: (page) => execFileSync('pdftotext', ['-f', String(page), '-l', String(page), '-layout', file, '-'], { encoding: 'utf8' }),
    pixels(page) {
      const out = path.join(ARTEFACTS, `${name}-p${page}`);
      execFileSync('pdftoppm', ['-r', String(dpi), '-f', String(page), '-l', String(page), '-singlefile', file, out]);
      const ppm = fs.readFileSync(`${out}.ppm`);
      fs.rmSync(`${out}.ppm`);
      const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 50).toString('latin1'))!;
      return { width: Number(header[1]), height: Number(header[2]), rgb: ppm.subarray(header[0].length) };
    },
  };
}

/** Pixels within `tolerance` of a colour, as the map's fills print. */
function countColour(rgb: Buffer, [r, g, b]: [number, number, number], tolerance = 14): number {
  let n = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    if (Math.abs(rgb[i]! - r) <= tolerance && Math.abs(rgb[i + 1]! - g) <= tolerance && Math.abs(rgb[i + 2]! - b) <= tolerance) n++;
  }
  return n;
}


// The focus fill #f6c56b at 85% over the map's #f7f7f2, and the neighbours' grey #e4e4e0.
const FOCUS: [number, number, number] = [246, 205, 127];
const CONTEXT: [number, number, number] = [228, 228, 224];

describe.runIf(missing.length === 0)('board PDFs in Chromium', () => {
  let t: TestApp;
  let all: Feature[];
  let grids: Feature[];
  let streets: Feature[];

  beforeAll(async () => {
    t = await startTestApp('embedded', { CHROMIUM_PATH: CHROMIUM });
    // As on a first start (DEMO_CITY=auto): the whole demo city through the import paths.
    const seeded = await loadDemoCityIfEmpty(createServices({ db: t.db, changes: t.changes, logger: createLogger('error') }));
    expect(seeded?.grids).toBeGreaterThan(400);
    all = (await t.request.get('/api/systems/governance/grids').expect(200)).body.features;
    grids = all.filter((f) => f.properties.level === 'grid');
    streets = all.filter((f) => f.properties.level === 'street');
  });
  afterAll(async () => t?.close());

  async function pdfOf(url: string): Promise<Buffer> {
    const res = await t.request
      .get(url)
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200)
      .expect('content-type', 'application/pdf');
    return res.body as Buffer;
  }

  it('prints a one-page A4 board with its map, people, counts and QR code', async () => {
    const grid = grids[37]!.properties;
    const pdf = readPdf(await pdfOf(`/api/boards/governance/${grid.code}?format=pdf`), `board-${grid.code}`);
    expect(pdf.pages).toBe(1);
    const lead = grid.people.find((p) => p.role === 'responsible')!;
    for (const text of ['网格公示牌', grid.name, grid.code, lead.name, maskPhone(lead.phone)!, '户数', '人口', '扫码上报事件', `grid=${grid.code}`]) {
      expect(pdf.text).toContain(text);
    }
    expect(pdf.text).not.toContain(lead.phone);
    const { width, height, rgb } = pdf.pixels(1);
    // A4 portrait; the grid fills part of the map, its neighbours the rest, the QR code prints black.
    expect(height / width).toBeCloseTo(297 / 210, 1);
    expect(countColour(rgb, FOCUS)).toBeGreaterThan(800);
    expect(countColour(rgb, CONTEXT)).toBeGreaterThan(800);
    expect(countColour(rgb, [0, 0, 0], 40)).toBeGreaterThan(200);
  });

  it('prints the board in English', async () => {
    const grid = grids[0]!.properties;
    const pdf = readPdf(await pdfOf(`/api/boards/governance/${grid.code}?format=pdf&lang=en`), `board-${grid.code}-en`);
    expect(pdf.pages).toBe(1);
    expect(pdf.text).toContain('Grid public board');
    expect(pdf.text).toContain('Households');
  });

  it('prints a street responsibility map on A3 landscape with every grid of the street in the table', async () => {
    const street = streets[0]!.properties;
    const pdf = readPdf(await pdfOf(`/api/boards/governance/${street.code}/responsibility?format=pdf`), `responsibility-${street.code}`);
    const listed = grids.filter((g) => g.properties.code.startsWith(street.code));
    expect(listed.length).toBeGreaterThan(10);
    // The map with its legend (the street's communities) on the first page, the table from the second on.
    expect(pdf.pages).toBeGreaterThanOrEqual(2);
    expect(pdf.pageText(1)).toContain('网格责任人分布图及明细表');
    const communities = new Set(listed.map((g) => all.find((c) => c.properties.code === g.properties.code.slice(0, 12))!.properties.name));
    for (const name of communities) expect(pdf.pageText(1)).toContain(name);
    expect(pdf.pageText(2)).toContain(listed[0]!.properties.code);
    for (const g of listed) expect(pdf.text).toContain(g.properties.code);
    const { width, height, rgb } = pdf.pixels(1);
    expect(width / height).toBeCloseTo(420 / 297, 1);
    // Each community of the street gets its own fill: several of them print.
    const palette: [number, number, number][] = [[246, 205, 127], [164, 214, 165], [160, 203, 232], [234, 178, 174]];
    expect(palette.filter((c) => countColour(rgb, c) > 500).length).toBeGreaterThanOrEqual(2);
  });

  it('draws a responsibility map for every street and a board for every level of the demo city', async () => {
    for (const street of streets) {
      const html = (await t.request.get(`/api/boards/governance/${street.properties.code}/responsibility`).expect(200)).text;
      expect(html).toContain(street.properties.name);
    }
    // Every grid above the finest level and every third of the finest: the generated grids are alike.
    for (const g of all.filter((f, i) => f.properties.level !== 'grid' || i % 3 === 0)) {
      const html = (await t.request.get(`/api/boards/governance/${g.properties.code}`).expect(200)).text;
      expect(html).toContain(`<h1>${g.properties.name}</h1>`);
    }
  });

  it('renders PDFs concurrently through one browser and fetches nothing while rendering', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const renderer = createPdfRenderer({ executablePath: CHROMIUM, maxPages: 2 });
    try {
      const html = (i: number) => `<!doctype html><html><body><h1>page ${i}</h1><img src="${url}/x.png"><link rel="stylesheet" href="${url}/s.css"><script src="${url}/s.js"></script></body></html>`;
      const pdfs = await Promise.all([0, 1, 2, 3].map((i) => renderer.pdf(html(i))));
      for (const pdf of pdfs) expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      expect(hits).toBe(0);
      expect(renderer.launches).toBe(1);
    } finally {
      await renderer.close();
      server.close();
    }
  });

  it('closes the browser when idle and launches it again for the next PDF', async () => {
    const renderer = createPdfRenderer({ executablePath: CHROMIUM, idleMs: 50 });
    try {
      const first = await renderer.pdf('<p>one</p>');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const second = await renderer.pdf('<p>two</p>');
      expect(first.subarray(0, 5).toString()).toBe('%PDF-');
      expect(second.subarray(0, 5).toString()).toBe('%PDF-');
      expect(renderer.launches).toBe(2);
    } finally {
      await renderer.close();
    }
  });
});
