import type { Knex } from 'knex';

/**
 * Grid systems and their grids. Levels, overlap policy and code scheme are data per system
 * (DOMAIN.md: "levels are data per system"). Grids nest by (system, parent_code); the foreign key is
 * deferred so a whole tree can be replaced inside one transaction.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('grid_systems', (t) => {
    t.increments('id').primary();
    t.text('key').notNullable().unique();
    t.text('name').notNullable();
    t.text('kind').notNullable();
    t.text('description');
    t.jsonb('levels').notNullable();
    t.jsonb('overlap_policy').notNullable();
    t.jsonb('code_scheme').notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE grid_systems ADD CONSTRAINT grid_systems_kind_check
    CHECK (kind IN ('governance','party','emergency','fire','health','property','bank','other'))`);

  await knex.raw(`
    CREATE TABLE grids (
      id bigserial PRIMARY KEY,
      system_id integer NOT NULL REFERENCES grid_systems(id) ON DELETE CASCADE,
      code text NOT NULL,
      parent_code text,
      level text NOT NULL,
      name text NOT NULL,
      type text,
      people jsonb NOT NULL DEFAULT '[]'::jsonb,
      attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
      geom geometry(MultiPolygon, 4326) NOT NULL,
      geometry_issues jsonb NOT NULL DEFAULT '[]'::jsonb,
      valid_from date,
      valid_to date,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT grids_code_unique UNIQUE (system_id, code),
      CONSTRAINT grids_parent_fk FOREIGN KEY (system_id, parent_code)
        REFERENCES grids (system_id, code) ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED
    )`);
  await knex.raw('CREATE INDEX grids_geom_gist ON grids USING gist (geom)');
  await knex.raw('CREATE INDEX grids_parent_idx ON grids (system_id, parent_code)');
  await knex.raw('CREATE INDEX grids_level_idx ON grids (system_id, level)');
  await knex.raw('CREATE INDEX grids_code_pattern_idx ON grids (system_id, code text_pattern_ops)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('grids');
  await knex.schema.dropTableIfExists('grid_systems');
}
