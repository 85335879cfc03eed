import { randomUUID } from 'node:crypto';
import type { Database } from '../db/engine';
import { claimWork, purgeClaims, releaseLease, takeLease } from './store';

/** Claims older than this are forgotten: the change they name was re-checked long ago. */
const CLAIM_TTL_HOURS = 24;
const PURGE_EVERY_MS = 3600_000;
/** A lease older than this belongs to a process that stopped mid-work; work under a lease takes milliseconds. */
const LEASE_SECONDS = 60;

/**
 * Work that every service process hears about (a change arrives locally and by NOTIFY) but only one may do
 * (issue #16). `claim` keeps the keys this process won (first insert wins, across processes); `exclusive`
 * runs work under a lease named by `key` (a row, not a held connection or advisory lock: waiting for a
 * connection while holding one could starve the pool), so two processes never interleave the
 * read-modify-write of one report.
 */
export interface SingleRun {
  claim(keys: string[]): Promise<Set<string>>;
  exclusive<T>(key: string, work: () => Promise<T>): Promise<T>;
}

export function createSingleRun(db: Pick<Database, 'knex' | 'engine'>, owner: string): SingleRun {
  let purged = 0;
  return {
    async claim(keys) {
      if (keys.length === 0) return new Set();
      if (Date.now() - purged > PURGE_EVERY_MS) {
        purged = Date.now();
        await purgeClaims(db.knex, CLAIM_TTL_HOURS);
      }
      return new Set(await claimWork(db.knex, keys, owner));
    },
    async exclusive(key, work) {
      // The embedded database belongs to one process, whose callers already run one at a time.
      if (db.engine === 'embedded') return work();
      const lease = `lease:${key}`;
      const holder = `${owner}:${randomUUID()}`;
      while (!(await takeLease(db.knex, lease, holder, LEASE_SECONDS))) await new Promise((r) => setTimeout(r, 25));
      try {
        return await work();
      } finally {
        await releaseLease(db.knex, lease, holder);
      }
    },
  };
}
