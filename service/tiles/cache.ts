import type { Staleness } from './source';
import { bboxTouchesTile, type TileCoord } from './tile-math';

/** A tile ready to serve: both encodings and the strong validator of its content. */
export interface ServedTile {
  /** Uncompressed MVT; null when the tile is empty (served as 204). */
  body: Buffer | null;
  gzip: Buffer | null;
  /** Content hash, the same in every process that generates the same tile (see service.ts). */
  hash: string;
  /** The ETag of each encoding (the gzip one ends in "-gz"), made once per tile rather than per request. */
  etag: string;
  gzipEtag: string;
}

interface Entry {
  key: string;
  sources: readonly string[];
  tile: TileCoord;
  value: ServedTile;
  bytes: number;
}

// Map entry, key string and object headers: what an entry costs beyond its buffers, roughly.
const ENTRY_OVERHEAD = 256;

/**
 * Served tiles in memory, least recently used evicted first once `maxBytes` is reached. Entries are
 * indexed by source so a change drops exactly the tiles of that source it touches.
 */
export class TileCache {
  private readonly entries = new Map<string, Entry>();
  private readonly bySource = new Map<string, Set<string>>();
  private used = 0;

  constructor(private readonly maxBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): ServedTile | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, sources: readonly string[], tile: TileCoord, value: ServedTile): void {
    const bytes = (value.body?.length ?? 0) + (value.gzip?.length ?? 0) + key.length * 2 + ENTRY_OVERHEAD;
    if (bytes > this.maxBytes) return;
    this.delete(key);
    this.entries.set(key, { key, sources, tile, value, bytes });
    this.used += bytes;
    for (const id of sources) {
      let keys = this.bySource.get(id);
      if (!keys) this.bySource.set(id, (keys = new Set()));
      keys.add(key);
    }
    for (const oldest of this.entries.values()) {
      if (this.used <= this.maxBytes) break;
      this.delete(oldest.key);
    }
  }

  /**
   * Drops the tiles of `source` that a change made stale. `buffer` is the tiles' buffer as a fraction
   * of their width: a change just outside a tile still shows in its buffer.
   * @returns how many tiles were dropped
   */
  invalidate(source: string, staleness: Exclude<Staleness, null>, buffer: number): number {
    const keys = this.bySource.get(source);
    if (!keys) return 0;
    let dropped = 0;
    for (const key of [...keys]) {
      const entry = this.entries.get(key)!;
      if (staleness === 'all' || bboxTouchesTile(staleness, entry.tile, buffer)) {
        this.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.used -= entry.bytes;
    for (const id of entry.sources) {
      const keys = this.bySource.get(id)!;
      keys.delete(key);
      if (keys.size === 0) this.bySource.delete(id);
    }
  }
}
