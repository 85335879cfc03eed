import { Worker } from 'node:worker_threads';
import { InputError } from '../../kernel/errors';
import { type StoredGridRow, gridsDigest } from './reuse';
import type { WorkerGrid, WorkerInbound, WorkerMessage, WorkerRequest, WorkerResult } from './validate-worker';

/** An idle worker is ended after this long; the next validation starts a new one (~0.5 s). */
const IDLE_MS = 60_000;

let worker: Worker | null = null;
let idle: NodeJS.Timeout | null = null;
let queue: Promise<unknown> = Promise.resolve();
/** A warmed-up worker is kept ready between validations (`keepValidationWorkerReady`). */
let standing = false;
/** Settles when the latest kept-ready worker has finished its warm-up (or ended). */
let ready: Promise<void> = Promise.resolve();

/**
 * Runs `validateSystem` in a worker thread, so validating a large system never blocks the event loop
 * (issue #15): the worker reads the grids' base64 WKB, validates, proposes fixes and posts
 * progress; only the finished report and proposals cross back. One worker, kept for a minute after
 * its last validation (starting one and compiling the validator costs ~0.5 s, and a kept one runs
 * optimised code), takes validations one at a time: the other core stays with the event loop.
 *
 * @param request the system, its grids (geometry as base64 WKB text or GeoJSON objects), scope and options
 * @param onProgress called with the parents checked so far and their total
 * @throws InputError as the validator would (bad options or system); a plain Error when the worker fails
 */
export function validateSystemInWorker(request: WorkerRequest, onProgress?: (done: number, total: number) => void): Promise<WorkerResult> {
  const run = queue.then(() => runOne(request, onProgress));
  queue = run.catch(() => undefined);
  return run;
}

/**
 * The row versions the current worker holds (`ValidationReuse` in the worker): those of the last stored
 * system sent to it. Forgotten when the worker changes or a validation fails.
 */
let held: { worker: Worker; source: string; versions: Map<string, string>; digest: string } | null = null;

/**
 * Validates a whole stored system in the worker like `validateSystemInWorker`, reading its rows once
 * the worker's turn comes: when the worker holds rows of this system, `reader.digest` first (their
 * `gridsDigest` now: equal, nothing is read or sent); else `reader.read`, given the row versions the
 * worker holds, returns every row with geometry only where the version differs. So an unchanged grid is
 * neither read as WKB, copied to the worker nor decoded and inspected again, and an unchanged family not
 * checked again (issue #15: warm validations).
 *
 * @param source the system and its database (a process may serve several databases, whose row versions
 *   are unrelated)
 */
export function validateStoredSystemInWorker(
  request: Omit<WorkerRequest, 'grids' | 'stored'> & { source: string },
  reader: { digest: () => Promise<string>; read: (known: ReadonlyMap<string, string>) => Promise<StoredGridRow[]> },
  onProgress?: (done: number, total: number) => void,
): Promise<WorkerResult> {
  const run = queue.then(async () => {
    const current = ensureWorker();
    const mine = held && held.worker === current && held.source === request.source ? held : null;
    held = null;
    const { source, ...rest } = request;
    if (mine && (await reader.digest()) === mine.digest && ensureWorker() === current) {
      const result = await runOne({ ...rest, grids: [], stored: { source, rows: null } }, onProgress);
      held = mine;
      return result;
    }
    let rows = await reader.read(mine?.versions ?? new Map());
    // A worker that ended while the rows were read took what it held with it.
    if (ensureWorker() !== current && mine) rows = await reader.read(new Map());
    const result = await runOne({ ...rest, grids: [], stored: { source, rows } }, onProgress);
    held = { worker: worker ?? current, source, versions: new Map(rows.map((r) => [r.code, r.version])), digest: gridsDigest(rows) };
    return result;
  });
  queue = run.catch(() => undefined);
  return run;
}

/**
 * Starts the worker ahead of a validation that will need it, so its start-up (~0.5 s: a thread, the
 * TypeScript loader, the validator's modules) overlaps reading the grids from the database. An unused
 * worker ends after `IDLE_MS` like an idle one.
 */
export function startValidationWorker(): void {
  if (worker) return;
  const started = ensureWorker();
  idle = endWhenIdle(started);
}

/**
 * Keeps a validation worker ready from now on, its code loaded and compiled by a warm-up validation
 * (`warmUpValidator`), so the first validation after an import pays neither the worker's start nor
 * cold code (issue #15: together ~1 s of a cold US-counties validation under load). The service calls
 * this once at start. A worker that has validated still ends after `IDLE_MS`, freeing its heap, and a
 * fresh warmed-up one takes its place; an unused ready worker is kept.
 */
export function keepValidationWorkerReady(): void {
  standing = true;
  worker ??= spawn(true);
}

/**
 * Resolves once the worker kept ready (`keepValidationWorkerReady`) has finished its warm-up, at once
 * when none is warming up. For benchmarks: a service validates long after its start, so its first
 * validation after an import finds the worker ready (issue #15: a cold benchmark run right after start
 * waited for the warm-up instead).
 */
export function validationWorkerReady(): Promise<void> {
  return ready;
}

function spawn(warmUp: boolean): Worker {
  // A young generation twice the default (semi-spaces of 32 MB): the validator makes many short-lived
  // arrays; fewer scavenges took ~15 % off US counties' validation in an A/B at load 13 (issue #15).
  const started = new Worker(new URL('./validate-worker-entry.mjs', import.meta.url), { workerData: { warmUp }, resourceLimits: { maxYoungGenerationSizeMb: 96 } });
  // A kept worker must not hold the process open.
  started.unref();
  if (warmUp) {
    ready = new Promise<void>((resolve) => {
      const onReady = (message: WorkerMessage) => {
        if (message.type !== 'ready') return;
        started.off('message', onReady);
        resolve();
      };
      started.on('message', onReady);
      started.once('exit', () => resolve());
    });
  }
  return started;
}

function ensureWorker(): Worker {
  if (idle) clearTimeout(idle);
  idle = null;
  worker ??= spawn(false);
  return worker;
}

function endWhenIdle(current: Worker): NodeJS.Timeout {
  return setTimeout(() => {
    if (worker === current) worker = standing ? spawn(true) : null;
    void current.terminate();
  }, IDLE_MS).unref();
}

function runOne(request: WorkerRequest, onProgress?: (done: number, total: number) => void): Promise<WorkerResult> {
  const current = ensureWorker();
  return new Promise<WorkerResult>((resolve, reject) => {
    const cleanUp = () => {
      current.off('message', onMessage);
      current.off('error', onError);
      current.off('exit', onExit);
      idle = endWhenIdle(current);
    };
    const fail = (message: string) => {
      if (worker === current) worker = null;
      current.off('message', onMessage);
      current.off('error', onError);
      current.off('exit', onExit);
      void current.terminate();
      reject(new Error(message));
    };
    const onMessage = (message: WorkerMessage) => {
      if (message.type === 'ready') return;
      if (message.type === 'progress') {
        onProgress?.(message.done, message.total);
      } else if (message.type === 'done') {
        cleanUp();
        resolve(message.result);
      } else {
        cleanUp();
        reject(message.code ? new InputError(message.code, message.message) : new Error(`partition validation failed: ${message.message}`));
      }
    };
    const onError = (error: Error) => fail(`partition validation worker failed: ${error.message}`);
    const onExit = (code: number) => fail(`partition validation worker exited with code ${code} before finishing`);
    current.on('message', onMessage);
    current.on('error', onError);
    current.on('exit', onExit);
    void post(current, request);
  });
}

/**
 * A part of the grids crossing to the worker: at most this many grids or characters of geometry text.
 * postMessage copies its message synchronously on the posting thread: the 110,907 grids of the
 * 100,000-grid city in one message held the event loop for ~70 ms, the tile p99 at 100 clients during a
 * validation (issue #15 item 4: < 50 ms); parts of 2,000 grids take ~1–2 ms each.
 */
const PART_GRIDS = 2_000;
const PART_CHARS = 2_000_000;

/**
 * Posts the request with its grids (or a stored system's rows) in parts (`{ type: 'part' }` messages, then
 * the request with the rest), yielding to the event loop between parts; the worker joins them in order
 * (validate-worker.ts).
 */
async function post(current: Worker, request: WorkerRequest): Promise<void> {
  const rows = request.stored?.rows;
  const items: (WorkerGrid | StoredGridRow)[] = rows ?? request.grids;
  let from = 0;
  let chars = 0;
  for (let i = 0; i < items.length; i++) {
    const geometry = items[i]!.geometry;
    chars += typeof geometry === 'string' ? geometry.length : 0;
    if (i + 1 - from < PART_GRIDS && chars < PART_CHARS) continue;
    if (i + 1 === items.length) break;
    current.postMessage({ type: 'part', items: items.slice(from, i + 1) } satisfies WorkerInbound);
    from = i + 1;
    chars = 0;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const rest = from === 0 ? items : items.slice(from);
  current.postMessage((rows ? { ...request, stored: { ...request.stored!, rows: rest as StoredGridRow[] } } : { ...request, grids: rest as WorkerGrid[] }) satisfies WorkerInbound);
}
