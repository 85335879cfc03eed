import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import knexFactory, { type Knex } from 'knex';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createServices } from '../app';
import { ChangeBus } from '../db/changes';
import { openDatabase, type Database } from '../db/engine';
import { createLogger } from '../logger';
import { engines, openTestDatabase } from '../test/db';
import { smallCity, smallSystem } from '../test/fixtures';
import { withDatabase } from '../test/global-setup';
import { restoreEmbedded } from './backup';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

/** Runs one of the project's scripts as an operator would, with the given environment. */
async function script(name: string, args: string[], env: Record<string, string>): Promise<string> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['DATABASE_URL', 'DATABASE_READ_URL', 'DATA_DIR'].includes(k)));
  const { stdout } = await run(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'scripts', name), ...args], {
    cwd: root,
    env: { ...clean, LOG_LEVEL: 'error', ...env },
  });
  return stdout;
}

/** Everything a restore must bring back, compared exactly: systems, grids (geometry bytes), reports, migrations. */
async function snapshot(knex: Knex) {
  const rows = async (sql: string) => (await knex.raw(sql)).rows;
  return {
    systems: await rows(`select key, name, levels::text, version from grid_systems order by key`),
    grids: await rows(`select code, name, version, md5(ST_AsEWKB(geom)) as geom from grids order by code`),
    reports: await rows(`select scope, md5(report::text) as report from partition_reports order by id`),
    migrations: await rows(`select name from knex_migrations order by id`),
  };
}

async function seed(db: Database): Promise<void> {
  const changes = new ChangeBus(db);
  const services = createServices({ db, changes, logger: createLogger('silent') });
  await services.systems.create(smallSystem);
  await services.grids.import(smallSystem.key, smallCity(), { mode: 'append', repair: false });
  await services.partition.validate(smallSystem.key, { options: {}, mode: 'sync' });
  await services.partition.settled();
}

describe('backup and restore round trip', () => {
  const work = path.join(inject('testRoot'), `backup-${process.pid}`);
  fs.mkdirSync(work, { recursive: true });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it.runIf(engines().includes('embedded'))('embedded: a dump of the data directory restores into a new one, identical', async () => {
    const dataDir = path.join(work, 'live');
    fs.cpSync(inject('embeddedTemplate'), dataDir, { recursive: true });
    const live = await openDatabase({ dataDir });
    await seed(live);
    const before = await snapshot(live.knex);
    await live.close();

    const file = path.join(work, 'embedded.tar.gz');
    expect(await script('backup.ts', [file], { DATA_DIR: dataDir })).toContain('backed up');
    expect(fs.statSync(file).size).toBeGreaterThan(1000);
    expect(fs.existsSync(`${file}.partial`)).toBe(false);

    const restoredDir = path.join(work, 'restored');
    await script('restore.ts', [file], { DATA_DIR: restoredDir });
    const restored = await openDatabase({ dataDir: restoredDir });
    try {
      expect(await snapshot(restored.knex)).toEqual(before);
      expect(before.grids).toHaveLength(7);
    } finally {
      await restored.close();
    }
    // Never over a live directory.
    await expect(restoreEmbedded(file, dataDir)).rejects.toThrow(/not empty/);
    // Two script processes each open PGlite with PostGIS: ~20 s on a quiet machine, minutes on a busy one.
  }, 300_000);

  it.runIf(engines().includes('server'))('server: pg_dump restores into an empty database, identical', async () => {
    const live = await openTestDatabase('server');
    const admin = knexFactory({ client: 'pg', connection: process.env.DATABASE_URL!, pool: { min: 0, max: 1 } });
    const name = (await live.knex.raw('select current_database() as n')).rows[0].n as string;
    const target = `${name}_restored`;
    try {
      await seed(live);
      const before = await snapshot(live.knex);
      const file = path.join(work, 'server.dump');
      await script('backup.ts', [file], { DATABASE_URL: withDatabase(process.env.DATABASE_URL!, name) });
      await admin.raw(`create database ${target}`);
      await script('restore.ts', [file], { DATABASE_URL: withDatabase(process.env.DATABASE_URL!, target) });
      // Opening runs migrations: a restored database is already at the latest, so nothing changes.
      const restored = await openDatabase({ databaseUrl: withDatabase(process.env.DATABASE_URL!, target) });
      try {
        expect(await snapshot(restored.knex)).toEqual(before);
        expect(before.reports).toHaveLength(1);
      } finally {
        await restored.close();
      }
    } finally {
      await live.close();
      await admin.raw(`drop database if exists ${target} with (force)`);
      await admin.destroy();
    }
  }, 300_000);
});
