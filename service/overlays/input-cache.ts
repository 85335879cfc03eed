import type { PreparedOverlay } from '../geometry/overlay/index';
import type { OverlayInputRows } from './store';

/** What an overlay computed on request keeps of its input while the systems it read stay unchanged. */
export interface CachedInput {
  /** The rows read (geometry as GeoJSON text: a large overlay's worker parses them). */
  rows: OverlayInputRows;
  /** Grid counts of each participating system's level, as `report` decides sync or job; null until asked. */
  counts: number[] | null;
  /** The rows parsed and turned into integer rings, made on first use by an overlay arranged inline. */
  prepared: PreparedOverlay | null;
}

/** Entries kept (least recently used dropped): a few territories' inputs; the demo city's is ~0.3 MB. */
const MAX_ENTRIES = 8;
/** And at most this many characters of geometry text in all (a 2,000-community city's input is ~10M). */
const MAX_CHARS = 40_000_000;

/**
 * The inputs of recent overlays computed on request, by what they read (territory, units, systems and
 * levels), each tagged with the versions of the systems it read (store.ts `systemsVersioned`, `overlayRead`: raised in
 * every grid write's and system change's transaction). A request whose systems' versions are those of an
 * entry reuses it and only arranges; any other request reads afresh. The versions are read with the rows
 * (one statement, one snapshot) or before them, so an entry is never tagged newer than its rows: a write
 * committed in between makes the next request read again, never serve stale geometry.
 */
export class OverlayInputCache {
  private readonly entries = new Map<string, { versions: string; input: CachedInput; chars: number }>();
  private chars = 0;

  /** The versions the entry for `key` was read at, if there is one. */
  versionsOf(key: string): string | null {
    return this.entries.get(key)?.versions ?? null;
  }

  get(key: string, versions: string): CachedInput | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    this.drop(key);
    if (entry.versions !== versions) return null;
    this.add(key, entry);
    return entry.input;
  }

  set(key: string, versions: string, input: CachedInput): void {
    const { territory, units, layers } = input.rows;
    const chars = [territory, ...units, ...layers.flat()].reduce((n, g) => n + g.geometry.length, 0);
    this.drop(key);
    if (chars > MAX_CHARS) return;
    this.add(key, { versions, input, chars });
    while (this.entries.size > MAX_ENTRIES || this.chars > MAX_CHARS) this.drop(this.entries.keys().next().value!);
  }

  private add(key: string, entry: { versions: string; input: CachedInput; chars: number }): void {
    this.entries.set(key, entry);
    this.chars += entry.chars;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.chars -= entry.chars;
  }
}
