import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import knexFactory from 'knex';
import { openDatabase, withDatabase } from '../db/engine';

/**
 * Prepares one migrated template per engine so each test file gets a fresh database quickly:
 * an embedded data directory to copy, and (when DATABASE_URL is set) a server template database.
 * In CI the server is required: database tests never skip silently there.
 */
export default async function setup(project: TestProject) {
  // One folder per run: several test runs may share a working tree.
  const root = path.resolve(`.tmp/test-${process.pid}`);
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  project.provide('testRoot', root);
  // Databases this run creates are named after it, so parallel runs never drop each other's.
  const runId = `r${process.pid}`;
  project.provide('runId', runId);

  const templateDir = path.join(root, 'pglite-template');
  const embedded = await openDatabase({ dataDir: templateDir });
  await embedded.close();
  project.provide('embeddedTemplate', templateDir);

  const url = process.env.DATABASE_URL;
  if (!url && process.env.CI) {
    throw new Error('CI is set but DATABASE_URL is not: the PostGIS server tests must run in CI (see .ci/run)');
  }
  let teardownServer = async () => undefined as void;
  if (url) {
    const template = `gridatlas_test_template_${process.pid}`;
    const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    await admin.raw(`drop database if exists ${template}`);
    await admin.raw(`create database ${template}`);
    const db = await openDatabase({ databaseUrl: withDatabase(url, template) });
    await db.close();
    project.provide('serverTemplate', template);
    teardownServer = async () => {
      const left: { datname: string }[] = (await admin.raw(`select datname from pg_database where datname like ? or datname = ?`, [`gridatlas_t_${runId}_%`, template])).rows;
      for (const { datname } of left) await admin.raw(`drop database if exists ${datname} with (force)`);
      await admin.destroy();
    };
  } else {
    project.provide('serverTemplate', '');
  }
  return async () => {
    await teardownServer();
    fs.rmSync(root, { recursive: true, force: true });
  };
}

export { withDatabase };

declare module 'vitest' {
  export interface ProvidedContext {
    testRoot: string;
    runId: string;
    embeddedTemplate: string;
    serverTemplate: string;
  }
}
