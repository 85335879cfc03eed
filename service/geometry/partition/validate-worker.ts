import { parentPort, workerData } from 'node:worker_threads';
import { proposeFixes } from './propose-fixes';
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

/** What the worker receives: parts of a request's grids (`{ type: 'grids' }`, in order), then the request with the rest. */
export type WorkerInbound = WorkerRequest | { type: 'grids'; grids: WorkerGrid[] };

export type WorkerMessage =
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
}

/** Grids received ahead of their request (validate-in-worker.ts posts them in parts, off the event loop's back). */
let received: WorkerGrid[] = [];

parentPort?.on('message', (message: WorkerInbound) => {
  if ('type' in message) {
    for (const grid of message.grids) received.push(grid);
    return;
  }
  const request: WorkerRequest = received.length === 0 ? message : { ...message, grids: received.concat(message.grids) };
  received = [];
  const post = (message: WorkerMessage) => parentPort!.postMessage(message);
  try {
    const grids = request.grids.map(readGrid);
    const report = request.report ?? validateSystem(request.system, grids, request.scope, request.options, (done, total) => post({ type: 'progress', done, total }));
    post({ type: 'done', result: { report, proposals: request.fixes ? proposeFixes(request.system, grids, report) : [] } });
  } catch (error) {
    // Input errors (bad options or system) keep their code across the thread boundary.
    const { message, status, code } = error as { message: string; status?: number; code?: string };
    post({ type: 'error', message, status, code });
  }
});
