import type { Knex } from 'knex';

/**
 * Boundary changesets and grid history (issue #14, DOMAIN.md "Boundary changes": change records are kept
 * apart from current data, history must be traceable).
 *
 * `changesets` holds drafts and their workflow; a draft never touches `grids`. `grid_versions` keeps every
 * version of every grid: one open row (valid_to null) per current grid, closed when the grid changes or
 * goes. It is written by a grid-change hook, so import, PUT/PATCH, renumber and changesets all record
 * history; the grids that exist when this migration runs get their first open row here.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE changesets (
      id bigserial PRIMARY KEY,
      system_id integer NOT NULL REFERENCES grid_systems(id) ON DELETE CASCADE,
      reason text NOT NULL,
      status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'applied')),
      operations jsonb NOT NULL DEFAULT '[]'::jsonb,
      base_versions jsonb NOT NULL DEFAULT '{}'::jsonb,
      proof jsonb,
      accepted_findings jsonb NOT NULL DEFAULT '[]'::jsonb,
      events jsonb NOT NULL DEFAULT '[]'::jsonb,
      proposed_by text NOT NULL,
      reviewed_by text,
      review_comment text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      applied_at timestamptz
    )`);
  await knex.raw('CREATE INDEX changesets_system_idx ON changesets (system_id, status)');
  await knex.raw(`
    CREATE TABLE grid_versions (
      id bigserial PRIMARY KEY,
      system_id integer NOT NULL REFERENCES grid_systems(id) ON DELETE CASCADE,
      grid_id bigint NOT NULL,
      code text NOT NULL,
      version integer NOT NULL,
      parent_code text,
      level text NOT NULL,
      name text NOT NULL,
      properties jsonb NOT NULL,
      geom geometry(MultiPolygon, 4326) NOT NULL,
      valid_from timestamptz NOT NULL,
      valid_to timestamptz,
      changeset_id bigint REFERENCES changesets(id) ON DELETE SET NULL,
      proposed_by text,
      approved_by text
    )`);
  await knex.raw('CREATE INDEX grid_versions_code_idx ON grid_versions (system_id, code, valid_from)');
  await knex.raw('CREATE INDEX grid_versions_open_idx ON grid_versions (system_id, grid_id) WHERE valid_to IS NULL');
  await knex.raw('CREATE INDEX grid_versions_geom_gist ON grid_versions USING gist (geom)');
  await knex.raw(`
    INSERT INTO grid_versions (system_id, grid_id, code, version, parent_code, level, name, properties, geom, valid_from)
    SELECT system_id, id, code, version, parent_code, level, name,
      jsonb_build_object('type', type, 'people', people, 'attributes', attributes, 'valid_from', valid_from, 'valid_to', valid_to),
      geom, updated_at
    FROM grids`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('grid_versions');
  await knex.schema.dropTableIfExists('changesets');
}
