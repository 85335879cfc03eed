import type { ChangeBus } from '../db/changes';
import type { Transact, Tx } from '../db/tx';
import { badRequest, unprocessable } from '../errors';
import type { CrsId } from '../geometry/crs/index';
import type { Bbox, StoredSystem } from '../kernel/types';
import type { SystemQueries } from '../systems';
import { extend, noteOf } from './assignment';
import type { GridIndex } from './grid-index';
import { parseAddressRecord, type AddressInput, type RowError, type SourceRecord } from './rows';
import type { AddressQueries, AddressWrite, ExistingAddress } from './store';

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
/** Problems listed in a report; the count covers all of them. */
const MAX_ERRORS = 1_000;

export interface ImportContext {
  transact: Transact;
  store: (tx?: Tx) => AddressQueries;
  systemStore: (tx?: Tx) => SystemQueries;
  changes: ChangeBus;
  /** The assignment index of every system, cached between imports. */
  systemIndexes(q: AddressQueries, systems: StoredSystem[]): Promise<{ system: StoredSystem; index: GridIndex }[]>;
}

/**
 * Imports address records in one transaction, BATCH rows at a time: each batch is checked, compared
 * with what is stored (by external id and content digest), assigned in memory and written in one
 * statement. Unchanged rows cost one lookup and no write, so a re-import changes nothing.
 */
export async function importRecords(ctx: ImportContext, records: AsyncIterable<SourceRecord>, options: AddressImportOptions): Promise<AddressImportReport> {
  const { transact, store, systemStore, changes, systemIndexes } = ctx;
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
      const shown = report.errors
        .slice(0, 5)
        .map((e) => e.message)
        .join('; ');
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

function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
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
