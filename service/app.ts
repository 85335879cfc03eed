import Koa from 'koa';
import { Router } from '@koa/router';
import type { Config } from './config';
import type { ChangeBus } from './db/changes';
import type { Database } from './db/engine';
import { createAddressService } from './domain/addresses';
import { createGridService } from './domain/grids';
import { createJobs } from './domain/jobs';
import { createPartitionService } from './domain/partition';
import { createSystemService } from './domain/systems';
import { notFound } from './errors';
import { gridsRouter } from './http/grids';
import { addressesRouter } from './http/addresses';
import { accessLog, errorMiddleware } from './http/middleware';
import { partitionRouter } from './http/partition';
import { pointRouter } from './http/point';
import { systemsRouter } from './http/systems';
import { mountRoutes, type Authorizer } from './http/route';
import { createOverlayService, overlayRoutes } from './overlays/index';
import { createTiles } from './tiles';
import { webRouter } from './web/router';
import type { Logger } from './logger';
import pkg from '../package.json';

export interface AppDeps {
  config: Config;
  db: Database;
  changes: ChangeBus;
  logger: Logger;
}

export type Services = ReturnType<typeof createServices>;

/** The use cases over one database; main.ts builds them once and shares them with the seed loader. */
export function createServices(deps: Pick<AppDeps, 'db' | 'changes' | 'logger'>) {
  const { db, changes, logger } = deps;
  const systems = createSystemService(db.knex, changes);
  // Grid changes re-assign the addresses they can move, in the same transaction (issue #5).
  const addresses = createAddressService(db.knex, changes);
  const grids = createGridService(db.knex, systems, changes, [addresses.onGridChange]);
  const jobs = createJobs(db.knex, logger);
  const partition = createPartitionService({ knex: db.knex, systems, grids, jobs, changes, logger });
  const overlays = createOverlayService({ knex: db.knex, jobs, logger });
  return { systems, grids, addresses, jobs, partition, overlays };
}

/** Until the access feature lands (issue #10), routes declare their access and nothing enforces it. */
const passThrough: Authorizer = () => (_ctx, next) => next();

/** Builds the application without listening; tests drive `app.callback()`, only main.ts listens. */
export function createApp(deps: AppDeps & { services?: Services }): Koa {
  const { config, db, logger } = deps;
  const services = deps.services ?? createServices(deps);
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

  // Tiles first: they are most of the requests, and every router before them costs each one a path match.
  for (const router of [
    createTiles(deps).router,
    meta,
    systemsRouter(services.systems, config.bodyLimitBytes),
    gridsRouter(services.systems, services.grids, config.bodyLimitBytes, (key) => services.addresses.registerCounts(key)),
    pointRouter(db.knex, services.addresses),
    addressesRouter(services.addresses, config.bodyLimitBytes),
    partitionRouter(services.partition, services.jobs, config.bodyLimitBytes),
    mountRoutes(new Router(), overlayRoutes(services.overlays, config.bodyLimitBytes), passThrough),
    webRouter(),
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  app.use((ctx) => {
    throw notFound('route_not_found', `no route for ${ctx.method} ${ctx.path}`);
  });
  return app;
}
