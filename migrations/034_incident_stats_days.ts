import type { Knex } from 'knex';

/**
 * Incident statistics per Beijing day (issue #11, aim: a district's year under 200 ms): the indicators that
 * depend on the case row alone, summed per day for the whole territory (`anc` = '') and for the subtree of
 * each unit of the top two governance levels (district, street), grouped by the child unit, the department
 * and the category. Deeper units, workers and scoped callers are answered from the case rows, which are few
 * enough there (service/incidents/stats-store.ts).
 *
 * - Handling times are kept as a count and a sum (the mean) and a histogram of 64 buckets, each a quarter
 *   of an octave wide from one minute up (`incident_hist_bucket`); the p90 is found in its bucket and then
 *   read exactly from the cases of that bucket (`incidents_handling_idx`), so it equals percentile_cont.
 * - Cards and "overdue now" change without the case row changing (the overdue scan writes
 *   `incident_clocks`), so they are counted from `incident_clocks` at read time, not here.
 * - Kept by statement-level triggers with transition tables, in the statement that writes the cases: one
 *   case's step, or a whole bulk load, is one set-based upsert.
 */
const BOUNDS = [
  60000, 71352, 84853, 100908, 120000, 142705, 169706, 201815, 240000, 285410, 339411, 403630, 480000, 570819, 678823, 807261, 960000, 1141639,
  1357645, 1614521, 1920000, 2283278, 2715290, 3229042, 3840000, 4566555, 5430580, 6458084, 7680000, 9133111, 10861160, 12916169, 15360000,
  18266221, 21722320, 25832338, 30720000, 36532443, 43444641, 51664676, 61440000, 73064885, 86889281, 103329352, 122880000, 146129770, 173778563,
  206658703, 245760000, 292259541, 347557125, 413317406, 491520000, 584519081, 695114250, 826634812, 983040000, 1169038162, 1390228500, 1653269624,
  1966080000, 2338076325, 2780457001,
];

/** The upsert of the rows `rows` (with a `sign` column: +1 added, −1 removed) into the day table. */
const apply = (rows: string) => `
  INSERT INTO incident_stats_days AS t (anc, dim, day, key, reported, registered, dispatched, closed, closed_overdue, reworked, postponed,
    overdue, handled, handled_ms, hist)
  SELECT anc, dim, day, key, sum(n), sum(registered), sum(dispatched), sum(closed), sum(closed_overdue), sum(reworked), sum(postponed),
    sum(overdue), sum(hn), sum(ms), incident_hist(array_agg(b) FILTER (WHERE b IS NOT NULL), array_agg(hn::bigint) FILTER (WHERE b IS NOT NULL))
  FROM (
    SELECT c.anc, c.dim, c.day, c.key, c.b, sum(c.sign) AS n, sum(c.sign * c.registered) AS registered, sum(c.sign * c.dispatched) AS dispatched,
      sum(c.sign * c.closed) AS closed, sum(c.sign * c.closed * c.overdue) AS closed_overdue, sum(c.sign * c.reworked) AS reworked,
      sum(c.sign * c.postponed) AS postponed, sum(c.sign * c.overdue) AS overdue,
      sum(c.sign * (c.b IS NOT NULL)::int) AS hn, sum(c.sign * coalesce(c.ms, 0)) AS ms
    FROM (
      SELECT s.sign, incident_day(s.reported_at) AS day, a.anc, d.dim, coalesce(d.key, '') AS key,
        (s.registered_at IS NOT NULL)::int AS registered, (s.dispatched_at IS NOT NULL)::int AS dispatched,
        (s.closed_at IS NOT NULL)::int AS closed, (s.reworks > 0)::int AS reworked, (s.postponements > 0)::int AS postponed,
        s.was_overdue::int AS overdue, incident_hist_bucket(s.handling_working_ms) AS b, s.handling_working_ms AS ms
      FROM (${rows}) s
      CROSS JOIN LATERAL (SELECT ''::text AS anc, 0 AS pos UNION ALL SELECT x.u, x.ord::int FROM unnest(s.unit_path[1:2]) WITH ORDINALITY AS x(u, ord)) a
      CROSS JOIN LATERAL (VALUES ('unit', s.unit_path[a.pos + 1]), ('department', s.department), ('category', s.category)) AS d(dim, key)
    ) c
    GROUP BY 1, 2, 3, 4, 5
  ) g
  GROUP BY anc, dim, day, key
  HAVING sum(n) <> 0 OR sum(registered) <> 0 OR sum(dispatched) <> 0 OR sum(closed) <> 0 OR sum(closed_overdue) <> 0 OR sum(reworked) <> 0
    OR sum(postponed) <> 0 OR sum(overdue) <> 0 OR sum(ms) <> 0 OR bool_or(hn <> 0)
  -- In key order, so concurrent case writes lock the shared day rows in one order and cannot deadlock
  -- (unordered, 15 clients creating cases deadlocked ~17 times a minute: scripts/load.ts).
  ORDER BY anc, dim, day, key
  ON CONFLICT (anc, dim, day, key) DO UPDATE SET reported = t.reported + excluded.reported, registered = t.registered + excluded.registered,
    dispatched = t.dispatched + excluded.dispatched, closed = t.closed + excluded.closed, closed_overdue = t.closed_overdue + excluded.closed_overdue,
    reworked = t.reworked + excluded.reworked, postponed = t.postponed + excluded.postponed, overdue = t.overdue + excluded.overdue,
    handled = t.handled + excluded.handled, handled_ms = t.handled_ms + excluded.handled_ms, hist = incident_hist_add(t.hist, excluded.hist)`;

const COLUMNS = 'reported_at, unit_path, department, category, registered_at, dispatched_at, closed_at, reworks, postponements, was_overdue, handling_working_ms';

/** The day table computed from the case rows (the migration's backfill). */
const RECOMPUTE = apply(`SELECT 1 AS sign, ${COLUMNS} FROM incidents`);

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE incident_stats_days (
      anc text NOT NULL,
      dim text NOT NULL,
      day date NOT NULL,
      key text NOT NULL,
      reported integer NOT NULL,
      registered integer NOT NULL,
      dispatched integer NOT NULL,
      closed integer NOT NULL,
      closed_overdue integer NOT NULL,
      reworked integer NOT NULL,
      postponed integer NOT NULL,
      overdue integer NOT NULL,
      handled integer NOT NULL,
      handled_ms bigint NOT NULL,
      hist integer[] NOT NULL,
      PRIMARY KEY (anc, dim, day, key),
      CONSTRAINT incident_stats_days_dim_check CHECK (dim IN ('unit', 'department', 'category'))
    )`);
  // China has kept UTC+8 all year since 1991: the Beijing day needs no time-zone database.
  await knex.raw(`CREATE FUNCTION incident_day(at timestamptz) RETURNS date LANGUAGE sql IMMUTABLE AS $$ SELECT ((at AT TIME ZONE 'UTC') + interval '8 hours')::date $$`);
  await knex.raw(`CREATE FUNCTION incident_hist_bounds() RETURNS bigint[] LANGUAGE sql IMMUTABLE AS $$ SELECT '{${BOUNDS.join(',')}}'::bigint[] $$`);
  await knex.raw(`CREATE FUNCTION incident_hist_bucket(ms bigint) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN ms IS NULL THEN NULL ELSE width_bucket(ms, incident_hist_bounds()) END $$`);
  await knex.raw(`
    CREATE FUNCTION incident_hist(bs integer[], ns bigint[]) RETURNS integer[] LANGUAGE sql IMMUTABLE AS $$
      SELECT array_agg(coalesce(h.n, 0)::integer ORDER BY g.i)
      FROM generate_series(0, ${BOUNDS.length}) AS g(i)
      LEFT JOIN (SELECT u.b, sum(u.n) AS n FROM unnest(bs, ns) AS u(b, n) GROUP BY u.b) h ON h.b = g.i
    $$`);
  await knex.raw(`
    CREATE FUNCTION incident_hist_add(a integer[], b integer[]) RETURNS integer[] LANGUAGE sql IMMUTABLE AS $$
      SELECT array_agg(a[i] + b[i] ORDER BY i) FROM generate_series(1, ${BOUNDS.length + 1}) AS i
    $$`);
  const trigger = (name: string, rows: string) =>
    knex.raw(`
      CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        ${apply(rows)};
        RETURN NULL;
      END
      $$`);
  await trigger('incident_stats_days_insert', `SELECT 1 AS sign, ${COLUMNS} FROM new_rows`);
  await trigger('incident_stats_days_update', `SELECT -1 AS sign, ${COLUMNS} FROM old_rows UNION ALL SELECT 1, ${COLUMNS} FROM new_rows`);
  await trigger('incident_stats_days_delete', `SELECT -1 AS sign, ${COLUMNS} FROM old_rows`);
  await knex.raw(RECOMPUTE);
  await knex.raw('CREATE TRIGGER incident_stats_days_on_insert AFTER INSERT ON incidents REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_stats_days_insert()');
  await knex.raw('CREATE TRIGGER incident_stats_days_on_update AFTER UPDATE ON incidents REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_stats_days_update()');
  await knex.raw('CREATE TRIGGER incident_stats_days_on_delete AFTER DELETE ON incidents REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_stats_days_delete()');
  // The p90's exact read: the cases of one histogram bucket, with what the period and group filters need.
  await knex.raw(`
    CREATE INDEX incidents_handling_idx ON incidents (handling_working_ms)
      INCLUDE (reported_at, unit_path, department, category) WHERE handling_working_ms IS NOT NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS incidents_handling_idx');
  for (const op of ['insert', 'update', 'delete']) {
    await knex.raw(`DROP TRIGGER IF EXISTS incident_stats_days_on_${op} ON incidents`);
    await knex.raw(`DROP FUNCTION IF EXISTS incident_stats_days_${op}()`);
  }
  for (const fn of ['incident_hist_add(integer[], integer[])', 'incident_hist(integer[], bigint[])', 'incident_hist_bucket(bigint)', 'incident_hist_bounds()', 'incident_day(timestamptz)']) {
    await knex.raw(`DROP FUNCTION IF EXISTS ${fn}`);
  }
  await knex.raw('DROP TABLE IF EXISTS incident_stats_days');
}
