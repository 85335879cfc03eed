import type { Knex } from 'knex';

/**
 * Stored overlays (issue #13): an overlay request kept with its faces, so the faces tile layer and the
 * stored report need no recomputation, and a grid change re-arranges only the units it touches.
 * `system_ids` are every system the overlay reads (territory, units, participants): a change to any of
 * them concerns it. `grids` lists the covering grids as [{system, code}].
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE overlay_results (
      id serial PRIMARY KEY,
      key text NOT NULL UNIQUE,
      request jsonb NOT NULL,
      territory_system_id integer NOT NULL REFERENCES grid_systems(id) ON DELETE CASCADE,
      territory_code text NOT NULL,
      system_ids integer[] NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw(`
    CREATE TABLE overlay_faces (
      id bigserial PRIMARY KEY,
      result_id integer NOT NULL REFERENCES overlay_results(id) ON DELETE CASCADE,
      unit_code text,
      depth integer NOT NULL,
      grids jsonb NOT NULL,
      excess boolean NOT NULL DEFAULT false,
      area_m2 float8 NOT NULL,
      geom geometry(Geometry, 4326) NOT NULL
    )`);
  await knex.raw('CREATE INDEX overlay_faces_result_idx ON overlay_faces (result_id, unit_code)');
  await knex.raw('CREATE INDEX overlay_faces_geom_idx ON overlay_faces USING gist (geom)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('overlay_faces');
  await knex.schema.dropTableIfExists('overlay_results');
}
