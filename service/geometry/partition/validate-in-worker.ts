import { Worker } from 'node:worker_threads';
import { AppError } from '../../errors';
import type { WorkerMessage, WorkerRequest, WorkerResult } from './validate-worker';

/**
 * Runs `validateSystem` in a worker thread, so validating a large system never blocks the event loop
 * (issue #15): the worker parses the grids' GeoJSON text, validates, proposes fixes and posts
 * progress; only the finished report and proposals cross back. One thread per validation, ended when
 * it is done.
 *
 * @param request the system, its grids (geometry as GeoJSON text or objects), scope and options
 * @param onProgress called with the parents checked so far and their total
 * @throws AppError as the validator would (bad options or system), or 500 `partition.worker-failed`
 */
export function validateSystemInWorker(request: WorkerRequest, onProgress?: (done: number, total: number) => void): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./validate-worker-entry.mjs', import.meta.url));
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') onProgress?.(message.done, message.total);
      else if (message.type === 'done') finish(() => resolve(message.result));
      else finish(() => reject(message.status && message.code ? new AppError(message.status, message.code, message.message) : new AppError(500, 'partition.worker-failed', `partition validation failed: ${message.message}`)));
    });
    worker.on('error', (error) => finish(() => reject(new AppError(500, 'partition.worker-failed', `partition validation worker failed: ${error.message}`))));
    worker.on('exit', (code) => finish(() => reject(new AppError(500, 'partition.worker-failed', `partition validation worker exited with code ${code} before finishing`))));
    worker.postMessage(request);
  });
}
