import { createHash } from 'node:crypto';
import type { PartitionGrid } from './types';
import type { FamilyChecks, PreparedGrids } from './validate';
import { polygonFromWkb } from './wkb';

/**
 * A digest of a system's rows by code and version, in the order read (the database's `order by code`): the
 * same rows give the same digest, any grid added, removed or rewritten another (the code's UTF-8 length
 * prefix keeps the text unambiguous). The SQL twin is `gridsDigest` in partition/store.ts; a difference
 * between the two could only make the digests differ, costing a full read, never a stale report.
 */
export function gridsDigest(rows: readonly { code: string; version: string }[]): string {
  return createHash('sha256')
    .update(rows.map((r) => `${Buffer.byteLength(r.code)}:${r.code}${r.version}`).join(','))
    .digest('hex');
}

type FamilyCheck = NonNullable<ReturnType<FamilyChecks['get']>>;

/**
 * A grid as stored, with its row version (`xmin`: every write of the row renews it); `geometry` is its
 * base64 WKB, or null when the reader already holds this version (`ValidationReuse.knows`).
 */
export interface StoredGridRow {
  code: string;
  parentCode: string | null;
  level: string;
  version: string;
  geometry: string | null;
}

/**
 * What a validation may reuse from the previous validation of the same stored grids (issue #15, warm
 * runs): each grid at an unchanged row version keeps its decoded geometry, inspection and repaired copy,
 * and each family whose members are all unchanged keeps its geometry check (overlaps, gaps, areas).
 * Nothing is reused across versions, so a report never reflects a grid as it was: the structure checks
 * and the report itself are made anew every time. Holds one source (a system of one database) at a time,
 * and only what its latest validation used.
 */
export class ValidationReuse {
  private source: string | null = null;
  private grids = new Map<string, { version: string; grid: PartitionGrid }>();
  /** Weak: a grid no longer held drops its id and inspection with it. */
  private ids = new WeakMap<PartitionGrid, number>();
  private inspections: PreparedGrids['grids'] = new WeakMap();
  private nextId = 0;
  private checks = new Map<string, FamilyCheck>();
  private nextChecks = new Map<string, FamilyCheck>();

  /** Row versions of `source` held now (what a reader need not send geometry for); empty for another source. */
  knows(source: string): Map<string, string> {
    const versions = new Map<string, string>();
    if (source === this.source) for (const [code, kept] of this.grids) versions.set(code, kept.version);
    return versions;
  }

  /** `gridsDigest` of the rows of `source` held now, null when another source (or none) is held. */
  digest(source: string): string | null {
    if (source !== this.source) return null;
    return gridsDigest([...this.grids].map(([code, kept]) => ({ code, version: kept.version })));
  }

  /**
   * The grids of `rows` (as read now), reusing each held grid of the same version; from now on only these
   * are held.
   *
   * @throws Error when a row without geometry is not held at its version (the reader's view was wrong)
   */
  take(source: string, rows: StoredGridRow[] | null): PartitionGrid[] {
    if (rows === null) {
      // The reader found the same rows as last time (`gridsDigest`).
      if (source !== this.source) throw new Error(`the grids of ${source} were sent as unchanged and are not held`);
      return [...this.grids.values()].map((kept) => kept.grid);
    }
    const held = source === this.source ? this.grids : new Map<string, { version: string; grid: PartitionGrid }>();
    if (source !== this.source) this.checks = new Map();
    const grids = new Map<string, { version: string; grid: PartitionGrid }>();
    const out = rows.map((row) => {
      const kept = held.get(row.code);
      let grid: PartitionGrid;
      if (row.geometry !== null) grid = { code: row.code, parentCode: row.parentCode, level: row.level, geometry: polygonFromWkb(row.geometry) };
      else if (kept && kept.version === row.version) grid = kept.grid;
      else throw new Error(`grid ${row.code} at version ${row.version} was sent without geometry and is not held`);
      grids.set(row.code, { version: row.version, grid });
      return grid;
    });
    this.source = source;
    this.grids = grids;
    return out;
  }

  /** The `PreparedGrids` for one validation of the grids last taken; `done` afterwards. */
  prepared(): PreparedGrids {
    this.nextChecks = new Map();
    const ids = this.ids;
    return {
      keep: () => true,
      grids: this.inspections,
      families: {
        key: (grid) => {
          let id = ids.get(grid);
          if (id === undefined) ids.set(grid, (id = this.nextId++));
          return id;
        },
        get: (key) => this.checks.get(key),
        set: (key, check) => void this.nextChecks.set(key, check),
      },
    };
  }

  /** After a validation: only the family checks it used are kept. */
  done(): void {
    this.checks = this.nextChecks;
    this.nextChecks = new Map();
  }
}
