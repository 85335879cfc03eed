import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../app';
import { ChangeBus } from '../db/changes';
import { openDatabase, type Database } from '../db/engine';
import type { Logger } from '../logger';
import { engines, openTestDatabase } from '../test/db';
import { smallCity, smallSystem } from '../test/fixtures';
import { withDatabase } from '../test/global-setup';
import { randomUUID } from 'node:crypto';
import { createJobQueries, createJobs } from '../jobs';
import { createLogger } from '../logger';
import { startHeartbeat } from './heartbeat';
import { createSingleRun } from './single-run';

describe.each(engines())('single run of shared work on %s PostGIS', (engine) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(async () => db?.close());

  it('gives each key to the first claimant only', async () => {
    const a = createSingleRun(db, 'process-a');
    const b = createSingleRun(db, 'process-b');
    expect([...(await a.claim(['k1', 'k2']))].sort()).toEqual(['k1', 'k2']);
    expect([...(await b.claim(['k2', 'k3']))]).toEqual(['k3']);
    expect(await a.claim(['k1', 'k3'])).toEqual(new Set());
  });

  it('runs work under one key one at a time, and takes over a lease its holder left', async () => {
    const a = createSingleRun(db, 'process-a');
    const b = createSingleRun(db, 'process-b');
    const log: string[] = [];
    const step = (who: string) => async () => {
      log.push(`${who} in`);
      await new Promise((r) => setTimeout(r, 100));
      log.push(`${who} out`);
      return who;
    };
    expect(await Promise.all([a.exclusive('report:x', step('a')), b.exclusive('report:x', step('b'))])).toEqual(['a', 'b']);
    if (engine === 'server') {
      // One at a time, whichever process takes the lease first (both ask at once; under load either wins).
      expect([['a in', 'a out', 'b in', 'b out'], ['b in', 'b out', 'a in', 'a out']]).toContainEqual(log);
      // A process that stopped inside its work left its lease a minute ago: the next one takes it.
      await db.knex('work_claims').insert({ key: 'lease:report:y', claimed_by: 'gone', claimed_at: db.knex.raw(`now() - interval '61 seconds'`) });
      expect(await b.exclusive('report:y', async () => 'taken')).toBe('taken');
    }
    expect(await db.knex('work_claims').where('key', 'like', 'lease:%').count({ n: '*' }).first()).toEqual({ n: 0 });
  });

  it('fails at start-up only the jobs of processes whose heartbeat stopped', async () => {
    const logger = createLogger('silent');
    const stopA = await startHeartbeat(db.knex, 'proc-a', (err) => {
      throw err;
    });
    const ids = { alive: randomUUID(), dead: randomUUID(), old: randomUUID() };
    await db.knex('jobs').insert([
      { id: ids.alive, kind: 'validate', status: 'running', owner: 'proc-a' },
      { id: ids.dead, kind: 'validate', status: 'running', owner: 'proc-gone' },
      { id: ids.old, kind: 'validate', status: 'queued', owner: null },
    ]);
    const statuses = async () => Object.fromEntries(await Promise.all(Object.entries(ids).map(async ([k, id]) => [k, (await db.knex('jobs').where({ id }).first('status')).status])));
    await createJobs(createJobQueries(db.knex), logger, 'proc-b').failInterrupted();
    expect(await statuses()).toEqual({ alive: 'running', dead: 'failed', old: 'failed' });
    await stopA();
    await createJobs(createJobQueries(db.knex), logger, 'proc-c').failInterrupted();
    expect((await statuses()).alive).toBe('failed');
  });
});

interface Instance {
  db: Database;
  changes: ChangeBus;
  services: Services;
  rechecks: () => number;
}

/** One service process's worth of state: its own pool, LISTEN connection, change bus and services. */
async function instance(url: string): Promise<Instance> {
  const db = await openDatabase({ databaseUrl: url });
  const changes = new ChangeBus(db);
  await changes.start();
  const lines: string[] = [];
  const logger: Logger = { error: () => undefined, info: () => undefined, debug: (_f, m) => lines.push(m) };
  const services = createServices({ db, changes, logger });
  return { db, changes, services, rechecks: () => lines.filter((m) => m === 'report re-checked').length };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Two processes sharing one server database (the embedded one belongs to a single process).
describe.skipIf(!engines().includes('server'))('report re-checks across two service processes on server PostGIS', () => {
  let owner: Database;
  let one: Instance;
  let two: Instance;
  beforeAll(async () => {
    owner = await openTestDatabase('server');
    const name = (await owner.knex.raw('select current_database() as name')).rows[0].name as string;
    const url = withDatabase(process.env.DATABASE_URL!, name);
    one = await instance(url);
    two = await instance(url);
    await one.services.systems.create(smallSystem);
    await one.services.grids.import(smallSystem.key, smallCity(), { mode: 'append', repair: false });
    await one.services.partition.validate(smallSystem.key, { options: {}, mode: 'sync' });
    await one.services.partition.settled();
    await sleep(2500); // past the take-over delay of the setup's own changes
  });
  afterAll(async () => {
    for (const i of [one, two]) {
      if (!i) continue;
      i.services.partition.stop();
      await i.services.partition.settled();
      await i.changes.stop();
      await i.db.close();
    }
    await owner?.close();
  });

  it('re-checks an edit once, in the process that made it, and both serve the same report', async () => {
    const before = [one.rechecks(), two.rechecks()];
    await two.services.grids.patch(smallSystem.key, 'D01A', { name: '改名一次' }, { repair: false, expectedVersion: null });
    await two.services.partition.settled();
    await sleep(2500);
    await one.services.partition.settled();
    expect([one.rechecks() - before[0]!, two.rechecks() - before[1]!]).toEqual([0, 1]);
    const [a, b] = await Promise.all([one.services.partition.report(smallSystem.key, null), two.services.partition.report(smallSystem.key, null)]);
    expect(a).toEqual(b);
    expect(a.stale).toBe(false);
  });

  it('lets another process take over a change whose maker never re-checked it', async () => {
    const before = one.rechecks() + two.rechecks();
    // A third process that changes grids and stops before its re-check: only its NOTIFY is left.
    const gone = await openDatabase({ databaseUrl: withDatabase(process.env.DATABASE_URL!, (await owner.knex.raw('select current_database() as n')).rows[0].n) });
    const bus = new ChangeBus(gone);
    await bus.publish(gone.knex, { kind: 'grids', system: smallSystem.key, codes: ['D02A'], bbox: [104.01, 30.6, 104.02, 30.61] });
    await gone.close();
    await sleep(3000);
    await Promise.all([one.services.partition.settled(), two.services.partition.settled()]);
    expect(one.rechecks() + two.rechecks() - before).toBe(1);
    const claims = (await owner.knex('work_claims').where('key', 'like', `recheck:${bus.origin}:%`).select('claimed_by')).map((r) => r.claimed_by);
    expect(claims).toHaveLength(1);
    expect([one.changes.origin, two.changes.origin]).toContain(claims[0]);
  });
});
