import type { Knex } from 'knex';

/** The database answers a query at all. */
export async function ping(knex: Knex): Promise<void> {
  await knex.raw('select 1');
}

/** Names of the migrations this database has run (knex's own bookkeeping table); empty before the first. */
export async function appliedMigrations(knex: Knex): Promise<string[]> {
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
export function poolUsage(knex: Knex): { used: number; free: number; pending: number } | undefined {
  const pool = (knex.client as { pool?: TarnPool }).pool;
  if (!pool || typeof pool.numUsed !== 'function') return undefined;
  return { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() };
}
