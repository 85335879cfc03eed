import type { Server } from 'node:http';
import http from 'node:http';
import supertest from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { createApp } from '../app';
import { loadConfig, type Config } from '../config';
import { ChangeBus } from '../db/changes';
import type { Database, EngineKind } from '../db/engine';
import { createLogger } from '../logger';
import { openTestDatabase } from './db';

export interface TestApp {
  db: Database;
  changes: ChangeBus;
  config: Config;
  request: TestAgent;
  server: Server;
  close(): Promise<void>;
}

/** The real application over a fresh database of `engine`, listening on an ephemeral loopback port. */
export async function startTestApp(engine: EngineKind, env: Record<string, string> = {}): Promise<TestApp> {
  const db = await openTestDatabase(engine);
  const changes = new ChangeBus(db);
  await changes.start();
  const config = loadConfig({ LOG_LEVEL: 'error', ...env });
  const app = createApp({ config, db, changes, logger: createLogger('error') });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    db,
    changes,
    config,
    server,
    request: supertest(server),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await changes.stop();
      await db.close();
    },
  };
}
