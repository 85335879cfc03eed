import type { Knex } from 'knex';

/**
 * The address register (门牌, 楼栋, 单元, 室; households and people per address) and each address's grid in
 * every grid system (issue #5).
 *
 * The assignment lives in the address row: `grids` maps a system id to the code of the grid the address
 * belongs to, `grid_status` holds the exceptions (ambiguous, nearest with its distance). A separate
 * (address, system) table was measured first: with the demo city's six systems, a million addresses are
 * six million rows and two more B-trees, 30 s of the 60 s import budget on the 2-core server, against ~0
 * extra here. Addresses of one grid are found through the GiST index (the grid's bbox) plus the code.
 * The view `address_assignments` gives the relational form, one row per address and system, unassigned
 * rows included, for reports and ad-hoc SQL.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE addresses (
      id bigserial PRIMARY KEY,
      external_id text NOT NULL,
      kind text NOT NULL,
      door text,
      street text,
      building text,
      unit text,
      room text,
      building_key text,
      households integer NOT NULL DEFAULT 0,
      population integer NOT NULL DEFAULT 0,
      nearest_m real,
      attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
      geom geometry(Point, 4326) NOT NULL,
      grids jsonb NOT NULL DEFAULT '{}'::jsonb,
      grid_status jsonb NOT NULL DEFAULT '{}'::jsonb,
      content_hash text NOT NULL,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT addresses_external_id_unique UNIQUE (external_id),
      CONSTRAINT addresses_kind_check CHECK (kind IN ('residential', 'business', 'organisation', 'public')),
      CONSTRAINT addresses_households_check CHECK (households >= 0),
      CONSTRAINT addresses_population_check CHECK (population >= 0),
      CONSTRAINT addresses_nearest_check CHECK (nearest_m IS NULL OR nearest_m > 0)
    ) WITH (fillfactor = 90)`);
  // fillfactor leaves room on each page so re-assignment (which rewrites only unindexed jsonb) stays a HOT update.
  await knex.raw('CREATE INDEX addresses_geom_gist ON addresses USING gist (geom)');
  await knex.raw('CREATE INDEX addresses_nearest_idx ON addresses (nearest_m) WHERE nearest_m IS NOT NULL');
  // Bumped inside every grid change (the address hook), so an index of a system's grids kept in memory
  // is known to be current by one lookup in the importing transaction.
  await knex.raw(`
    CREATE TABLE grid_generations (
      system_id integer PRIMARY KEY REFERENCES grid_systems(id) ON DELETE CASCADE,
      generation bigint NOT NULL
    )`);
  await knex.raw(`
    CREATE VIEW address_assignments AS
    SELECT a.id AS address_id, s.id AS system_id, a.grids ->> s.id::text AS grid_code,
      CASE WHEN (a.grids -> s.id::text) IS NOT NULL THEN coalesce(a.grid_status -> s.id::text ->> 'status', 'assigned') ELSE 'unassigned' END AS status,
      (a.grid_status -> s.id::text ->> 'distance_m')::float8 AS distance_m,
      coalesce(a.grid_status -> s.id::text -> 'also_in', '[]'::jsonb) AS also_in
    FROM addresses a CROSS JOIN grid_systems s`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP VIEW IF EXISTS address_assignments');
  await knex.schema.dropTableIfExists('grid_generations');
  await knex.schema.dropTableIfExists('addresses');
}
