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

    async insert(id: string, kind: string, system: string | null): Promise<void> {
      await knex('jobs').insert({ id, kind, system, status: 'queued' });
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

    /** Marks unfinished jobs failed with `error`. */
    async failUnfinished(error: { code: string; message: string }): Promise<void> {
      await knex('jobs').whereIn('status', ['queued', 'running']).update({ status: 'failed', error: JSON.stringify(error), finished_at: knex.fn.now() });
    },
  };
}
