import type { Database } from '../db/engine';
import { claimWork, purgeClaims, withAdvisoryLock } from './store';

/** Claims older than this are forgotten: the change they name was re-checked long ago. */
const CLAIM_TTL_HOURS = 24;
const PURGE_EVERY_MS = 3600_000;

/**
 * Work that every service process hears about (a change arrives locally and by NOTIFY) but only one may do
 * (issue #16). `claim` keeps the keys this process won (first insert wins, across processes); `exclusive`
 * runs work under a lock named by `key`, so two processes never interleave read-modify-write of one report.
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
      // The embedded database belongs to one process, whose callers already run one at a time; and its
      // single connection could not hold a lock while the work queries on it.
      if (db.engine === 'embedded') return work();
      return withAdvisoryLock(db.knex, key, work);
    },
  };
}
