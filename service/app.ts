import Koa from 'koa';
import { Router } from '@koa/router';
import { accessRoutes, createAccessQueries, createAccessService, createAuthorizer, securityHeaders } from './access';
import { addressRoutes, createAddressQueries, createAddressService } from './addresses';
import type { Config } from './config';
import type { ChangeBus } from './db/changes';
import type { Database } from './db/engine';
import type { AreaScope } from './kernel/scope';
import { transactor } from './db/tx';
import { notFound } from './errors';
import { createGridQueries, createGridService, gridRoutes } from './grids';
import { accessLog, errorMiddleware } from './http/middleware';
import { mountRoutes, type Authorizer, type RouteDef } from './http/route';
import { createJobQueries, createJobs, jobRoutes } from './jobs';
import type { Logger } from './logger';
import { createPartitionQueries, createPartitionService, partitionRoutes } from './partition';
import { createPointQueries, lookupPoint, pointRoutes, restrictAnswer } from './point';
import { createSystemQueries, createSystemService, systemRoutes } from './systems';
import { createTiles } from './tiles';
import { webRoutes } from './web/routes';
import pkg from '../package.json';

export interface AppDeps {
  config: Config;
  db: Database;
  changes: ChangeBus;
  logger: Logger;
}

export type Services = ReturnType<typeof createServices>;

/**
 * The composition root: each feature's use cases over its store, on one database. main.ts builds them
 * once and shares them with the seed loader. Only here (and in stores) is the database handle seen.
 */
export function createServices(deps: Pick<AppDeps, 'db' | 'changes' | 'logger'>) {
  const { db, changes, logger } = deps;
  const knex = db.knex;
  const transact = transactor(knex);
  const systemStore = (tx?: Parameters<typeof createSystemQueries>[0]) => createSystemQueries(tx ?? knex);
  const systems = createSystemService({ transact, store: systemStore, changes });
  // Grid changes re-assign the addresses they can move, in the same transaction (issue #5).
  const addresses = createAddressService({ transact, store: (tx) => createAddressQueries(tx ?? knex), systemStore, changes });
  const grids = createGridService({
    transact,
    store: (system, tx) => createGridQueries(tx ?? knex, system.key, system.id),
    systems,
    changes,
    hooks: [addresses.onGridChange],
  });
  const jobs = createJobs(createJobQueries(knex), logger);
  const partition = createPartitionService({ store: createPartitionQueries(knex), systems, grids, jobs, changes, logger });
  const pointStore = createPointQueries(knex);
  const point = {
    lookup: async (lon: number, lat: number, scope: AreaScope = 'all') => restrictAnswer(await lookupPoint(pointStore, await systemStore().list(), lon, lat), scope),
  };
  const access = createAccessService({ store: createAccessQueries(knex), changes });
  return { systems, grids, addresses, jobs, partition, point, access };
}

/**
 * Builds the application without listening; tests drive `app.callback()`, only main.ts listens.
 * Every route is mounted behind the access feature's authorizer (issue #10); `authorize` replaces it only
 * for the test harness (service/test/app.ts).
 */
export function createApp(deps: AppDeps & { services?: Services; authorize?: Authorizer }): Koa {
  const { config, logger } = deps;
  const services = deps.services ?? createServices(deps);
  const authorize = deps.authorize ?? createAuthorizer(services.access);
  const app = new Koa();
  app.proxy = true;
  app.use(securityHeaders({ basemapUrl: config.basemapUrl }));
  app.use(errorMiddleware(logger));
  app.use(accessLog(logger));

  for (const routes of appRoutes(deps, services)) {
    const router = mountRoutes(new Router(), routes, authorize);
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  app.use((ctx) => {
    throw notFound('route_not_found', `no route for ${ctx.method} ${ctx.path}`);
  });
  return app;
}

/**
 * Every route table of the app, in mounting order. The access tests walk the same tables: every route
 * declares its access, every permission named is in the role table (issue #10).
 */
export function appRoutes(deps: AppDeps, services: Services): RouteDef[][] {
  const { config, db } = deps;
  const meta: RouteDef[] = [
    {
      method: 'get',
      path: '/healthz',
      tag: 'meta',
      summary: 'The database answers',
      access: { public: true },
      handler: async (ctx) => {
        await db.knex.raw('select 1');
        ctx.body = { status: 'ok', engine: db.engine };
      },
    },
    {
      method: 'get',
      path: '/version',
      tag: 'meta',
      summary: 'Version, engine and PostGIS capabilities',
      access: { public: true },
      handler: (ctx) => {
        ctx.body = { name: pkg.name, version: pkg.version, engine: db.engine, postgis: db.capabilities };
      },
    },
  ];

  // Tiles first: they are most of the requests, and every router before them costs each one a path match.
  return [
    createTiles(deps).routes,
    meta,
    systemRoutes(services.systems, config.bodyLimitBytes),
    gridRoutes(services.systems, services.grids, config.bodyLimitBytes, (key) => services.addresses.registerCounts(key)),
    pointRoutes({ lookup: services.point.lookup, nearestAddress: (lon, lat, within, scope) => services.addresses.nearest(lon, lat, within, scope) }),
    addressRoutes(services.addresses, config.bodyLimitBytes),
    partitionRoutes(services.partition, config.bodyLimitBytes),
    jobRoutes(services.jobs),
    accessRoutes(services.access),
    webRoutes(),
  ];
}
