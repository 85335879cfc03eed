import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { AppError, notFound } from '../errors';
import type { Logger } from '../logger';
import { recordJob, setJobQueueDepth } from '../ops/metrics';

export interface Job {
  id: string;
  kind: string;
  system: string | null;
  status: 'queued' | 'running' | 'done' | 'failed';
  progress: number;
  message: string | null;
  result: unknown;
  error: { code: string; message: string } | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface JobContext {
  /** Reports progress in 0..1; written at most every 250 ms. */
  progress(fraction: number, message?: string): Promise<void>;
}

interface JobRow {
  id: string;
  kind: string;
  system: string | null;
  status: Job['status'];
  progress: number;
  message: string | null;
  result: unknown;
  error: Job['error'];
  created_at: Date | string;
  finished_at: Date | string | null;
}

/** A process whose heartbeat is older than this has stopped (it beats every 10 s). */
export const PROCESS_STALE_SECONDS = 30;

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/**
 * Background jobs run in this process; their state lives in the database. `owner` names this process (its
 * change-bus origin), whose heartbeat (service/ops/heartbeat.ts) says it is alive.
 */
export function createJobs(knex: Knex, logger: Logger, owner: string | null = null) {
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
      await knex('jobs')
        .whereIn('status', ['queued', 'running'])
        .whereRaw(
          `(owner is null or not exists (select 1 from work_claims w where w.key = 'process:' || jobs.owner and w.claimed_at > now() - make_interval(secs => ?)))`,
          [PROCESS_STALE_SECONDS],
        )
        .update({ status: 'failed', error: JSON.stringify({ code: 'job_interrupted', message: 'the service stopped while this job ran; start it again' }), finished_at: knex.fn.now() });
    },

    async get(id: string): Promise<Job> {
      if (!/^[0-9a-f-]{36}$/.test(id)) throw notFound('job_not_found', `job "${id}" does not exist`);
      const row: JobRow | undefined = await knex('jobs').where({ id }).first();
      if (!row) throw notFound('job_not_found', `job "${id}" does not exist`);
      return {
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
      };
    },

    /** Starts `run` after the current request; returns the job id at once. */
    async start(kind: string, system: string | null, run: (ctx: JobContext) => Promise<unknown>): Promise<string> {
      const id = randomUUID();
      await knex('jobs').insert({ id, kind, system, status: 'queued', owner });
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
            await knex('jobs').where({ id }).update({ progress: Math.min(1, Math.max(0, fraction)), message: message ?? null });
          },
        };
        try {
          moved('queued', 'running');
          await knex('jobs').where({ id }).update({ status: 'running' });
          const result = await run(ctx);
          await knex('jobs').where({ id }).update({ status: 'done', progress: 1, result: JSON.stringify(result ?? null), finished_at: knex.fn.now() });
          outcome = 'done';
        } catch (err) {
          const error =
            err instanceof AppError ? { code: err.code, message: err.message } : { code: 'job_failed', message: `the job failed: ${(err as Error).message}` };
          if (!(err instanceof AppError)) logger.error({ job: id, err: (err as Error).stack }, 'job failed');
          await knex('jobs')
            .where({ id })
            .update({ status: 'failed', error: JSON.stringify(error), finished_at: knex.fn.now() })
            .catch(() => undefined);
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
