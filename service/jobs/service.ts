import { randomUUID } from 'node:crypto';
import { AppError, notFound } from '../errors';
import type { Logger } from '../logger';
import { recordJob, setJobQueueDepth } from '../ops';
import type { JobQueries, JobRow } from './store';

/** A job as the API shows it: the stored row with ISO times. */
export interface Job extends Omit<JobRow, 'created_at' | 'finished_at'> {
  createdAt: string;
  finishedAt: string | null;
}

export interface JobContext {
  /** Reports progress in 0..1; written at most every 250 ms. */
  progress(fraction: number, message?: string): Promise<void>;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

const toJob = (row: JobRow): Job => ({
  id: row.id,
  kind: row.kind,
  system: row.system,
  status: row.status,
  progress: Number(row.progress),
  message: row.message,
  result: row.result,
  error: row.error,
  createdAt: iso(row.created_at)!,
  finishedAt: iso(row.finished_at),
});

/** A process whose heartbeat is older than this has stopped (it beats every 10 s). */
export const PROCESS_STALE_SECONDS = 30;

/**
 * Background jobs run in this process; their state lives in the database. `owner` names this process (its
 * change-bus origin), whose heartbeat (service/ops/heartbeat.ts) says it is alive.
 */
export function createJobs(store: JobQueries, logger: Logger, owner: string | null = null) {
  // This process's jobs, for the queue-depth gauge (issue #16).
  const depth = { queued: 0, running: 0 };
  const moved = (from: keyof typeof depth | null, to: keyof typeof depth | null) => {
    if (from) depth[from]--;
    if (to) depth[to]++;
    setJobQueueDepth(depth);
  };
  return {
    /**
     * Jobs left running by a stopped process can never finish: mark them failed at start-up. Jobs of
     * another process whose heartbeat is fresh are still running there (issue #16).
     */
    async failInterrupted(): Promise<void> {
      await store.failUnfinished({ code: 'job_interrupted', message: 'the service stopped while this job ran; start it again' }, PROCESS_STALE_SECONDS);
    },

    async get(id: string): Promise<Job> {
      if (!/^[0-9a-f-]{36}$/.test(id)) throw notFound('job_not_found', `job "${id}" does not exist`);
      const row = await store.get(id);
      if (!row) throw notFound('job_not_found', `job "${id}" does not exist`);
      return toJob(row);
    },

    /** Starts `run` after the current request; returns the job id at once. */
    async start(kind: string, system: string | null, run: (ctx: JobContext) => Promise<unknown>): Promise<string> {
      const id = randomUUID();
      await store.insert(id, kind, system, owner);
      moved(null, 'queued');
      setImmediate(async () => {
        const started = performance.now();
        let outcome: 'done' | 'failed' = 'failed';
        let last = 0;
        const ctx: JobContext = {
          async progress(fraction, message) {
            const now = Date.now();
            if (now - last < 250 && fraction < 1) return;
            last = now;
            await store.update(id, { progress: Math.min(1, Math.max(0, fraction)), message: message ?? null });
          },
        };
        try {
          moved('queued', 'running');
          await store.update(id, { status: 'running' });
          await store.finish(id, { result: await run(ctx) });
          outcome = 'done';
        } catch (err) {
          const error =
            err instanceof AppError ? { code: err.code, message: err.message } : { code: 'job_failed', message: `the job failed: ${(err as Error).message}` };
          if (!(err instanceof AppError)) logger.error({ job: id, err: (err as Error).stack }, 'job failed');
          await store.finish(id, { error }).catch(() => undefined);
        } finally {
          moved('running', null);
          recordJob(kind, (performance.now() - started) / 1000, outcome);
        }
      });
      return id;
    },
  };
}

export type Jobs = ReturnType<typeof createJobs>;
