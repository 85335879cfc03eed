import type { Knex } from 'knex';

/**
 * The incident cluster cells (migration 036) follow the card where it lives since migration 033: in
 * `incident_clocks`. 036 summed `incidents.card`, which the overdue scan no longer writes, so a red card given
 * by the scan reached neither `red` nor `flagged`.
 *
 * The cells are now kept by statement-level triggers on `incident_clocks` alone, which carries each case's
 * cell and position (`cx`, `cy`, `px`, `py`, filled by 033's copy functions, replaced here):
 * - the scan's bulk carding (100,000 rows in one UPDATE) sums its transition tables without reading a case row;
 * - a delete cascades from `incidents` to `incident_clocks`, whose one statement-level trigger still has the card
 *   (a trigger on `incidents` fires when the clock rows are already gone);
 * - insert, a step's status or overdue flag and a move reach `incident_clocks` through 033's copy, in the
 *   same statement, so the cells follow them as before.
 * `flagged` counts what the case list calls overdue (store.ts): `was_overdue OR card = 'red'`; the reader adds
 * the cases whose deadline passed since (`due_at < now`, 033's `incident_clocks_due_idx`).
 */
const CELL_SCALE = 2 ** 17;
const POSITION_SCALE = 2 ** 32;
/** Migration 036's expressions, so a case keeps the cell and position it had. */
const MERCATOR_X = 'ST_X(geom) / 360 + 0.5';
const MERCATOR_Y = `0.5 - ln((1 + sin(radians(least(greatest(ST_Y(geom), -85.0511287798066), 85.0511287798066))))
  / (1 - sin(radians(least(greatest(ST_Y(geom), -85.0511287798066), 85.0511287798066))))) / (4 * pi())`;
/** `rows` with their cell and position: cx, cy, px, py. */
const positioned = (rows: string) => `(SELECT p.*, floor(p.mx * ${CELL_SCALE})::int AS cx, floor(p.my * ${CELL_SCALE})::int AS cy,
    round(p.mx * ${POSITION_SCALE})::bigint AS px, round(p.my * ${POSITION_SCALE})::bigint AS py
  FROM (SELECT r.*, ${MERCATOR_X} AS mx, ${MERCATOR_Y} AS my FROM ${rows} r) p)`;

/** Upserts the signed rows of `delta` (sign, cx, cy, px, py, status, card, was_overdue) into the cells, in cell order (036). */
function apply(delta: string): string {
  const sums = `sum(sign), sum(CASE WHEN incident_is_open(status) THEN sign ELSE 0 END), sum(CASE WHEN card = 'red' THEN sign ELSE 0 END),
      sum(CASE WHEN was_overdue OR card = 'red' THEN sign ELSE 0 END), sum(sign * px), sum(sign * py)`;
  return `
    INSERT INTO incident_cluster_cells AS c (cx, cy, n, open, red, flagged, sum_x, sum_y)
    SELECT cx, cy, ${sums}
    FROM (${delta}) d
    GROUP BY 1, 2
    HAVING (${sums}) <> (0, 0, 0, 0, 0, 0)
    ORDER BY 1, 2
    ON CONFLICT (cx, cy) DO UPDATE SET n = c.n + excluded.n, open = c.open + excluded.open, red = c.red + excluded.red,
      flagged = c.flagged + excluded.flagged, sum_x = c.sum_x + excluded.sum_x, sum_y = c.sum_y + excluded.sum_y;
    DELETE FROM incident_cluster_cells WHERE n = 0;`;
}

const ROW = (r: string) => `${r}.cx, ${r}.cy, ${r}.px, ${r}.py, ${r}.status, ${r}.card, ${r}.was_overdue`;

/** Migration 033's copy functions with the position added (the rest of their text is 033's). */
const CLOCKS_INSERT = `
    CREATE OR REPLACE FUNCTION incident_clocks_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO incident_clocks (id, status, route, top_level, handling_level, warn_at, due_at, card, yellow_at, red_at,
        reported_at, unit_path, department, handler, category, was_overdue, closed, cx, cy, px, py)
      SELECT id, status, route, jsonb_array_length(chain) - 1, handling_level, warn_at, due_at, card, yellow_at, red_at,
        reported_at, unit_path, department, handler, category, was_overdue, closed_at IS NOT NULL, cx, cy, px, py
      FROM ${positioned('new_rows')} n;
      RETURN NULL;
    END
    $$`;
const CLOCKS_UPDATE = `
    CREATE OR REPLACE FUNCTION incident_clocks_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE incident_clocks k SET status = n.status, route = n.route, top_level = jsonb_array_length(n.chain) - 1,
        warn_at = n.warn_at, due_at = n.due_at, reported_at = n.reported_at, unit_path = n.unit_path,
        department = n.department, handler = n.handler, category = n.category, was_overdue = n.was_overdue,
        closed = n.closed_at IS NOT NULL, cx = n.cx, cy = n.cy, px = n.px, py = n.py
      FROM ${positioned('new_rows')} n
      WHERE k.id = n.id
        AND (k.status, k.route, k.top_level, k.warn_at, k.due_at, k.reported_at, k.unit_path, k.department, k.handler, k.category, k.was_overdue, k.closed, k.px, k.py, k.cx, k.cy)
          IS DISTINCT FROM (n.status, n.route, jsonb_array_length(n.chain) - 1, n.warn_at, n.due_at, n.reported_at, n.unit_path, n.department, n.handler, n.category, n.was_overdue, n.closed_at IS NOT NULL, n.px, n.py, n.cx, n.cy);
      RETURN NULL;
    END
    $$`;
/** Migration 033's text of the same functions, for down(). */
const CLOCKS_INSERT_033 = `
    CREATE OR REPLACE FUNCTION incident_clocks_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO incident_clocks (id, status, route, top_level, handling_level, warn_at, due_at, card, yellow_at, red_at,
        reported_at, unit_path, department, handler, category, was_overdue, closed)
      SELECT id, status, route, jsonb_array_length(chain) - 1, handling_level, warn_at, due_at, card, yellow_at, red_at,
        reported_at, unit_path, department, handler, category, was_overdue, closed_at IS NOT NULL
      FROM new_rows;
      RETURN NULL;
    END
    $$`;
const CLOCKS_UPDATE_033 = `
    CREATE OR REPLACE FUNCTION incident_clocks_update() RETURNS trigger LANGUAGE plpgsql AS $$
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
    $$`;

const TRIGGERS_036 = ['incident_cluster_cells_truncate', 'incident_cluster_cells_delete', 'incident_cluster_cells_update', 'incident_cluster_cells_insert'];

export async function up(knex: Knex): Promise<void> {
  for (const name of TRIGGERS_036) await knex.raw(`DROP TRIGGER IF EXISTS ${name} ON incidents`);
  await knex.raw('DROP FUNCTION IF EXISTS incident_cluster_cells_apply()');
  // The reader counts the not-yet-flagged late cases from incident_clocks now.
  await knex.raw('DROP INDEX IF EXISTS incidents_due_unflagged_idx');
  await knex.raw('ALTER TABLE incident_clocks ADD COLUMN cx integer, ADD COLUMN cy integer, ADD COLUMN px bigint, ADD COLUMN py bigint');
  await knex.raw(`UPDATE incident_clocks k SET cx = i.cx, cy = i.cy, px = i.px, py = i.py FROM ${positioned('(SELECT id, geom FROM incidents)')} i WHERE i.id = k.id`);
  await knex.raw('ALTER TABLE incident_clocks ALTER COLUMN cx SET NOT NULL, ALTER COLUMN cy SET NOT NULL, ALTER COLUMN px SET NOT NULL, ALTER COLUMN py SET NOT NULL');
  await knex.raw(CLOCKS_INSERT);
  await knex.raw(CLOCKS_UPDATE);
  // An update takes every old row away and adds every new one, summed per cell: a case that changed none of
  // the summed properties cancels out, and a yellow card, a level raised or a step within the open states
  // writes no cell. No join of the two transition tables (planned without statistics, the join ran as a
  // nested loop: minutes for the scan's 100,000 rows).
  await knex.raw(`
    CREATE FUNCTION incident_cluster_cells_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        ${apply(`SELECT 1 AS sign, ${ROW('n')} FROM new_rows n`)}
      ELSIF TG_OP = 'DELETE' THEN
        ${apply(`SELECT -1 AS sign, ${ROW('o')} FROM old_rows o`)}
      ELSE
        ${apply(`SELECT -1 AS sign, ${ROW('o')} FROM old_rows o UNION ALL SELECT 1, ${ROW('n')} FROM new_rows n`)}
      END IF;
      RETURN NULL;
    END
    $$`);
  await knex.raw('CREATE TRIGGER incident_cluster_cells_insert AFTER INSERT ON incident_clocks REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_apply()');
  await knex.raw('CREATE TRIGGER incident_cluster_cells_update AFTER UPDATE ON incident_clocks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_apply()');
  await knex.raw('CREATE TRIGGER incident_cluster_cells_delete AFTER DELETE ON incident_clocks REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_apply()');
  // TRUNCATE incidents must cascade to incident_clocks, which fires this.
  await knex.raw('CREATE TRIGGER incident_cluster_cells_truncate AFTER TRUNCATE ON incident_clocks FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_clear()');
  // Recomputed from the current state: the red cards 036 missed, and every flagged count's meaning.
  await knex.raw('DELETE FROM incident_cluster_cells');
  await knex.raw(`DO $$ BEGIN ${apply(`SELECT 1 AS sign, ${ROW('k')} FROM incident_clocks k`)} END $$`);
}

// 036's maintenance, as 036 wrote it (its apply() over the case rows).
const MERCATOR_036 = `${MERCATOR_X} AS mx, ${MERCATOR_Y} AS my`;
function apply036(delta: string): string {
  const sums = `sum(sign), sum(CASE WHEN incident_is_open(status) THEN sign ELSE 0 END), sum(CASE WHEN card = 'red' THEN sign ELSE 0 END),
      sum(CASE WHEN was_overdue THEN sign ELSE 0 END), sum(sign * round(mx * ${POSITION_SCALE})::bigint), sum(sign * round(my * ${POSITION_SCALE})::bigint)`;
  return `
    INSERT INTO incident_cluster_cells AS c (cx, cy, n, open, red, flagged, sum_x, sum_y)
    SELECT floor(mx * ${CELL_SCALE})::int, floor(my * ${CELL_SCALE})::int, ${sums}
    FROM (SELECT sign, status, card, was_overdue, ${MERCATOR_036} FROM (${delta}) d) p
    GROUP BY 1, 2
    HAVING (${sums}) <> (0, 0, 0, 0, 0, 0)
    ORDER BY 1, 2
    ON CONFLICT (cx, cy) DO UPDATE SET n = c.n + excluded.n, open = c.open + excluded.open, red = c.red + excluded.red,
      flagged = c.flagged + excluded.flagged, sum_x = c.sum_x + excluded.sum_x, sum_y = c.sum_y + excluded.sum_y;
    DELETE FROM incident_cluster_cells WHERE n = 0;`;
}
const CHANGED_036 = `(incident_is_open(o.status), o.card = 'red', o.was_overdue, o.geom)
  IS DISTINCT FROM (incident_is_open(n.status), n.card = 'red', n.was_overdue, n.geom)`;

export async function down(knex: Knex): Promise<void> {
  for (const name of TRIGGERS_036) await knex.raw(`DROP TRIGGER IF EXISTS ${name} ON incident_clocks`);
  await knex.raw('DROP FUNCTION IF EXISTS incident_cluster_cells_apply()');
  await knex.raw(CLOCKS_INSERT_033);
  await knex.raw(CLOCKS_UPDATE_033);
  await knex.raw('ALTER TABLE incident_clocks DROP COLUMN cx, DROP COLUMN cy, DROP COLUMN px, DROP COLUMN py');
  await knex.raw('CREATE INDEX incidents_due_unflagged_idx ON incidents (due_at) WHERE due_at IS NOT NULL AND NOT was_overdue');
  await knex.raw(`
    CREATE FUNCTION incident_cluster_cells_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        ${apply036('SELECT 1 AS sign, geom, status, card, was_overdue FROM new_rows')}
      ELSIF TG_OP = 'DELETE' THEN
        ${apply036('SELECT -1 AS sign, geom, status, card, was_overdue FROM old_rows')}
      ELSE
        ${apply036(`SELECT -1 AS sign, o.geom, o.status, o.card, o.was_overdue FROM old_rows o JOIN new_rows n USING (id) WHERE ${CHANGED_036}
          UNION ALL
          SELECT 1, n.geom, n.status, n.card, n.was_overdue FROM old_rows o JOIN new_rows n USING (id) WHERE ${CHANGED_036}`)}
      END IF;
      RETURN NULL;
    END
    $$`);
  await knex.raw('CREATE TRIGGER incident_cluster_cells_insert AFTER INSERT ON incidents REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_apply()');
  await knex.raw('CREATE TRIGGER incident_cluster_cells_update AFTER UPDATE ON incidents REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_apply()');
  await knex.raw('CREATE TRIGGER incident_cluster_cells_delete AFTER DELETE ON incidents REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_apply()');
  await knex.raw('CREATE TRIGGER incident_cluster_cells_truncate AFTER TRUNCATE ON incidents FOR EACH STATEMENT EXECUTE FUNCTION incident_cluster_cells_clear()');
  await knex.raw('DELETE FROM incident_cluster_cells');
  await knex.raw(`DO $$ BEGIN ${apply036('SELECT 1 AS sign, geom, status, card, was_overdue FROM incidents')} END $$`);
}
