import type { Knex } from 'knex';

/**
 * Bank outlets (网点) and equipment (ATMs and the like) as point layers per bank (issue #13; DOMAIN.md
 * "Bank grids": maps of outlet distribution and electronic equipment). `grid_code` names the bank grid
 * the point serves, when the bank says so.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE bank_points (
      id bigserial PRIMARY KEY,
      system_id integer NOT NULL REFERENCES grid_systems(id) ON DELETE CASCADE,
      kind text NOT NULL,
      name text NOT NULL,
      grid_code text,
      geom geometry(Point, 4326) NOT NULL,
      CONSTRAINT bank_points_kind_check CHECK (kind IN ('outlet', 'atm', 'equipment'))
    )`);
  await knex.raw('CREATE INDEX bank_points_system_idx ON bank_points (system_id, grid_code)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('bank_points');
}
