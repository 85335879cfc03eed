import type { Knex } from 'knex';

/**
 * Open311 GeoReport v2 (issue #12): the clients' API keys and what a service request carried beyond the
 * incident itself.
 *
 * - `open311_keys` stores only the SHA-256 of each key (keys are long random tokens, so a fast hash is
 *   enough to make a leaked table useless); `scope_code`, when set, limits the key to the subtree of one
 *   governance grid (a district, a street …).
 * - `open311_requests` keeps, per incident reported through Open311, the key that reported it and the
 *   fields the incident model has no column for: the written address, the media URL and the reporter's
 *   e-mail (personal data: never returned by the API).
 * - `incidents.updated_at` gets an index: the `updated_after`/`updated_before` filters clients poll with.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE open311_keys (
      id serial PRIMARY KEY,
      client text NOT NULL,
      key_sha256 text NOT NULL,
      scope_code text,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz,
      CONSTRAINT open311_keys_hash_unique UNIQUE (key_sha256)
    )`);
  await knex.raw(`
    CREATE TABLE open311_requests (
      incident_id bigint PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
      key_id integer NOT NULL REFERENCES open311_keys(id),
      address_string text,
      media_url text,
      email text,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  await knex.raw('CREATE INDEX open311_incidents_updated_idx ON incidents (updated_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS open311_incidents_updated_idx');
  await knex.schema.dropTableIfExists('open311_requests');
  await knex.schema.dropTableIfExists('open311_keys');
}
