import type { Knex } from 'knex';

/**
 * Grid changes the incremental re-check heard for a system with no whole-system report yet (migration 061
 * keeps them on the report otherwise): a first validation that read before such a change gets it back to
 * re-check on its report, as any later validation does. Kept a day at most: no validation takes as long.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE partition_recheck_unreported (
      id bigserial PRIMARY KEY,
      system_id integer NOT NULL REFERENCES grid_systems(id) ON DELETE CASCADE,
      change jsonb NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX partition_recheck_unreported_system_idx ON partition_recheck_unreported (system_id, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('partition_recheck_unreported');
}
