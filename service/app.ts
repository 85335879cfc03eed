import Koa from 'koa';
import { Router } from '@koa/router';
import type { Config } from './config';
import type { ChangeBus } from './db/changes';
import type { Database } from './db/engine';
import { createGridService } from './domain/grids';
import { createSystemService } from './domain/systems';
import { notFound } from './errors';
import { gridsRouter } from './http/grids';
import { accessLog, errorMiddleware } from './http/middleware';
import { pointRouter } from './http/point';
import { systemsRouter } from './http/systems';
import type { Logger } from './logger';
import pkg from '../package.json';

export interface AppDeps {
  config: Config;
  db: Database;
  changes: ChangeBus;
  logger: Logger;
}

export function createServices(deps: Pick<AppDeps, "db" | "changes">) {
  const systems = createSystemService(deps.db.knex, deps.changes);
  const grids = createGridService(deps.db.knex, systems, deps.changes);
  return { systems, grids };
}

/** Builds the application without listening; tests drive `app.callback()`, only main.ts listens. */
export function createApp(deps: AppDeps): Koa {
  const { config, db, logger } = deps;
  const services = createServices(deps);
  const app = new Koa();
  app.proxy = true;
  app.use(errorMiddleware(logger));
  app.use(accessLog(logger));

  const meta = new Router();
  meta.get('/healthz', async (ctx) => {
    await db.knex.raw('select 1');
    ctx.body = { status: 'ok', engine: db.engine };
  });
  meta.get('/version', (ctx) => {
    ctx.body = { name: pkg.name, version: pkg.version, engine: db.engine, postgis: db.capabilities };
  });

  for (const router of [
    meta,
    systemsRouter(services.systems, config.bodyLimitBytes),
    gridsRouter(services.systems, services.grids, config.bodyLimitBytes),
    pointRouter(db.knex),
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  app.use((ctx) => {
    throw notFound('route_not_found', `no route for ${ctx.method} ${ctx.path}`);
  });
  return app;
}
