import type { Knex } from 'knex';

/**
 * Grid changes as overlays need them (issue #13), written in the grid write's own transaction:
 * - `overlay_grid_versions`: a counter per system raised by every grid write, so an overlay computed on
 *   request may keep a system's grids in memory and know, with one read, whether they are still current;
 * - `overlay_pending`: per stored overlay reading the changed system, the change not yet applied to its
 *   faces. A row goes in the same commit as its faces, so a change whose maker stopped before applying
 *   it stays here for whichever process next runs the update loop (or starts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE overlay_grid_versions (
      system_id integer PRIMARY KEY REFERENCES grid_systems(id) ON DELETE CASCADE,
      version bigint NOT NULL
    )`);
  await knex.raw(`
    CREATE TABLE overlay_pending (
      id bigserial PRIMARY KEY,
      result_id integer NOT NULL REFERENCES overlay_results(id) ON DELETE CASCADE,
      system_key text NOT NULL,
      codes text[] NOT NULL,
      bbox float8[],
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX overlay_pending_result_idx ON overlay_pending (result_id, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('overlay_pending');
  await knex.schema.dropTableIfExists('overlay_grid_versions');
}
