import type { Knex } from 'knex';

/**
 * Claims of work that several service processes hear about but one must do (issue #16): a report re-check
 * after an edit is claimed by the key of the change that caused it; the first insert wins.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE work_claims (
      key text PRIMARY KEY,
      claimed_by text NOT NULL,
      claimed_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX work_claims_age_idx ON work_claims (claimed_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE work_claims');
}
