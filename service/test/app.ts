import type { Server } from 'node:http';
import http from 'node:http';
import supertest from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { createAuthorizer, type Principal } from '../access';
import { createApp, createServices, type Services } from '../app';
import { loadConfig, type Config } from '../config';
import { ChangeBus } from '../db/changes';
import type { Database, EngineKind } from '../db/engine';
import { createLogger } from '../logger';
import { openTestDatabase } from './db';

export interface TestApp {
  db: Database;
  changes: ChangeBus;
  config: Config;
  services: Services;
  request: TestAgent;
  server: Server;
  close(): Promise<void>;
}

/**
 * Test-only: who a request without credentials is in the feature tests that drive the API without logging
 * in. Requests with credentials still go through the real authentication and policy.
 */
const INTERNAL_ADMIN: Principal = { user: { id: 0, username: 'test-admin' }, pairs: [{ role: 'admin' }], via: 'internal' };

export interface TestAppOptions {
  /**
   * 'real' (the access tests): the production authorizer, anonymous requests act as `public`.
   * 'internal-admin' (default, the feature tests): requests without credentials act as an administrator.
   */
  access?: 'real' | 'internal-admin';
  /** Server engine: read through this streaming standby (DATABASE_READ_URL, issue #16). */
  replicaUrl?: string;
}

/** The real application over a fresh database of `engine`, listening on an ephemeral loopback port. */
export async function startTestApp(engine: EngineKind, env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const db = await openTestDatabase(engine, options.replicaUrl ? { replicaUrl: options.replicaUrl } : {});
  const changes = new ChangeBus(db);
  await changes.start();
  const config = loadConfig({ LOG_LEVEL: 'error', ...env });
  const logger = createLogger('error');
  const services = createServices({ db, changes, logger });
  const authorize = options.access === 'real' ? undefined : createAuthorizer(services.access, { anonymousAs: INTERNAL_ADMIN });
  const app = createApp({ config, db, changes, logger, services, ...(authorize ? { authorize } : {}) });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    db,
    changes,
    config,
    services,
    server,
    request: supertest(server),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await changes.stop();
      await db.close();
    },
  };
}
