import type { Knex } from 'knex';

/**
 * The overdue scan's own narrow table (issue #11, aim: 100,000 cases due at once carded in under 1 s). A case
 * row is ~2 KB with eleven indexes, so updating its card cost 13–19 s for 100,000 cases; one row here is
 * ~200 bytes with four indexes.
 *
 * - The scanner reads and writes only this table: `card`, `yellow_at`, `red_at` live here (the columns of
 *   the same names on `incidents` keep the values a case was stored with and are not read any more), and a
 *   red card's escalation raises `handling_level` here with `raised` set; the case row's level, handling unit
 *   and escalation count are derived from it when read, and folded back on the case's next level change.
 * - Everything else is a copy of the case row (status, route, deadlines, and the statistics' grouping columns,
 *   so statistics count cards without touching the wide rows), kept by statement-level triggers in the same
 *   statement as each case write.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE incident_clocks (
      id bigint PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
      status text NOT NULL,
      route text NOT NULL,
      top_level smallint NOT NULL,
      handling_level smallint NOT NULL,
      raised boolean NOT NULL DEFAULT false,
      warn_at timestamptz,
      due_at timestamptz,
      card text NOT NULL,
      yellow_at timestamptz,
      red_at timestamptz,
      reported_at timestamptz NOT NULL,
      unit_path text[] NOT NULL,
      department text,
      handler text,
      category text NOT NULL,
      was_overdue boolean NOT NULL,
      closed boolean NOT NULL,
      CONSTRAINT incident_clocks_card_check CHECK (card IN ('none', 'yellow', 'red'))
    )`);
  await knex.raw(`
    INSERT INTO incident_clocks (id, status, route, top_level, handling_level, warn_at, due_at, card, yellow_at, red_at,
      reported_at, unit_path, department, handler, category, was_overdue, closed)
    SELECT id, status, route, jsonb_array_length(chain) - 1, handling_level, warn_at, due_at, card, yellow_at, red_at,
      reported_at, unit_path, department, handler, category, was_overdue, closed_at IS NOT NULL
    FROM incidents`);
  await knex.raw(`CREATE INDEX incident_clocks_warn_idx ON incident_clocks (warn_at) WHERE card = 'none' AND warn_at IS NOT NULL`);
  await knex.raw(`CREATE INDEX incident_clocks_due_idx ON incident_clocks (due_at) WHERE card <> 'red' AND due_at IS NOT NULL`);
  await knex.raw(`CREATE INDEX incident_clocks_carded_idx ON incident_clocks (reported_at) WHERE card <> 'none'`);
  // The scan no longer reads the case table's deadlines; two fewer indexes to write on every case update.
  await knex.raw('DROP INDEX IF EXISTS incidents_warn_idx');
  await knex.raw('DROP INDEX IF EXISTS incidents_due_idx');
  await knex.raw(`
    CREATE FUNCTION incident_clocks_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO incident_clocks (id, status, route, top_level, handling_level, warn_at, due_at, card, yellow_at, red_at,
        reported_at, unit_path, department, handler, category, was_overdue, closed)
      SELECT id, status, route, jsonb_array_length(chain) - 1, handling_level, warn_at, due_at, card, yellow_at, red_at,
        reported_at, unit_path, department, handler, category, was_overdue, closed_at IS NOT NULL
      FROM new_rows;
      RETURN NULL;
    END
    $$`);
  // The card and the level are not copied on update: they are the scanner's (the level is set by the store
  // when a step or a re-route changes it).
  await knex.raw(`
    CREATE FUNCTION incident_clocks_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE incident_clocks k SET status = n.status, route = n.route, top_level = jsonb_array_length(n.chain) - 1,
        warn_at = n.warn_at, due_at = n.due_at, reported_at = n.reported_at, unit_path = n.unit_path,
        department = n.department, handler = n.handler, category = n.category, was_overdue = n.was_overdue,
        closed = n.closed_at IS NOT NULL
      FROM new_rows n
      WHERE k.id = n.id
        AND (k.status, k.route, k.top_level, k.warn_at, k.due_at, k.reported_at, k.unit_path, k.department, k.handler, k.category, k.was_overdue, k.closed)
          IS DISTINCT FROM (n.status, n.route, jsonb_array_length(n.chain) - 1, n.warn_at, n.due_at, n.reported_at, n.unit_path, n.department, n.handler, n.category, n.was_overdue, n.closed_at IS NOT NULL);
      RETURN NULL;
    END
    $$`);
  await knex.raw('CREATE TRIGGER incident_clocks_on_insert AFTER INSERT ON incidents REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_clocks_insert()');
  await knex.raw('CREATE TRIGGER incident_clocks_on_update AFTER UPDATE ON incidents REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_clocks_update()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS incident_clocks_on_update ON incidents');
  await knex.raw('DROP TRIGGER IF EXISTS incident_clocks_on_insert ON incidents');
  await knex.raw('DROP FUNCTION IF EXISTS incident_clocks_update()');
  await knex.raw('DROP FUNCTION IF EXISTS incident_clocks_insert()');
  // Fold the scanner's state back into the case rows before its table goes.
  await knex.raw(`
    UPDATE incidents i SET card = k.card, yellow_at = k.yellow_at, red_at = k.red_at, was_overdue = i.was_overdue OR k.card = 'red',
      handling_level = k.handling_level, handling_unit = CASE WHEN k.raised THEN i.chain -> k.handling_level ->> 'code' ELSE i.handling_unit END,
      escalations = i.escalations + k.raised::int
    FROM incident_clocks k WHERE k.id = i.id AND (k.card <> i.card OR k.raised)`);
  await knex.raw('DROP TABLE IF EXISTS incident_clocks');
  await knex.raw(`CREATE INDEX IF NOT EXISTS incidents_warn_idx ON incidents (warn_at) WHERE card = 'none' AND warn_at IS NOT NULL`);
  await knex.raw(`CREATE INDEX IF NOT EXISTS incidents_due_idx ON incidents (due_at) WHERE card <> 'red' AND due_at IS NOT NULL`);
}
