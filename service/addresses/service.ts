import type { Feature, FeatureCollection, Point } from 'geojson';
import type { ChangeBus } from '../db/changes';
import type { Transact, Tx } from '../db/tx';
import type { SystemQueries } from '../systems';
import { type AddressQueries, type AddressRecord, type AddressWrite, type ExistingAddress, type PlacedAddress, type StatusNote } from './store';
import type { Bbox, StoredSystem } from '../kernel/types';
import { badRequest, notFound, unprocessable } from '../errors';
import type { CrsId } from '../geometry/crs/index';
import { GridIndex, type Assignment } from './grid-index';
import { parseAddressRecord, type AddressInput, type RowError, type SourceRecord } from './rows';
import { metresPerDegree } from './shape';
import { systemStats, type SystemStats } from './stats';
import type { GridChangeHook, RegisterCounts } from '../grids';

export interface AddressImportOptions {
  crs: CrsId;
  /** true: any bad row fails the whole file and nothing is stored. */
  atomic: boolean;
  /** 就近划入 reach in metres for businesses and organisations outside every grid; null = never. */
  nearestM: number | null;
}

export interface AddressImportReport {
  records: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** The first MAX_ERRORS problems, in file order. */
  errors: RowError[];
  errorsTruncated: boolean;
}

/** Rows written per statement: large enough to amortise a round trip, small enough to keep memory flat. */
const BATCH = 10_000;
/** Addresses read per page when re-assigning after a grid change. */
const PAGE = 50_000;
/** Problems listed in a report; the count covers all of them. */
const MAX_ERRORS = 1_000;

export type AddressStatus = 'assigned' | 'ambiguous' | 'nearest' | 'unassigned';

export interface AddressListQuery {
  system?: string;
  grid?: string;
  status?: AddressStatus;
  bbox?: Bbox;
  externalIds?: string[];
  kind?: string;
  limit: number;
  offset: number;
}

export interface NearestAddress {
  externalId: string;
  kind: string;
  door: string | null;
  street: string | null;
  building: string | null;
  distance_m: number;
  grids: { system: string; code: string | null; status: AddressStatus; distance_m?: number }[];
}

/**
 * The address register: streamed import in any Chinese CRS, assignment to the grids of every system,
 * re-assignment inside grid changes, listing and statistics against the size rules (issue #5).
 */
export interface AddressServiceDeps {
  transact: Transact;
  store: (tx?: Tx) => AddressQueries;
  systemStore: (tx?: Tx) => SystemQueries;
  changes: ChangeBus;
}

export function createAddressService(deps: AddressServiceDeps) {
  const { transact, store, systemStore, changes } = deps;
  const levelOrder = (system: StoredSystem) => new Map(system.levels.map((l) => [l.key, l.order]));
  /**
   * Indexes of whole systems, kept between imports: reading 100 000 grids costs seconds, an import of
   * ten rows should not. Valid while the system's grid generation (bumped by every grid change, see
   * onGridChange) and its version (levels may be reordered) are what they were.
   */
  const indexCache = new Map<number, { key: string; index: GridIndex }>();

  async function systemIndexes(q: AddressQueries, systems: StoredSystem[]): Promise<{ system: StoredSystem; index: GridIndex }[]> {
    const generations = await q.generations();
    const out: { system: StoredSystem; index: GridIndex }[] = [];
    for (const system of systems) {
      const key = `${generations.get(system.id) ?? 0}:${system.version}`;
      let cached = indexCache.get(system.id);
      if (cached?.key !== key) {
        cached = { key, index: new GridIndex(await q.indexGrids(system.id, levelOrder(system), null)) };
        indexCache.set(system.id, cached);
      }
      out.push({ system, index: cached.index });
    }
    for (const id of indexCache.keys()) if (!systems.some((s) => s.id === id)) indexCache.delete(id);
    return out;
  }

  async function requireSystem(key: string): Promise<StoredSystem> {
    const s = await systemStore().get(key);
    if (!s) throw notFound('system_not_found', `grid system "${key}" does not exist`);
    return s;
  }

  /**
   * Imports address records in one transaction, BATCH rows at a time: each batch is checked, compared
   * with what is stored (by external id and content digest), assigned in memory and written in one
   * statement. Unchanged rows cost one lookup and no write, so a re-import changes nothing.
   */
  async function importRecords(records: AsyncIterable<SourceRecord>, options: AddressImportOptions): Promise<AddressImportReport> {
    return transact(async (trx) => {
      const q = store(trx);
      await q.lockShared();
      const systems = await systemStore(trx).list();
      const indexes = await systemIndexes(q, systems);
      await q.createSeenTable();
      // Imports run one at a time (reads go on). A first load goes in without the GiST index, which is
      // then built sorted in one pass: about twice as fast as a million single inserts into it.
      await q.lockForImport();
      const firstLoad = await q.isEmpty();
      if (firstLoad) await q.dropGeomIndex();

      const report: AddressImportReport = { records: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0, errors: [], errorsTruncated: false };
      const touched = new Map<string, Set<string>>(systems.map((s) => [s.key, new Set<string>()]));
      let changedBbox: Bbox | null = null;
      const reject = (errors: RowError[]) => {
        report.rejected++;
        for (const e of errors) {
          if (report.errors.length < MAX_ERRORS) report.errors.push(e);
          else report.errorsTruncated = true;
        }
      };

      let batch: AddressInput[] = [];
      // Each batch's write is left running while the next batch is read, checked and assigned: Node and
      // PostgreSQL then work at the same time. Lookups queue behind the write on the one connection.
      let writing: Promise<void> = Promise.resolve();
      const flush = async () => {
        const rows = uniqueInBatch(batch, reject);
        batch = [];
        const seen = quiet(q.markSeen(rows.map((r) => ({ externalId: r.externalId, row: r.row }))));
        // In a first load nothing is stored but what this import wrote, and repeats are caught as duplicates.
        const storedP = quiet(firstLoad ? Promise.resolve(new Map<string, ExistingAddress>()) : q.existing(rows.map((r) => r.externalId)));
        // Assigned before knowing which rows changed: that work overlaps the lookups.
        const assigned = indexes.map(({ index }) => index.assignAll(rows));
        await writing;
        const earlier = await seen;
        const stored = await storedP;
        const writes: AddressWrite[] = [];
        rows.forEach((r, i) => {
          const first = earlier.get(r.externalId);
          if (first !== undefined) return reject([duplicate(r, first)]);
          const before = stored.get(r.externalId);
          if (before?.hash === r.hash) {
            report.unchanged++;
            return;
          }
          const write: AddressWrite = { ...r, grids: {}, gridStatus: {} };
          indexes.forEach(({ system }, s) => {
            const key = String(system.id);
            const codes = touched.get(system.key)!;
            const a = assigned[s]![i];
            if (a) {
              write.grids[key] = a.code;
              const note = noteOf(a);
              if (note) write.gridStatus[key] = note;
              codes.add(a.code);
            }
            const old = before?.grids[key];
            if (old) codes.add(old);
          });
          if (before) {
            report.updated++;
            changedBbox = extend(changedBbox, before.lon, before.lat);
          } else {
            report.inserted++;
          }
          changedBbox = extend(changedBbox, r.lon, r.lat);
          writes.push(write);
        });
        // With atomic=true a bad row dooms the file: keep reading to report every problem, write nothing.
        if (options.atomic && report.rejected > 0) return;
        writing = quiet(q.upsert(writes, firstLoad ? 'insert' : 'upsert'));
      };

      for await (const record of records) {
        report.records++;
        const parsed = parseAddressRecord(record, { crs: options.crs, nearestM: options.nearestM });
        if (Array.isArray(parsed)) reject(parsed);
        else batch.push(parsed);
        if (batch.length >= BATCH) await flush();
      }
      await flush();
      await writing;

      if (report.records === 0) throw badRequest('empty_import', 'the file holds no address records');
      // Duplicates are found when their batch is written, after the rows' own problems: report in file order.
      report.errors.sort((a, b) => a.row - b.row);
      if (options.atomic && report.rejected > 0) {
        const shown = report.errors.slice(0, 5).map((e) => e.message).join('; ');
        throw unprocessable(
          'invalid_rows',
          `${report.rejected} of ${report.records} records are invalid; nothing was stored (atomic=true). ${shown}${report.errors.length > 5 ? '; …' : ''}`,
          { records: report.records, rejected: report.rejected, errors: report.errors, errorsTruncated: report.errorsTruncated },
        );
      }
      if (firstLoad) await q.createGeomIndex();
      if (report.inserted + report.updated > 0) {
        for (const system of systems) {
          await changes.publish(trx, { kind: 'addresses', system: system.key, codes: [...touched.get(system.key)!], bbox: changedBbox });
        }
        if (systems.length === 0) await changes.publish(trx, { kind: 'addresses', system: '', codes: [], bbox: changedBbox });
      }
      return report;
    });
  }

  /**
   * Re-assigns, inside a grid change's transaction, exactly the addresses the change can affect: those in
   * the changed bbox, and those placed by distance within reach of it. Only addresses whose grid or status
   * changes are written.
   */
  const onGridChange: GridChangeHook = async (trx, system, bbox) => {
    const q = store(trx);
    await q.lockExclusive();
    await q.bumpGeneration(system.id);
    const reachM = bbox ? await q.maxNearest() : 0;
    const reach = bbox && reachM > 0 ? widen(bbox, reachM) : null;
    const index = new GridIndex(await q.indexGrids(system.id, levelOrder(system), bbox ? widen(bbox, 2 * reachM) : null));
    const touched = new Set<string>();
    let changedBbox: Bbox | null = null;
    let after = 0;
    for (;;) {
      const page = await q.placed(system.id, bbox, reach, after, PAGE);
      const updates: { id: number; code: string | null; note: StatusNote | null }[] = [];
      const assigned = index.assignAll(page);
      for (const [i, address] of page.entries()) {
        const a = assigned[i] ?? null;
        const code = a?.code ?? null;
        const note = a ? noteOf(a) : null;
        if (sameAssignment(address, code, note)) continue;
        updates.push({ id: address.id, code, note });
        if (code) touched.add(code);
        if (address.code) touched.add(address.code);
        changedBbox = extend(changedBbox, address.lon, address.lat);
      }
      await q.setAssignments(system.id, updates);
      if (page.length < PAGE) break;
      after = page.reduce((m, p) => Math.max(m, p.id), after);
    }
    if (touched.size > 0) await changes.publish(trx, { kind: 'addresses', system: system.key, codes: [...touched], bbox: changedBbox });
  };

  async function systemKeys(): Promise<Map<string, string>> {
    return new Map((await systemStore().list()).map((s) => [String(s.id), s.key]));
  }

  function toFeature(a: AddressRecord, keys: Map<string, string>): Feature<Point> {
    const grids: Record<string, { code: string; status: AddressStatus; distance_m?: number; also_in?: string[] }> = {};
    for (const [id, key] of keys) {
      const code = a.grids[id];
      if (!code) continue;
      const note = a.gridStatus[id];
      grids[key] = {
        code,
        status: note?.status ?? 'assigned',
        ...(note?.status === 'nearest' ? { distance_m: note.distance_m } : {}),
        ...(note?.status === 'ambiguous' ? { also_in: note.also_in } : {}),
      };
    }
    return {
      type: 'Feature',
      id: a.externalId,
      geometry: { type: 'Point', coordinates: [a.lon, a.lat] },
      properties: {
        ...a.attributes,
        external_id: a.externalId,
        kind: a.kind,
        door: a.door,
        street: a.street,
        building: a.building,
        unit: a.unit,
        room: a.room,
        building_key: a.buildingKey,
        households: a.households,
        population: a.population,
        nearest_m: a.nearestM,
        grids,
        version: a.version,
        updated_at: a.updatedAt,
      },
    };
  }

  return {
    import: importRecords,
    onGridChange,

    /**
     * Addresses as GeoJSON, filtered by grid (with its subtree) and status in one system, bbox, external
     * ids and kind; ordered by insertion, paged by limit and offset.
     */
    async list(query: AddressListQuery): Promise<FeatureCollection<Point> & { numberReturned: number }> {
      const q = store();
      if ((query.grid || query.status) && !query.system) {
        throw badRequest('system_required', `${query.grid ? 'grid' : 'status'} needs system= to say which grid system it refers to`);
      }
      const system = query.system ? await requireSystem(query.system) : null;
      let codes: string[] | undefined;
      let codesExtent: Bbox | undefined;
      if (system && query.grid) {
        const subtree = await q.subtreeOf(system.id, query.grid);
        if (!subtree) throw notFound('grid_not_found', `grid "${query.grid}" does not exist in system "${system.key}"`);
        codes = subtree.codes;
        const reach = await q.maxNearest();
        codesExtent = reach > 0 ? widen(subtree.extent, reach) : subtree.extent;
      }
      const rows = await q.list({
        systemId: system?.id,
        codes,
        codesExtent,
        status: query.status,
        bbox: query.bbox,
        externalIds: query.externalIds,
        kind: query.kind,
        limit: query.limit,
        offset: query.offset,
      });
      const keys = await systemKeys();
      return { type: 'FeatureCollection', numberReturned: rows.length, features: rows.map((a) => toFeature(a, keys)) };
    },

    /** Counts per grid against the size rules, and the completeness lists (addresses-stats.ts). */
    async stats(key: string, limit: number): Promise<SystemStats> {
      return systemStats(store(), await requireSystem(key), limit);
    },

    /** Counts per grid code for the register export (网格责任人明细表). */
    async registerCounts(key: string): Promise<Map<string, RegisterCounts>> {
      const stats = await systemStats(store(), await requireSystem(key), 0);
      return new Map(stats.grids.map((g) => [g.code, { addresses: g.addresses, buildings: g.buildings, households: g.households, population: g.population }]));
    },

    /** The nearest address within `within` metres, with its grid in every system (for GET /api/point). */
    async nearest(lon: number, lat: number, within: number): Promise<NearestAddress | null> {
      const a = await store().nearest(lon, lat, within);
      if (!a) return null;
      const keys = await systemKeys();
      return {
        externalId: a.externalId,
        kind: a.kind,
        door: a.door,
        street: a.street,
        building: a.building,
        distance_m: Math.round(a.distance * 100) / 100,
        grids: [...keys].map(([id, key]) => {
          const note = a.gridStatus[id];
          const code = a.grids[id] ?? null;
          return {
            system: key,
            code,
            status: code === null ? 'unassigned' : note?.status ?? 'assigned',
            ...(note?.status === 'nearest' ? { distance_m: note.distance_m } : {}),
          };
        }),
      };
    },
  };
}

export type AddressService = ReturnType<typeof createAddressService>;

/** Marks a promise as handled now (it is awaited later), so a failure waits for that await instead of crashing the process. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

function noteOf(a: Assignment): StatusNote | null {
  if (a.status === 'ambiguous') return { status: 'ambiguous', also_in: a.alsoIn };
  if (a.status === 'nearest') return { status: 'nearest', distance_m: a.distance! };
  return null;
}

function sameAssignment(address: PlacedAddress, code: string | null, note: StatusNote | null): boolean {
  if (address.code !== code) return false;
  const a = address.note;
  if (a === null || note === null) return a === note;
  if (a.status !== note.status) return false;
  if (a.status === 'nearest' && note.status === 'nearest') return a.distance_m === note.distance_m;
  if (a.status === 'ambiguous' && note.status === 'ambiguous') return a.also_in.join('\u0000') === note.also_in.join('\u0000');
  return true;
}

/** Later rows repeating an external id of the same batch are rejected; the first one stays. */
function uniqueInBatch(batch: AddressInput[], reject: (errors: RowError[]) => void): AddressInput[] {
  const first = new Map<string, number>();
  const out: AddressInput[] = [];
  for (const r of batch) {
    const row = first.get(r.externalId);
    if (row === undefined) {
      first.set(r.externalId, r.row);
      out.push(r);
    } else {
      reject([duplicate(r, row)]);
    }
  }
  return out;
}

const duplicate = (r: AddressInput, firstRow: number): RowError => ({
  row: r.row,
  externalId: r.externalId,
  field: 'external_id',
  error: 'duplicate_external_id',
  message: `${r.label} (${r.externalId}): external_id ${r.externalId} already appeared in ${r.label.split(' ')[0]} ${firstRow} of this file`,
});

function extend(b: Bbox | null, lon: number, lat: number): Bbox {
  if (!b) return [lon, lat, lon, lat];
  return [Math.min(b[0], lon), Math.min(b[1], lat), Math.max(b[2], lon), Math.max(b[3], lat)];
}

/** A bbox grown by `metres` on every side (with 1 % to spare for the local-scale approximation). */
function widen(b: Bbox, metres: number): Bbox {
  if (metres <= 0) return b;
  const { kx, ky } = metresPerDegree(Math.max(Math.abs(b[1]), Math.abs(b[3])));
  const dx = (metres / kx) * 1.01;
  const dy = (metres / ky) * 1.01;
  return [b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy];
}
