import type { Knex } from 'knex';

/**
 * Access control (issue #10): accounts, their role-scope pairs, sessions, API keys, login throttling and
 * the append-only audit log. Secrets are never stored: passwords as scrypt hashes with a per-user salt,
 * session tokens and API keys as SHA-256 of 32 random bytes (high entropy, so a fast hash suffices).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE users (
      id serial PRIMARY KEY,
      username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_.-]{1,64}$'),
      display_name text,
      password_hash text NOT NULL,
      disabled boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  // A pair without a system is unrestricted; with a system and no code, the whole system (a bank's own).
  await knex.raw(`
    CREATE TABLE user_roles (
      id serial PRIMARY KEY,
      user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      role text NOT NULL,
      system text,
      code text,
      CHECK (code IS NULL OR system IS NOT NULL)
    )`);
  await knex.raw('CREATE INDEX user_roles_user_idx ON user_roles (user_id)');
  await knex.raw(`
    CREATE TABLE sessions (
      token_hash text PRIMARY KEY,
      user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      csrf_token text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz
    )`);
  await knex.raw(`
    CREATE TABLE api_keys (
      id serial PRIMARY KEY,
      user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      name text NOT NULL,
      key_hash text NOT NULL UNIQUE,
      prefix text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    )`);
  // Keyed 'user:<name>' or 'ip:<address>': both are throttled (issue #10).
  await knex.raw(`
    CREATE TABLE login_failures (
      key text PRIMARY KEY,
      failures integer NOT NULL,
      last_failure_at timestamptz NOT NULL,
      locked_until timestamptz
    )`);
  await knex.raw(`
    CREATE TABLE audit_log (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      user_id integer,
      username text,
      ip text,
      method text NOT NULL,
      route text NOT NULL,
      path text NOT NULL,
      status integer NOT NULL,
      action text NOT NULL,
      objects jsonb NOT NULL DEFAULT '{}'::jsonb
    )`);
  await knex.raw('CREATE INDEX audit_log_at_idx ON audit_log (at)');
  // Append-only in the database itself, so no code path (nor a compromised one) can rewrite history.
  await knex.raw(`
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only';
    END
    $$`);
  await knex.raw(`
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`);
  await knex.raw(`
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('audit_log');
  await knex.raw('DROP FUNCTION IF EXISTS audit_log_append_only()');
  await knex.schema.dropTableIfExists('login_failures');
  await knex.schema.dropTableIfExists('api_keys');
  await knex.schema.dropTableIfExists('sessions');
  await knex.schema.dropTableIfExists('user_roles');
  await knex.schema.dropTableIfExists('users');
}
