import type { Knex } from 'knex';

/**
 * Working-calendar years loaded by an administrator (issue #11): the State Council publishes next year's
 * holidays and adjusted working days (调休) around November, usually before the `chinese-days` package
 * ships them; a row here overrides the packaged or provisional year. Dates are YYYY-MM-DD, Beijing time.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE incident_calendar_years (
      year integer PRIMARY KEY,
      holidays jsonb NOT NULL,
      workdays jsonb NOT NULL,
      note text,
      loaded_by text,
      loaded_at timestamptz NOT NULL DEFAULT now()
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('incident_calendar_years');
}
