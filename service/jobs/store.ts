import { knexOf, type Queryable } from '../db/tx';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface JobRow {
  id: string;
  kind: string;
  system: string | null;
  status: JobStatus;
  progress: number;
  message: string | null;
  result: unknown;
  error: { code: string; message: string } | null;
  created_at: Date | string;
  finished_at: Date | string | null;
}

export type JobQueries = ReturnType<typeof createJobQueries>;

export function createJobQueries(db: Queryable) {
  const knex = knexOf(db);
  return {
    async get(id: string): Promise<JobRow | undefined> {
      return knex('jobs').where({ id }).first();
    },

    async insert(id: string, kind: string, system: string | null, owner: string | null): Promise<void> {
      await knex('jobs').insert({ id, kind, system, status: 'queued', owner });
    },

    async update(id: string, fields: { status?: JobStatus; progress?: number; message?: string | null }): Promise<void> {
      await knex('jobs').where({ id }).update(fields);
    },

    async finish(id: string, outcome: { result: unknown } | { error: { code: string; message: string } }): Promise<void> {
      const fields = 'error' in outcome
        ? { status: 'failed', error: JSON.stringify(outcome.error) }
        : { status: 'done', progress: 1, result: JSON.stringify(outcome.result ?? null) };
      await knex('jobs').where({ id }).update({ ...fields, finished_at: knex.fn.now() });
    },

    /**
     * Marks unfinished jobs failed with `error`, except those of a process whose heartbeat is fresher than
     * `staleSeconds`: they are still running there (issue #16).
     */
    async failUnfinished(error: { code: string; message: string }, staleSeconds: number): Promise<void> {
      await knex('jobs')
        .whereIn('status', ['queued', 'running'])
        .whereRaw(
          `(owner is null or not exists (select 1 from work_claims w where w.key = 'process:' || jobs.owner and w.claimed_at > now() - make_interval(secs => ?)))`,
          [staleSeconds],
        )
        .update({ status: 'failed', error: JSON.stringify(error), finished_at: knex.fn.now() });
    },
  };
}
