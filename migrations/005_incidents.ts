import type { Knex } from 'knex';

/**
 * Incidents (事件, issue #11): the case, its append-only log, its photos, and the counters case numbers
 * are drawn from.
 *
 * - `chain` and `grids` are snapshots taken at report time (the governance chain finest first, and every
 *   system's chain), so later boundary changes do not rewrite history; `unit_path` (governance codes, top
 *   first) and `scope_keys` (`system:code` for every grid of every chain, plus `system:` for the whole
 *   system) make subtree and area-scope filters one GIN lookup.
 * - `due_at`/`warn_at` are the current stage's deadline and yellow-card instant, computed in working
 *   time by the service; the overdue scan compares them with now() through the partial indexes below.
 * - `incident_log` refuses UPDATE, DELETE and TRUNCATE by trigger: the history of a case cannot be
 *   changed, not even by SQL that bypasses the service.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE incident_sequences (
      unit_code text NOT NULL,
      day text NOT NULL,
      last integer NOT NULL,
      PRIMARY KEY (unit_code, day)
    )`);
  await knex.raw(`
    CREATE TABLE incidents (
      id bigserial PRIMARY KEY,
      case_no text NOT NULL,
      idempotency_key text,
      request_hash text,
      route text NOT NULL,
      status text NOT NULL,
      category text NOT NULL,
      major text NOT NULL,
      severity text NOT NULL,
      priority smallint NOT NULL,
      source text NOT NULL,
      description text NOT NULL,
      reporter_name text,
      reporter_phone text,
      geom geometry(Point, 4326) NOT NULL,
      input_point jsonb NOT NULL,
      address_id bigint,
      system text NOT NULL,
      chain jsonb NOT NULL,
      grids jsonb NOT NULL,
      unit_code text NOT NULL,
      unit_path text[] NOT NULL,
      scope_keys text[] NOT NULL,
      handling_level smallint NOT NULL,
      handling_unit text NOT NULL,
      department text,
      handler text,
      reported_at timestamptz NOT NULL,
      registered_at timestamptz,
      dispatched_at timestamptz,
      fed_back_at timestamptz,
      closed_at timestamptz,
      evaluated_at timestamptz,
      stage_limit jsonb,
      stage_started_at timestamptz,
      due_at timestamptz,
      warn_at timestamptz,
      card text NOT NULL DEFAULT 'none',
      yellow_at timestamptz,
      red_at timestamptz,
      was_overdue boolean NOT NULL DEFAULT false,
      escalations integer NOT NULL DEFAULT 0,
      reworks integer NOT NULL DEFAULT 0,
      postponements integer NOT NULL DEFAULT 0,
      postponement_request jsonb,
      handling_working_ms bigint,
      evaluation jsonb,
      duplicates bigint[] NOT NULL DEFAULT '{}',
      version integer NOT NULL DEFAULT 1,
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT incidents_case_no_unique UNIQUE (case_no),
      CONSTRAINT incidents_idempotency_key_unique UNIQUE (idempotency_key),
      CONSTRAINT incidents_card_check CHECK (card IN ('none', 'yellow', 'red')),
      CONSTRAINT incidents_priority_check CHECK (priority BETWEEN 1 AND 5)
    )`);
  await knex.raw('CREATE INDEX incidents_geom_gist ON incidents USING gist (geom)');
  await knex.raw('CREATE INDEX incidents_unit_path_gin ON incidents USING gin (unit_path)');
  await knex.raw('CREATE INDEX incidents_scope_keys_gin ON incidents USING gin (scope_keys)');
  await knex.raw('CREATE INDEX incidents_reported_idx ON incidents (reported_at)');
  await knex.raw('CREATE INDEX incidents_category_idx ON incidents (category, reported_at)');
  await knex.raw(`CREATE INDEX incidents_warn_idx ON incidents (warn_at) WHERE card = 'none' AND warn_at IS NOT NULL`);
  await knex.raw(`CREATE INDEX incidents_due_idx ON incidents (due_at) WHERE card <> 'red' AND due_at IS NOT NULL`);
  await knex.raw(`
    CREATE TABLE incident_log (
      id bigserial PRIMARY KEY,
      incident_id bigint NOT NULL REFERENCES incidents(id),
      at timestamptz NOT NULL,
      actor jsonb NOT NULL,
      action text NOT NULL,
      from_status text,
      to_status text NOT NULL,
      note text,
      location geometry(Point, 4326),
      photos bigint[] NOT NULL DEFAULT '{}',
      details jsonb NOT NULL DEFAULT '{}'::jsonb
    )`);
  await knex.raw('CREATE INDEX incident_log_incident_idx ON incident_log (incident_id, id)');
  await knex.raw(`
    CREATE FUNCTION incident_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'incident_log is append-only: % is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$`);
  await knex.raw('CREATE TRIGGER incident_log_no_change BEFORE UPDATE OR DELETE ON incident_log FOR EACH ROW EXECUTE FUNCTION incident_log_append_only()');
  await knex.raw('CREATE TRIGGER incident_log_no_truncate BEFORE TRUNCATE ON incident_log FOR EACH STATEMENT EXECUTE FUNCTION incident_log_append_only()');
  await knex.raw(`
    CREATE TABLE incident_photos (
      id bigserial PRIMARY KEY,
      incident_id bigint NOT NULL REFERENCES incidents(id),
      stage text NOT NULL,
      content_type text NOT NULL,
      size integer NOT NULL,
      sha256 text NOT NULL,
      bytes bytea NOT NULL,
      created_at timestamptz NOT NULL,
      CONSTRAINT incident_photos_stage_check CHECK (stage IN ('before', 'after'))
    )`);
  await knex.raw('CREATE INDEX incident_photos_incident_idx ON incident_photos (incident_id, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS incident_photos');
  await knex.raw('DROP TABLE IF EXISTS incident_log');
  await knex.raw('DROP FUNCTION IF EXISTS incident_log_append_only()');
  await knex.raw('DROP TABLE IF EXISTS incidents');
  await knex.raw('DROP TABLE IF EXISTS incident_sequences');
}
