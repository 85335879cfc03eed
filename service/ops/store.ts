import type { Knex } from 'knex';
import { knexOf, type Queryable } from '../db/tx';

/** The database answers a query at all. */
export async function ping(db: Queryable): Promise<void> {
  const knex: Knex = knexOf(db);
  await knex.raw('select 1');
}

/** Names of the migrations this database has run (knex's own bookkeeping table); empty before the first. */
export async function appliedMigrations(db: Queryable): Promise<string[]> {
  const knex: Knex = knexOf(db);
  const exists = (await knex.raw(`select to_regclass('knex_migrations') is not null as present`)).rows[0].present as boolean;
  if (!exists) return [];
  return (await knex('knex_migrations').select('name').orderBy('id')).map((r: { name: string }) => r.name);
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/** Connections of a knex pool by state; undefined when the client has no pool (yet). */
export function poolUsage(db: Queryable): { used: number; free: number; pending: number } | undefined {
  const pool = (knexOf(db).client as { pool?: TarnPool }).pool;
  if (!pool || typeof pool.numUsed !== 'function') return undefined;
  return { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() };
}

/** Inserts a claim per key for `owner`; returns the keys no one had claimed before (now this owner's). */
export async function claimWork(db: Queryable, keys: string[], owner: string): Promise<string[]> {
  const knex: Knex = knexOf(db);
  const rows: { key: string }[] = (
    await knex.raw(`insert into work_claims (key, claimed_by) select unnest(?::text[]), ? on conflict (key) do nothing returning key`, [keys, owner])
  ).rows;
  return rows.map((r) => r.key);
}

export async function purgeClaims(db: Queryable, olderThanHours: number): Promise<void> {
  const knex: Knex = knexOf(db);
  await knex.raw(`delete from work_claims where claimed_at < now() - make_interval(hours => ?)`, [olderThanHours]);
}

/**
 * Takes the lease `key` for `holder` if no one holds it or its holder's lease is older than `seconds` (the
 * holder stopped): a lock that holds no connection while the work runs, so it cannot starve the pool.
 */
export async function takeLease(db: Queryable, key: string, holder: string, seconds: number): Promise<boolean> {
  const knex: Knex = knexOf(db);
  const rows = (
    await knex.raw(
      `insert into work_claims (key, claimed_by) values (?, ?)
       on conflict (key) do update set claimed_by = excluded.claimed_by, claimed_at = now()
       where work_claims.claimed_at < now() - make_interval(secs => ?)
       returning key`,
      [key, holder, seconds],
    )
  ).rows;
  return rows.length > 0;
}

export async function releaseLease(db: Queryable, key: string, holder: string): Promise<void> {
  const knex: Knex = knexOf(db);
  await knex.raw('delete from work_claims where key = ? and claimed_by = ?', [key, holder]);
}

export async function beat(db: Queryable, owner: string): Promise<void> {
  const knex: Knex = knexOf(db);
  await knex.raw(`insert into work_claims (key, claimed_by) values (?, ?) on conflict (key) do update set claimed_at = now()`, [`process:${owner}`, owner]);
}

export async function clearBeat(db: Queryable, owner: string): Promise<void> {
  const knex: Knex = knexOf(db);
  await knex.raw('delete from work_claims where key = ?', [`process:${owner}`]);
}
