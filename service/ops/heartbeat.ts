import type { Queryable } from '../db/tx';
import { beat, clearBeat } from './store';

const EVERY_MS = 10_000;

/**
 * Says "process `owner` is alive" every 10 s (a `work_claims` row `process:<owner>`), so a process starting
 * up fails only the jobs of processes that stopped (service/jobs/service.ts failInterrupted). Returns the
 * function that stops beating and removes the row (orderly shutdown).
 */
export async function startHeartbeat(knex: Queryable, owner: string, onError: (err: Error) => void): Promise<() => Promise<void>> {
  await beat(knex, owner);
  const timer = setInterval(() => beat(knex, owner).catch(onError), EVERY_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await clearBeat(knex, owner).catch(onError);
  };
}
