import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from 'koa';
import { badRequest, notFound } from '../errors';
import { callerOf } from '../http/caller';
import { setHeader } from '../http/headers';
import type { FastAnswer, RouteDef } from '../http/route';
import { seesSystem, seesWholeSystem, type Caller } from '../kernel/scope';
import type { TileService } from './service';
import type { DiffSourceInfo, OverlaySourceInfo, TileSourceInfo } from './source';
import { buildStyle } from './style';
import { fitZoom, MAX_LATITUDE, parseTile, unionBounds, type LonLatBbox, type TileCoord } from './tile-math';
import type { ServedTile } from './cache';

const MVT = 'application/vnd.mapbox-vector-tile';
/**
 * Caches (browsers, CDNs) may keep tiles but must revalidate them on every use: with the content-hash
 * ETag a revalidation costs a 304, and an edit is never served stale from a cache.
 */
const TILE_CACHE_CONTROL = 'public, max-age=0, must-revalidate';
const PRIVATE_TILE_CACHE_CONTROL = TILE_CACHE_CONTROL.replace('public', 'private');
const TILE_FILE = /^(.*)\.(mvt|pbf)$/;
const FAST_TILE_URL = /^\/tiles\/([\w.,-]+)\/(\d{1,2})\/(\d{1,8})\/(\d{1,8})\.(?:mvt|pbf)$/;
const SESSION_COOKIE = /(^|;\s*)gridatlas_session=/;
const MAX_LAYERS = 16;

/** `/tiles` (catalog), `/tiles/{layers}.json` (TileJSON 3.0), `/tiles/{layers}/{z}/{x}/{y}.mvt|.pbf` and `/style.json`. */
export function tileRoutes(tiles: TileService, options: { basemapUrl?: string }): RouteDef[] {
  const tag = 'tiles';
  const access = { permission: 'tiles:read' };
  return [
    {
      method: 'get',
      path: '/tiles',
      tag,
      access,
      summary: 'Catalog of tile sources',
      handler: async (ctx) => {
        const base = baseUrl(ctx);
        const infos = visibleInfos(callerOf(ctx), await tiles.catalog());
        cors(ctx);
        ctx.set('Cache-Control', 'no-cache');
        ctx.body = {
          tiles: infos.map((i) => ({
            id: i.id,
            kind: i.kind,
            name: i.name,
            description: i.description,
            tilejson: `${base}/tiles/${i.id}.json`,
            tiles: [tileUrl(base, [i.id])],
          })),
        };
      },
    },
    {
      method: 'get',
      path: '/tiles/:name',
      tag,
      access,
      summary: 'TileJSON 3.0 of one source or several combined ({layers}.json)',
      handler: async (ctx) => {
        const m = /^(.+)\.json$/.exec(ctx.params.name!);
        if (!m) throw badRequest('invalid_tile', `"${ctx.params.name}" is neither {layers}.json nor a tile path {layers}/{z}/{x}/{y}.mvt`);
        const ids = parseLayers(m[1]!);
        await requireVisible(ctx, tiles, ids);
        cors(ctx);
        ctx.set('Cache-Control', 'no-cache');
        ctx.body = tileJson(await tiles.info(ids), baseUrl(ctx));
      },
    },
    {
      method: 'get',
      path: '/tiles/:layers/:z/:x/:file',
      tag,
      access,
      summary: 'One Mapbox Vector Tile ({y}.mvt or .pbf); 204 when empty, ETag/304',
      handler: async (ctx) => {
        const m = TILE_FILE.exec(ctx.params.file!);
        if (!m) throw badRequest('invalid_tile', `tile "${ctx.params.file}" must be {y}.mvt or {y}.pbf`);
        const tile = parseTile(ctx.params.z!, ctx.params.x!, m[1]!);
        const ids = parseLayers(ctx.params.layers!);
        // The same check as requireVisible's first pass, without a promise: a warm tile then waits for nothing.
        if (!seesAll(callerOf(ctx), ids)) await requireVisible(ctx, tiles, ids);
        const served = tiles.cached(ids, tile) ?? (await tiles.tile(ids, tile));
        const answer = tileAnswer(served, ctx.req.headers);
        for (const [name, value] of answer.headers) setHeader(ctx, name, value);
        if (answer.body) ctx.body = answer.body;
        else ctx.status = answer.status;
      },
      fast: {
        // Only plain tile URLs (no escapes, query or trailing slash); the router takes every other form.
        match: (url) => FAST_TILE_URL.exec(url),
        answer: (matched, caller, headers) => {
          const m = matched as RegExpExecArray;
          let tile: TileCoord;
          let ids: string[];
          try {
            tile = parseTile(m[2]!, m[3]!, m[4]!);
            ids = parseLayers(m[1]!);
          } catch {
            return null;
          }
          if (!seesAll(caller, ids)) return null;
          const served = tiles.cached(ids, tile);
          return served ? tileAnswer(served, headers) : null;
        },
      },
    },
    {
      method: 'get',
      path: '/style.json',
      tag,
      access,
      summary: 'A MapLibre style for every tile source',
      handler: async (ctx) => {
        const infos = visibleInfos(callerOf(ctx), await tiles.catalog());
        cors(ctx);
        ctx.set('Cache-Control', 'no-cache');
        ctx.body = buildStyle(infos, baseUrl(ctx), options.basemapUrl);
      },
    },
  ];
}

/**
 * Which tile sources a caller may use (issue #10). Tiles carry published fields only (boundaries, names,
 * counts; never people), so one cached tile serves every caller allowed its layer and the cache key needs
 * no scope; what varies by caller is which layers they get:
 * - a grid system's layer: the whole system in scope, or part of it when the system is not a bank's
 *   (bank grids are internal, DOMAIN.md);
 * - a system's partition problems: the whole system in scope and partition:read;
 * - the address register: unrestricted callers with addresses:read (address points are register data);
 * - a stored overlay's faces (issue #13): overlays:read, a root at or above its territory, and every bank
 *   taking part whole in scope (bank grids are internal);
 * - a boundary difference (issue #14): changesets:read, and the system in scope for a changeset's preview
 *   (as its routes ask), the whole system for a difference between two dates (a tile cannot be cut to a
 *   caller's grids).
 */
function mayUse(caller: Caller, id: string, kind?: string, overlay?: OverlaySourceInfo['overlay'], diff?: DiffSourceInfo): boolean {
  if (caller.scope === 'all' && caller.permissions.includes('addresses:read')) return true;
  if (id === 'addresses') return false;
  const grid = /^grids\.(.+)$/.exec(id);
  if (grid) return seesWholeSystem(caller.scope, grid[1]!) || (seesSystem(caller.scope, grid[1]!) && kind !== undefined && kind !== 'bank');
  const problems = /^problems\.(.+)$/.exec(id);
  if (problems) return caller.permissions.includes('partition:read') && seesWholeSystem(caller.scope, problems[1]!);
  if (id.startsWith('overlays.') && overlay && caller.permissions.includes('overlays:read')) {
    const scope = caller.scope;
    if (scope === 'all') return true;
    return overlay.systems.every((s) => !s.bank || seesWholeSystem(scope, s.key)) && scope.some((r) => r.system === overlay.territory.system && (r.code === undefined || overlay.territory.path.includes(r.code)));
  }
  if (diff && caller.permissions.includes('changesets:read')) {
    return diff.changeset ? seesSystem(caller.scope, diff.system.key) : seesWholeSystem(caller.scope, diff.system.key);
  }
  return false;
}

const diffOf = (i: TileSourceInfo | undefined) => (i?.kind === 'diff' ? i : undefined);

function visibleInfos(caller: Caller, infos: TileSourceInfo[]): TileSourceInfo[] {
  return infos.filter((i) => mayUse(caller, i.id, i.kind === 'grids' ? i.system.kind : undefined, i.kind === 'overlays' ? i.overlay : undefined, diffOf(i)));
}

/** Layers of systems a caller sees part of, found not to be a bank's. */
const partlySeen = new WeakMap<Caller, Set<string>>();

/** Whether the caller may use every layer without looking any up: requireVisible's first pass, synchronous. */
function seesAll(caller: Caller, ids: string[]): boolean {
  for (const id of ids) if (!mayUse(caller, id) && !partlySeen.get(caller)?.has(id)) return false;
  return true;
}

/** A layer the caller may not use is answered as unknown: its existence is not disclosed. */
async function requireVisible(ctx: Context, tiles: TileService, ids: string[]): Promise<void> {
  const caller = callerOf(ctx);
  for (const id of ids) {
    if (mayUse(caller, id) || partlySeen.get(caller)?.has(id)) continue;
    // Only a part of a grid system (or an overlay) is in scope: whether it is a bank's decides (looked up once
    // per caller: the authorizer reuses one caller object per verified principal, bench-access.ts).
    const partly = (id.startsWith('grids.') && seesSystem(caller.scope, id.slice('grids.'.length))) || id.startsWith('overlays.') || (/^(changesets|history)\./.test(id) && caller.permissions.includes('changesets:read'));
    const info = partly ? (await tiles.info([id]).catch(() => []))[0] : undefined;
    if (info && mayUse(caller, id, info.kind === 'grids' ? info.system.kind : undefined, info.kind === 'overlays' ? info.overlay : undefined, diffOf(info))) {
      if (!partlySeen.has(caller)) partlySeen.set(caller, new Set());
      partlySeen.get(caller)!.add(id);
      continue;
    }
    throw notFound('unknown_layer', `no tile layer "${id}"; GET /tiles lists them`);
  }
}

/**
 * A tile's answer: 304 when If-None-Match names it, 204 when empty, else the tile (gzip when taken);
 * headers in the order they are set. The same for the route's handler and its fast path.
 */
function tileAnswer(served: ServedTile, headers: IncomingHttpHeaders): FastAnswer {
  const gzip = served.gzip !== null && acceptsGzip(headers['accept-encoding'] ?? '');
  // Tiles asked for with credentials may hold layers the public may not see: no shared cache keeps them.
  const credentialed = Boolean(headers.authorization || headers['x-api-key'] || SESSION_COOKIE.test(headers.cookie ?? ''));
  const out: [string, string][] = [
    ['Access-Control-Allow-Origin', '*'],
    ['ETag', gzip ? served.gzipEtag : served.etag],
    ['Cache-Control', credentialed ? PRIVATE_TILE_CACHE_CONTROL : TILE_CACHE_CONTROL],
    ['Vary', 'Accept-Encoding'],
  ];
  if (matches((headers['if-none-match'] as string | undefined) ?? '', served.hash)) return { status: 304, headers: out, body: null };
  if (!served.body) return { status: 204, headers: out, body: null };
  // Set as is: `ctx.type` would look the type up in the MIME table on every tile.
  out.push(['Content-Type', MVT]);
  if (gzip) out.push(['Content-Encoding', 'gzip']);
  return { status: 200, headers: out, body: gzip ? served.gzip : served.body };
}

/** Absolute URLs from the request's host (X-Forwarded-Proto/Host only with TRUST_PROXY). */
const baseUrl = (ctx: Context) => `${ctx.protocol}://${ctx.host}`;
const tileUrl = (base: string, ids: string[]) => `${base}/tiles/${ids.join(',')}/{z}/{x}/{y}.mvt`;

function parseLayers(text: string): string[] {
  const ids = [...new Set(text.split(','))];
  if (ids.length > MAX_LAYERS) throw badRequest('too_many_layers', `${ids.length} layers asked for in one request; at most ${MAX_LAYERS}`);
  return ids;
}

/**
 * Whether the client takes gzip: listed and not refused with q=0. A plain scan rather than full
 * negotiation, on the path that serves ten thousand tiles a second.
 */
function acceptsGzip(header: string): boolean {
  const at = header.indexOf('gzip');
  if (at < 0) return false;
  const rest = header.slice(at + 4).split(',')[0]!;
  return !/;\s*q=0(?:\.0*)?\s*$/.test(rest);
}

/** Whether If-None-Match names this content, in either encoding (the ETags differ only by "-gz"). */
function matches(header: string, hash: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim().replace(/^W\//, '');
    return t === '*' || t === `"${hash}"` || t === `"${hash}-gz"`;
  });
}

// Tiles, TileJSON and the style are public map data for any front-end (issue #4: front-ends are the first users).
function cors(ctx: Context): void {
  setHeader(ctx, 'Access-Control-Allow-Origin', '*');
}

/** TileJSON 3.0.0 for one source or several combined in one tile URL. */
function tileJson(infos: TileSourceInfo[], base: string): Record<string, unknown> {
  const bounds: LonLatBbox = unionBounds(infos.map((i) => i.bounds)) ?? [-180, -MAX_LATITUDE, 180, MAX_LATITUDE];
  const minzoom = Math.max(...infos.map((i) => i.minzoom));
  const maxzoom = Math.min(...infos.map((i) => i.maxzoom));
  return {
    tilejson: '3.0.0',
    name: infos.map((i) => i.name).join(' + '),
    description: infos.map((i) => i.description).join('; '),
    version: '1.0.0',
    scheme: 'xyz',
    tiles: [
      tileUrl(
        base,
        infos.map((i) => i.id),
      ),
    ],
    minzoom,
    maxzoom,
    bounds,
    center: [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, Math.min(maxzoom, Math.max(minzoom, fitZoom(bounds)))],
    vector_layers: infos.flatMap((i) => i.vectorLayers),
  };
}
