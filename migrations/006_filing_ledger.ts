import type { Knex } from 'knex';

/**
 * The filing ledger of bank grids (建档, issue #13; DOMAIN.md "Bank grids"): per bank grid and category,
 * how many households or businesses have a ledger record (`filed`) out of how many there are (`total`;
 * null = take it from the address register).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE filing_ledger (
      id bigserial PRIMARY KEY,
      system_id integer NOT NULL REFERENCES grid_systems(id) ON DELETE CASCADE,
      grid_code text NOT NULL,
      category text NOT NULL,
      filed integer NOT NULL,
      total integer,
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT filing_ledger_unique UNIQUE (system_id, grid_code, category),
      CONSTRAINT filing_ledger_category_check CHECK (category IN ('urban-residents', 'merchants', 'rural-households')),
      CONSTRAINT filing_ledger_counts_check CHECK (filed >= 0 AND (total IS NULL OR total >= filed))
    )`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('filing_ledger');
}
