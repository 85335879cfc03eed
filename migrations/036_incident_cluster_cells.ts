import type { Knex } from 'knex';

/**
 * Pre-summed cluster cells of the incident tile layer (issue #12: a city of 1,000,000 cases readable and
 * fast at low zoom). One row per occupied cell of the finest cluster grid — 2^17 cells across the world,
 * the 16 × 16 cells of a zoom-13 tile — with how many cases it holds, how many are open, red-carded and
 * flagged overdue, and the sum of their Web Mercator positions in units of 2^-32, rounded (integers, so adding and
 * taking away never drifts). A coarser cell is a block of these, summed when a tile is asked for.
 *
 * Kept current in the writing transaction by statement-level triggers with transition tables: one
 * set-based upsert per statement, whether it writes one case or the overdue scan's thousands, and only
 * for rows whose cell, openness, card = red or overdue flag changed (most steps change none of them).
 * Upserts go in cell order, so two bulk writers lock cells in the same order and cannot deadlock.
 *
 * What is overdue also depends on the clock (`due_at < now` before the scan has flagged the case): the
 * reader adds those cases from `incidents_due_unflagged_idx`, the scan's backlog, at request time.
 */
const CELL_BITS = 17;
const POSITION_SCALE = 2 ** 32;
/** tile-store.ts's expressions: the same floating-point steps, so a case falls in the same cell both ways. */
const MERCATOR_X = 'ST_X(geom) / 360 + 0.5';
const MERCATOR_Y = `0.5 - ln((1 + sin(radians(least(greatest(ST_Y(geom), -85.0511287798066), 85.0511287798066))))
  / (1 - sin(radians(least(greatest(ST_Y(geom), -85.0511287798066), 85.0511287798066))))) / (4 * pi())`;
/** workflow.ts OPEN_STATUSES; incidents/tiles.test.ts holds the two lists equal. */
const OPEN_STATUSES = ['reported', 'registered', 'dispatched', 'in_progress', 'postponement_requested', 'fed_back'];

/** Upserts the signed rows of `delta` (sign, geom, status, card, was_overdue) into the cells. */
function apply(delta: string): string {
  const sums = `sum(sign), sum(CASE WHEN incident_is_open(status) THEN sign ELSE 0 END), sum(CASE WHEN card = 'red' THEN sign ELSE 0 END),
      sum(CASE WHEN was_overdue THEN sign ELSE 0 END), sum(sign * round(mx * ${POSITION_SCALE})::bigint), sum(sign * round(my * ${POSITION_SCALE})::bigint)`;
  return `
    INSERT INTO incident_cluster_cells AS c (cx, cy, n, open, red, flagged, sum_x, sum_y)
    SELECT floor(mx * ${2 ** CELL_BITS})::int, floor(my * ${2 ** CELL_BITS})::int, ${sums}
    FROM (SELECT sign, status, card, was_overdue, ${MERCATOR_X} AS mx, ${MERCATOR_Y} AS my FROM (${delta}) d) p
    GROUP BY 1, 2
    -- A case leaving and entering the same cell (a step that changed none of the summed properties) writes nothing.
    HAVING (${sums}) <> (0, 0, 0, 0, 0, 0)
    ORDER BY 1, 2
    ON CONFLICT (cx, cy) DO UPDATE SET n = c.n + excluded.n, open = c.open + excluded.open, red = c.red + excluded.red,
      flagged = c.flagged + excluded.flagged, sum_x = c.sum_x + excluded.sum_x, sum_y = c.sum_y + excluded.sum_y;
    DELETE FROM incident_cluster_cells WHERE n = 0;`;
}

const CHANGED = `(incident_is_open(o.status), o.card = 'red', o.was_overdue, o.geom)
  IS DISTINCT FROM (incident_is_open(n.status), n.card = 'red', n.was_overdue, n.geom)`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION incident_is_open(status text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT status = ANY('{${OPEN_STATUSES.join(',')}}'::text[]) $$`);
  await knex.raw(`
    CREATE TABLE incident_cluster_cells (
      cx integer NOT NULL,
      cy integer NOT NULL,
      n integer NOT NULL,
      open integer NOT NULL DEFAULT 0,
      red integer NOT NULL DEFAULT 0,
      flagged integer NOT NULL DEFAULT 0,
      sum_x bigint NOT NULL,
      sum_y bigint NOT NULL,
      PRIMARY KEY (cx, cy)
    )`);
  // Normally empty: the cells a statement emptied, found without a scan and deleted.
  await knex.raw('CREATE INDEX incident_cluster_cells_empty_idx ON incident_cluster_cells (cx, cy) WHERE n = 0');
  await knex.raw('CREATE INDEX incidents_due_unflagged_idx ON incidents (due_at) WHERE due_at IS NOT NULL AND NOT was_overdue');
  await knex.raw(`
    CREATE FUNCTION incident_cluster_cells_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        ${apply('SELECT 1 AS sign, geom, status, card, was_overdue FROM new_rows')}
      ELSIF TG_OP = 'DELETE' THEN
        ${apply('SELECT -1 AS sign, geom, status, card, was_overdue FROM old_rows')}
      ELSE
        ${apply(`SELECT -1 AS sign, o.geom, o.status, o.card, o.was_overdue FROM old_rows o JOIN new_rows n USING (id) WHERE ${CHANGED}
          UNION ALL
          SELECT 1, n.geom, n.status, n.card, n.was_overdue FROM old_rows o JOIN new_rows n USING (id) WHERE ${CHANGED}`)}
      END IF;
      RETURN NULL;
    END
    $$`);
  await knex.raw(`
    CREATE FUNCTION incident_cluster_cells_clear() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM incident_cluster_cells;
      RETURN NULL;
    END
    $$`);
  await knex.raw('CREATE TRIGGER incident_cluster_cells_insert AFTER INSERT ON incidents REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_apply()');
  await knex.raw('CREATE TRIGGER incident_cluster_cells_update AFTER UPDATE ON incidents REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_apply()');
  await knex.raw('CREATE TRIGGER incident_cluster_cells_delete AFTER DELETE ON incidents REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_apply()');
  await knex.raw('CREATE TRIGGER incident_cluster_cells_truncate AFTER TRUNCATE ON incidents FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_clear()');
  // The cases already stored, through the same upsert the triggers run.
  await knex.raw(`DO $$ BEGIN ${apply('SELECT 1 AS sign, geom, status, card, was_overdue FROM incidents')} END $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS incident_cluster_cells_truncate ON incidents');
  await knex.raw('DROP TRIGGER IF EXISTS incident_cluster_cells_delete ON incidents');
  await knex.raw('DROP TRIGGER IF EXISTS incident_cluster_cells_update ON incidents');
  await knex.raw('DROP TRIGGER IF EXISTS incident_cluster_cells_insert ON incidents');
  await knex.raw('DROP FUNCTION IF EXISTS incident_cluster_cells_clear()');
  await knex.raw('DROP FUNCTION IF EXISTS incident_cluster_cells_apply()');
  await knex.raw('DROP INDEX IF EXISTS incidents_due_unflagged_idx');
  await knex.raw('DROP TABLE IF EXISTS incident_cluster_cells');
  await knex.raw('DROP FUNCTION IF EXISTS incident_is_open(text)');
}
