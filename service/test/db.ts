import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import knexFactory from 'knex';
import { openDatabase, type Database, type EngineKind } from '../db/engine';
import type { ReplicaOptions } from '../db/replica';
import { withDatabase } from './global-setup';

/**
 * The engines every database test runs on: always the embedded PostGIS, and the PostGIS server when
 * DATABASE_URL is set (always in CI, enforced by the global setup).
 */
export function engines(): EngineKind[] {
  return inject('serverTemplate') ? ['embedded', 'server'] : ['embedded'];
}

/**
 * A fresh, migrated, empty database of the given engine; close() also removes it. `replicaUrl` (server
 * only): a streaming standby of DATABASE_URL's cluster, read through as DATABASE_READ_URL (issue #16).
 */
export async function openTestDatabase(engine: EngineKind, options: { replicaUrl?: string; replica?: ReplicaOptions } = {}): Promise<Database> {
  const id = `${process.pid}_${randomBytes(4).toString('hex')}`;
  if (engine === 'embedded') {
    const dir = path.join(inject('testRoot'), `pglite-${id}`);
    fs.cpSync(inject('embeddedTemplate'), dir, { recursive: true });
    const db = await openDatabase({ dataDir: dir });
    const close = db.close.bind(db);
    db.close = async () => {
      await close();
      fs.rmSync(dir, { recursive: true, force: true });
    };
    return db;
  }
  const url = process.env.DATABASE_URL!;
  const name = `gridatlas_t_${inject('runId')}_${id}`;
  const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name} template ${inject('serverTemplate')}`);
  if (options.replicaUrl) await untilReplicated(withDatabase(options.replicaUrl, name));
  const db = await openDatabase({
    databaseUrl: withDatabase(url, name),
    ...(options.replicaUrl ? { readUrl: withDatabase(options.replicaUrl, name), replica: options.replica } : {}),
  });
  const close = db.close.bind(db);
  db.close = async () => {
    await close();
    await admin.raw(`drop database if exists ${name} with (force)`);
    await admin.destroy();
  };
  return db;
}

/** Waits until a database just created on the primary exists on the standby (CREATE DATABASE replays). */
async function untilReplicated(url: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const probe = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 }, log: { warn: () => undefined } });
    try {
      await probe.raw('select 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the replica did not get the new database within 15 s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await probe.destroy();
    }
  }
}
