import type { Knex } from 'knex';

/**
 * Each grid's geometry prepared for the overlay arrangement (issue #13): its rings normalised (Clipper
 * union, non-zero rule) in integer 1e-9° steps of the grid's own frame, as `geometry/overlay/shape.ts`
 * encodes them. Filled lazily by the overlays computed on request, and valid only for the row version it
 * was made from: `row_xmin` is the grids row's `xmin`, which every write of that row changes, so a read
 * joins on `(grid_id, row_xmin)` and a grid changed since is prepared afresh — never served stale, with no
 * hook in the grid write path. Rows of deleted grids are dropped by the next write-back of their system.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE overlay_grid_shapes (
      grid_id bigint PRIMARY KEY,
      system_id integer NOT NULL REFERENCES grid_systems(id) ON DELETE CASCADE,
      row_xmin xid NOT NULL,
      shape bytea NOT NULL
    )`);
  await knex.raw('CREATE INDEX overlay_grid_shapes_system_idx ON overlay_grid_shapes (system_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('overlay_grid_shapes');
}
