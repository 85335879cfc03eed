import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { RouteDef } from '../http/route';

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const maplibreDist = path.join(path.dirname(createRequire(import.meta.url).resolve('maplibre-gl/package.json')), 'dist');

/** The files the page needs, read once: the page's own and MapLibre GL from node_modules (no CDN). */
const ASSETS: Record<string, [file: string, type: string]> = {
  '/web/app.js': [path.join(here, 'app.js'), 'text/javascript; charset=utf-8'],
  '/web/app.css': [path.join(here, 'app.css'), 'text/css; charset=utf-8'],
  '/web/overlays.js': [path.join(here, 'overlays.js'), 'text/javascript; charset=utf-8'],
  '/web/incidents.js': [path.join(here, 'incidents.js'), 'text/javascript; charset=utf-8'],
  '/web/board.js': [path.join(here, 'board.js'), 'text/javascript; charset=utf-8'],
  '/vendor/maplibre-gl/maplibre-gl.mjs': [path.join(maplibreDist, 'maplibre-gl.mjs'), 'text/javascript; charset=utf-8'],
  // MapLibre loads its worker from next to its own module URL.
  '/vendor/maplibre-gl/maplibre-gl-worker.mjs': [path.join(maplibreDist, 'maplibre-gl-worker.mjs'), 'text/javascript; charset=utf-8'],
  '/vendor/maplibre-gl/maplibre-gl.css': [path.join(maplibreDist, 'maplibre-gl.css'), 'text/css; charset=utf-8'],
};

const TITLES = { 'zh-CN': 'gridatlas 网格地图', en: 'gridatlas grid map' };

/** The map page at `/` (zh-CN, or English with ?lang=en) and the files it loads. */
export function webRoutes(): RouteDef[] {
  const tag = 'web';
  const access = { public: true } as const;
  const assetRoute = (prefix: string): RouteDef => ({
    method: 'get',
    path: `${prefix}/:file`,
    tag,
    access,
    summary: 'A file the map page loads',
    handler: (ctx, next) => {
      const found = files().assets.get(ctx.path);
      if (!found) return next();
      ctx.set('Vary', 'Accept-Encoding');
      // Revalidated on every load, so a new version of the page or of MapLibre is never mixed with an old one.
      send(ctx, found, 'no-cache');
    },
  });
  return [
    {
      method: 'get',
      path: '/',
      tag,
      access,
      summary: 'The map page (zh-CN; ?lang=en for English)',
      handler: (ctx) => {
        ctx.set('Vary', 'Accept-Encoding');
        // zh-CN unless the URL asks for English: the browser's language does not change the page (issue #4).
        send(ctx, files().pages[String(ctx.query.lang ?? '').toLowerCase().startsWith('en') ? 'en' : 'zh-CN'], 'no-cache');
      },
    },
    assetRoute('/web'),
    assetRoute('/vendor/maplibre-gl'),
  ];
}

let loaded: { assets: Map<string, Asset>; pages: Record<'zh-CN' | 'en', Asset> } | null = null;

/** Read and compressed once per process, on first use: every app (and every test app) shares them. */
function files() {
  if (loaded) return loaded;
  const template = fs.readFileSync(path.join(here, 'index.html'), 'utf8');
  loaded = {
    assets: new Map(Object.entries(ASSETS).map(([url, [file, type]]) => [url, asset(fs.readFileSync(file), type)])),
    pages: {
      'zh-CN': asset(Buffer.from(page(template, 'zh-CN')), 'text/html; charset=utf-8'),
      en: asset(Buffer.from(page(template, 'en')), 'text/html; charset=utf-8'),
    },
  };
  return loaded;
}

function page(template: string, language: 'zh-CN' | 'en'): string {
  return template.replaceAll('{{lang}}', language).replaceAll('{{title}}', TITLES[language]);
}

function asset(body: Buffer, type: string): Asset {
  return { type, body, gzip: gzipSync(body), etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 22)}"` };
}

function send(ctx: Context, a: Asset, cacheControl: string): void {
  const gzip = ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
  const etag = gzip ? a.etag.replace(/"$/, '-gz"') : a.etag;
  ctx.set('ETag', etag);
  ctx.set('Cache-Control', cacheControl);
  if (ctx.get('if-none-match') === etag) {
    ctx.status = 304;
    return;
  }
  ctx.type = a.type;
  if (gzip) ctx.set('Content-Encoding', 'gzip');
  ctx.body = gzip ? a.gzip : a.body;
}
