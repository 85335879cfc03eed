import type { Knex } from 'knex';

/**
 * Partition reports (the latest per system and scope is what auditors fetch) and background jobs
 * (a large system is validated as a job: 202 + progress). Jobs live in the database so any service
 * process sharing it can answer for them.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE partition_reports (
      id bigserial PRIMARY KEY,
      system_id integer NOT NULL REFERENCES grid_systems(id) ON DELETE CASCADE,
      scope text,
      report jsonb NOT NULL,
      duration_ms integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX partition_reports_latest_idx ON partition_reports (system_id, created_at DESC)');
  await knex.raw(`
    CREATE TABLE jobs (
      id uuid PRIMARY KEY,
      kind text NOT NULL,
      system text,
      status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
      progress real NOT NULL DEFAULT 0,
      message text,
      result jsonb,
      error jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('jobs');
  await knex.schema.dropTableIfExists('partition_reports');
}
