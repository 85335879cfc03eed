import { parentPort, workerData } from 'node:worker_threads';
import { proposeFixes } from './propose-fixes';
import { type StoredGridRow, ValidationReuse } from './reuse';
import type { FixProposal, PartitionGrid, PartitionOptions, PartitionReport, PartitionSystem } from './types';
import { validateSystem } from './validate-system';
import { warmUpValidator } from './warm-up';
import { polygonFromWkb } from './wkb';

/** A grid as the worker receives it: the geometry may still be base64 WKB text, read here, off the event loop. */
export interface WorkerGrid extends Omit<PartitionGrid, 'geometry'> {
  geometry: PartitionGrid['geometry'] | string;
}

/** A worker grid with its geometry read (`polygonFromWkb` for base64 WKB text). */
export function readGrid(grid: WorkerGrid): PartitionGrid {
  return typeof grid.geometry === 'string' ? { ...grid, geometry: polygonFromWkb(grid.geometry) } : (grid as PartitionGrid);
}

export interface WorkerRequest {
  system: PartitionSystem;
  grids: WorkerGrid[];
  /**
   * Instead of `grids`: a whole stored system, geometry sent only for the grids this worker does not hold
   * at their version (`validateStoredSystemInWorker`), no rows at all (null) when they are the ones held;
   * `source` names the system and its database.
   */
  stored?: { source: string; rows: StoredGridRow[] | null };
  scope: string | null;
  options: Omit<PartitionOptions, 'parents'>;
  /** Also propose fixes for the report's small gaps and overlaps (`proposeFixes`). */
  fixes: boolean;
  /** A report already made: only propose its fixes, no validation (its `report` comes back as given). */
  report?: PartitionReport;
}

export interface WorkerResult {
  report: PartitionReport;
  proposals: FixProposal[];
}

/**
 * What the worker receives: parts of a request's grids, or of its stored rows (`{ type: 'part' }`, in
 * order), then the request with the rest.
 */
export type WorkerInbound = WorkerRequest | { type: 'part'; items: (WorkerGrid | StoredGridRow)[] };

export type WorkerMessage =
  /** A kept-ready worker has finished its warm-up (`validationWorkerReady`). */
  | { type: 'ready' }
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; result: WorkerResult }
  | { type: 'error'; message: string; status?: number; code?: string };

// A worker kept ready (`keepValidationWorkerReady`) compiles the validator before any request comes.
if ((workerData as { warmUp?: boolean } | null)?.warmUp) {
  try {
    warmUpValidator();
  } catch {
    // Only a speed-up: a failing warm-up must not take the worker (and its first validation) down.
  }
  parentPort?.postMessage({ type: 'ready' } satisfies WorkerMessage);
}

/** What this worker's previous validation of a stored system left to reuse. */
const reuse = new ValidationReuse();

/** Grids or rows received ahead of their request (validate-in-worker.ts posts them in parts, off the event loop's back). */
let received: (WorkerGrid | StoredGridRow)[] = [];

parentPort?.on('message', (message: WorkerInbound) => {
  if ('type' in message) {
    for (const item of message.items) received.push(item);
    return;
  }
  const request: WorkerRequest = joined(message, received);
  received = [];
  const post = (message: WorkerMessage) => parentPort!.postMessage(message);
  try {
    const grids = request.stored ? reuse.take(request.stored.source, request.stored.rows) : request.grids.map(readGrid);
    const prepared = request.stored ? reuse.prepared() : undefined;
    const report = request.report ?? validateSystem(request.system, grids, request.scope, request.options, (done, total) => post({ type: 'progress', done, total }), prepared);
    if (request.stored) reuse.done();
    post({ type: 'done', result: { report, proposals: request.fixes ? proposeFixes(request.system, grids, report) : [] } });
  } catch (error) {
    // Input errors (bad options or system) keep their code across the thread boundary.
    const { message, status, code } = error as { message: string; status?: number; code?: string };
    post({ type: 'error', message, status, code });
  }
});

/** The request with the parts received before it put back in front of its own grids or rows. */
function joined(request: WorkerRequest, parts: (WorkerGrid | StoredGridRow)[]): WorkerRequest {
  if (parts.length === 0) return request;
  const rows = request.stored?.rows;
  if (rows) return { ...request, stored: { ...request.stored!, rows: (parts as StoredGridRow[]).concat(rows) } };
  return { ...request, grids: (parts as WorkerGrid[]).concat(request.grids) };
}
