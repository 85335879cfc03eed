import { Worker } from 'node:worker_threads';
import type { ArrangeMessage, ArrangeRequest, ArrangeResult } from './overlay-worker';

/** An idle worker is ended after this long; the next overlay starts a new one (~0.5 s). */
const IDLE_MS = 60_000;

let worker: Worker | null = null;
let idle: NodeJS.Timeout | null = null;
let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `arrangeFaces` in a worker thread, so a large overlay never blocks the event loop (the project's
 * rule, as the partition validator's validate-in-worker.ts): the worker parses the grids' GeoJSON text,
 * arranges and measures; only the faces cross back. One worker, kept for a minute after its last
 * overlay (an incremental update then costs no start-up), takes overlays one at a time.
 *
 * @param request territory, units and participating grids (geometry as GeoJSON text or objects), options
 * @returns the faces, as `arrangeFaces` returns them, and the shapes it prepared (overlay-worker.ts)
 * @throws Error when the arrangement fails or the worker dies
 */
export function arrangeInWorker(request: ArrangeRequest): Promise<ArrangeResult> {
  const run = queue.then(() => runOne(request));
  queue = run.catch(() => undefined);
  return run;
}

function runOne(request: ArrangeRequest): Promise<ArrangeResult> {
  if (idle) clearTimeout(idle);
  if (!worker) {
    worker = new Worker(new URL('./overlay-worker-entry.mjs', import.meta.url));
    // A kept worker must not hold the process open.
    worker.unref();
  }
  const current = worker;
  return new Promise<ArrangeResult>((resolve, reject) => {
    const detach = () => {
      current.off('message', onMessage);
      current.off('error', onError);
      current.off('exit', onExit);
    };
    const fail = (message: string) => {
      if (worker === current) worker = null;
      detach();
      void current.terminate();
      reject(new Error(message));
    };
    const onMessage = (message: ArrangeMessage) => {
      detach();
      idle = setTimeout(() => {
        if (worker === current) worker = null;
        void current.terminate();
      }, IDLE_MS).unref();
      if (message.type === 'done') resolve({ faces: message.faces, made: message.made });
      else reject(new Error(`overlay arrangement failed: ${message.message}`));
    };
    const onError = (error: Error) => fail(`overlay worker failed: ${error.message}`);
    const onExit = (code: number) => fail(`overlay worker exited with code ${code} before finishing`);
    current.on('message', onMessage);
    current.on('error', onError);
    current.on('exit', onExit);
    current.postMessage(request);
  });
}
