import type { Knex } from 'knex';

/**
 * The case log's reference to its case checked once per statement instead of once per row (issue #11: the
 * overdue scan logs up to ~150,000 rows in one statement; the per-row foreign-key check took 35–45 % of
 * the scan, locking every wide case row it pointed at). Both directions stay guarded: a log row for a case
 * that does not exist is refused, and so is deleting a case that has a log (the log itself refuses every
 * change, migration 005).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE incident_log DROP CONSTRAINT incident_log_incident_id_fkey');
  await knex.raw(`
    CREATE FUNCTION incident_log_check_case() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE missing bigint;
    BEGIN
      SELECT n.incident_id INTO missing FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = n.incident_id) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'incident_log refers to incident %, which does not exist', missing USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END
    $$`);
  await knex.raw(`
    CREATE FUNCTION incident_log_keep_case() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE kept bigint;
    BEGIN
      SELECT o.id INTO kept FROM old_rows o WHERE EXISTS (SELECT 1 FROM incident_log l WHERE l.incident_id = o.id) LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'incident % has a log and cannot be deleted', kept USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN NULL;
    END
    $$`);
  await knex.raw('CREATE TRIGGER incident_log_case_exists AFTER INSERT ON incident_log REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_log_check_case()');
  await knex.raw('CREATE TRIGGER incidents_keep_logged AFTER DELETE ON incidents REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION incident_log_keep_case()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS incidents_keep_logged ON incidents');
  await knex.raw('DROP TRIGGER IF EXISTS incident_log_case_exists ON incident_log');
  await knex.raw('DROP FUNCTION IF EXISTS incident_log_keep_case()');
  await knex.raw('DROP FUNCTION IF EXISTS incident_log_check_case()');
  await knex.raw('ALTER TABLE incident_log ADD CONSTRAINT incident_log_incident_id_fkey FOREIGN KEY (incident_id) REFERENCES incidents(id)');
}
