import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { ChangeBus, ChangeEvent } from '../db/changes';
import { badRequest, notFound } from '../errors';
import type { Logger } from '../logger';
import { TileCache, type ServedTile } from './cache';
import { TILE_BUFFER, TILE_EXTENT, type TileSource, type TileSourceInfo, type TileSourceProvider } from './source';
import type { TileCoord } from './tile-math';
import { recordTileCache } from '../ops';

export type { ServedTile };

const EMPTY: ServedTile = { body: null, gzip: null, hash: 'empty', etag: '"empty"', gzipEtag: '"empty"' };

/**
 * The tiles of every source: discovery, the cache and freshness. A change invalidates the cached tiles
 * it touches at once (synchronously, as the ChangeBus delivers it) and each source schedules its own
 * reload, which later requests wait for; so the first request after a change gets the new tile, in
 * this process and, through LISTEN/NOTIFY, in every process sharing the PostGIS server.
 */
export class TileService {
  private sources = new Map<string, TileSource>();
  private readonly cache: TileCache;
  /** Bumped on every change that makes some of a source's tiles stale; a tile made across a bump is served but not cached. */
  private readonly epochs = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<ServedTile>>();
  /** Discovery runs one at a time; `wanted` counts the changes that asked for one, `have` the last one served. */
  private discovery: Promise<void> = Promise.resolve();
  private wanted = 1;
  private have = 0;
  private failure: unknown = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly providers: TileSourceProvider[],
    private readonly logger: Logger,
    cacheBytes: number,
  ) {
    this.cache = new TileCache(cacheBytes);
  }

  start(changes: ChangeBus): void {
    this.unsubscribe ??= changes.on((event) => this.onChange(event));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  async catalog(): Promise<TileSourceInfo[]> {
    await this.ready();
    return Promise.all([...this.sources.values()].map((s) => s.info()));
  }

  /** @throws AppError 404 `unknown_layer` naming the first id no source has */
  async info(ids: string[]): Promise<TileSourceInfo[]> {
    return Promise.all((await this.resolve(ids)).map((s) => s.info()));
  }

  /**
   * One tile of one or several sources (their layers in the order asked).
   * @throws AppError 404 `unknown_layer`, or 400 `invalid_tile` when z is beyond a source's maxzoom
   */
  async tile(ids: string[], tile: TileCoord): Promise<ServedTile> {
    const key = tileKey(ids, tile);
    const hit = this.cache.get(key);
    recordTileCache(hit !== undefined);
    if (hit) return hit;
    const sources = await this.resolve(ids);
    for (const s of sources) {
      if (tile.z > s.maxzoom) throw badRequest('invalid_tile', `tile z ${tile.z} is beyond maxzoom ${s.maxzoom} of ${s.id}; clients overzoom its tiles`);
    }
    const epochs = sources.map((s) => this.epoch(s.id));
    const flight = `${key}@${epochs.join(',')}`;
    let running = this.inflight.get(flight);
    if (!running) {
      running = this.generate(key, sources, tile, epochs).finally(() => this.inflight.delete(flight));
      this.inflight.set(flight, running);
    }
    return running;
  }

  /**
   * The tile if it is cached, without waiting: warm tiles are most requests, and this path allocates no
   * promise (`tile` makes and counts the misses).
   */
  cached(ids: string[], tile: TileCoord): ServedTile | undefined {
    // Only tiles of known sources within their zooms are cached, and stale ones are gone: a hit needs no checks.
    const hit = this.cache.get(tileKey(ids, tile));
    if (hit) recordTileCache(true);
    return hit;
  }

  private async generate(key: string, sources: TileSource[], tile: TileCoord, epochs: number[]): Promise<ServedTile> {
    let body: Uint8Array | null;
    if (sources.length === 1) {
      body = await sources[0]!.getTile(tile);
    } else {
      // Each source's tile is cached on its own too; an MVT is a list of layers, so tiles concatenate.
      const parts = (await Promise.all(sources.map((s) => this.tile([s.id], tile)))).flatMap((p) => (p.body ? [p.body] : []));
      body = parts.length > 0 ? Buffer.concat(parts) : null;
    }
    const served = body && body.length > 0 ? serve(body) : EMPTY;
    if (sources.every((s, i) => this.epoch(s.id) === epochs[i])) {
      this.cache.set(
        key,
        sources.map((s) => s.id),
        tile,
        served,
      );
    }
    return served;
  }

  private async resolve(ids: string[]): Promise<TileSource[]> {
    await this.ready();
    const out: TileSource[] = [];
    for (const id of ids) {
      const source = this.sources.get(id) ?? (await this.resolveNamed(id));
      if (!source) throw notFound('unknown_layer', `no tile layer "${id}"; GET /tiles lists them`);
      out.push(source);
    }
    return out;
  }

  /** A source discovery does not list, made by the provider the id belongs to (TileSourceProvider.resolve). */
  private async resolveNamed(id: string): Promise<TileSource | undefined> {
    for (const provider of this.providers) {
      const made = await provider.resolve?.(id);
      if (!made) continue;
      // Two requests may name the same new id at once: the first one registered is kept.
      const kept = this.sources.get(id) ?? made;
      this.sources.set(id, kept);
      return kept;
    }
    return undefined;
  }

  private onChange(event: ChangeEvent): void {
    if (this.providers.some((p) => p.rediscoverOn(event))) this.wanted++;
    for (const source of this.sources.values()) {
      const stale = source.onChange(event);
      if (stale === null) continue;
      this.epochs.set(source.id, this.epoch(source.id) + 1);
      const dropped = this.cache.invalidate(source.id, stale, TILE_BUFFER / TILE_EXTENT);
      this.logger.debug({ source: source.id, stale, dropped, origin: event.origin }, 'tiles invalidated');
    }
  }

  private epoch(id: string): number {
    return this.epochs.get(id) ?? 0;
  }

  /** Waits until the sources are discovered as of the last change that asked for it. */
  private async ready(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const work = this.discovery;
      await work;
      if (work !== this.discovery) continue;
      if (this.have === this.wanted) return;
      if (attempt > 0 && this.failure) throw this.failure;
      const wanted = this.wanted;
      this.failure = null;
      this.discovery = this.discovery
        .then(() => this.discover())
        .then(
          () => void (this.have = wanted),
          (err: unknown) => void (this.failure = err),
        );
    }
  }

  private async discover(): Promise<void> {
    const next = new Map<string, TileSource>();
    for (const provider of this.providers) {
      for (const source of await provider.discover(this.sources)) next.set(source.id, source);
    }
    for (const [id, old] of this.sources) {
      if (next.get(id) === old) continue;
      this.epochs.set(id, this.epoch(id) + 1);
      this.cache.invalidate(id, 'all', 0);
    }
    this.sources = next;
  }
}

const tileKey = (ids: string[], tile: TileCoord) => `${ids.join(',')}/${tile.z}/${tile.x}/${tile.y}`;

function serve(body: Uint8Array): ServedTile {
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // A content hash, not a version: every process that makes the same tile gives it the same ETag,
  // so a CDN in front of several processes revalidates instead of refetching.
  const hash = createHash('sha1').update(buffer).digest('base64url').slice(0, 22);
  return { body: buffer, gzip: gzipSync(buffer), hash, etag: `"${hash}"`, gzipEtag: `"${hash}-gz"` };
}
