import type { Knex } from 'knex';

/**
 * What a whole-system partition report has seen, so the incremental re-check neither repeats nor loses a
 * change that raced a full validation:
 * - `read_snapshot`: `pg_current_snapshot()` taken just before the validation read the grids; a change
 *   whose transaction is visible in it is already in the report (the re-check skips it);
 * - `rechecked`: the last changes the re-check applied to this row (`xid`, `codes`, `bbox`), so a full
 *   validation that read the grids before them applies them again once it replaces this row.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE partition_reports ADD COLUMN read_snapshot text, ADD COLUMN rechecked jsonb NOT NULL DEFAULT '[]'::jsonb`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE partition_reports DROP COLUMN read_snapshot, DROP COLUMN rechecked');
}
