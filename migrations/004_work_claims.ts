import type { Knex } from 'knex';

/**
 * Claims of work that several service processes hear about but one must do (issue #16): a report re-check
 * after an edit is claimed by the key of the change that caused it; the first insert wins. The same table
 * holds leases (a per-system re-check lock) and each process's heartbeat; a job records the process that
 * runs it, so a process starting up fails only the jobs of processes that stopped.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE work_claims (
      key text PRIMARY KEY,
      claimed_by text NOT NULL,
      claimed_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX work_claims_age_idx ON work_claims (claimed_at)');
  await knex.raw('ALTER TABLE jobs ADD COLUMN owner text');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE jobs DROP COLUMN owner');
  await knex.raw('DROP TABLE work_claims');
}
