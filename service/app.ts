import Koa from 'koa';
import { Router } from '@koa/router';
import { accessRoutes, auditInTransaction, createAccessQueries, createAccessService, createAuthorizer, securityHeaderList, securityHeaders } from './access';
import { addressRoutes, createAddressQueries, createAddressService } from './addresses';
import { createBoards, createGridCounts, createGridCountsStore, gridCountsRoutes } from './boards';
import { changesetDiffSourceProvider, changesetRoutes, createChangesetQueries, createChangesetService, recordHistory } from './changesets';
import type { Config } from './config';
import type { ChangeBus } from './db/changes';
import type { Database } from './db/engine';
import { transactor, type Tx } from './db/tx';
import { notFound } from './errors';
import { createGridQueries, createGridService, gridRoutes } from './grids';
import { withFastPath } from './http/fast-path';
import { accessLog, errorMiddleware } from './http/middleware';
import { mountRoutes, type Authorizer, type RouteDef } from './http/route';
import { createBoundaryRerouting, createIncidentCounts, createIncidents, createOpen311, incidentRoutes, incidentSourceProvider, open311Routes, publishIncidentChanges } from './incidents';
import { createJobQueries, createJobs, jobRoutes } from './jobs';
import type { AreaScope } from './kernel/scope';
import type { Logger } from './logger';
import { crashTestPause, createSingleRun, httpMetrics, opsRoutes, readYourWrites, recordRequest } from './ops';
import { createOverlayService, createStoredOverlays, overlayRoutes, overlaySourceProvider, recordOverlayChanges, storedOverlayRoutes } from './overlays';
import { createPartitionQueries, createPartitionService, partitionRoutes } from './partition';
import { createPointQueries, locatePoint, lookupPoint, pointRoutes, restrictAnswer } from './point';
import { createSystemQueries, createSystemService, systemRoutes } from './systems';
import { createTiles } from './tiles';
import { createReportService, reportRoutes } from './report';
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
  const accessStore = (tx?: Tx) => createAccessQueries(tx ?? knex);
  // A write request's audit row commits in the write's own transaction (issue #10 §5); the crash tests may
  // pause a transaction there (GRIDATLAS_TEST_PAUSE_FILE, issue #16).
  const transact = transactor(knex, crashTestPause(auditInTransaction(accessStore)));
  // Read-only routes read here: the replica when DATABASE_READ_URL is set, else the primary (issue #16).
  const read = db.read;
  // Every change committed (here, or heard from the primary) raises the replica reads' freshness bar.
  if (db.replica) changes.on(() => db.replica!.afterWrite());
  const systemStore = (tx?: Parameters<typeof createSystemQueries>[0]) => createSystemQueries(tx ?? knex);
  // Grid changes re-assign the addresses they can move, in the same transaction (issue #5).
  const addresses = createAddressService({ transact, store: (tx) => createAddressQueries(tx ?? knex), systemStore, changes });
  // So do system settings that decide assignment (the levels' order), in the PATCH's transaction (issue #16).
  const systems = createSystemService({ transact, store: systemStore, changes, onSettingsChange: [addresses.onSettingsChange] });
  const grids = createGridService({
    transact,
    // Outside a transaction the grid store only reads (lists, trees, one grid): those go to `read`.
    store: (system, tx) => createGridQueries(tx ?? read, system.key, system.id),
    systems,
    changes,
    // Every grid write also records the grid's new version (issue #14 history), and the change for
    // overlays: their input caches' version, stored overlays' pending updates (issue #13).
    hooks: [addresses.onGridChange, recordHistory((tx) => createChangesetQueries(tx)), recordOverlayChanges],
  });
  const jobs = createJobs(createJobQueries(knex), logger, changes.origin);
  // With several processes on one database, each change is re-checked once (issue #16).
  const singleRun = createSingleRun(db, changes.origin);
  const partition = createPartitionService({ store: createPartitionQueries(knex, db.engine), reads: createPartitionQueries(read), systems, grids, jobs, changes, logger, singleRun });
  // Open cases whose grid a changeset moves are re-routed in its apply transaction (issue #14).
  const rerouting = createBoundaryRerouting(locatePoint);
  const changesets = createChangesetService({
    transact,
    store: (tx) => createChangesetQueries(tx ?? knex),
    systems,
    grids,
    incidents: { openCasesIn: (tx, bbox) => rerouting.openCasesIn(tx ?? knex, bbox), reroute: (tx, system, bbox, by) => rerouting.reroute(tx, system, bbox, by) },
    // A changeset's preview tiles follow its edits (changesets/tiles.ts).
    announce: (tx, system, id) => changes.publish(tx ?? knex, { kind: 'changesets', system, codes: [String(id)], bbox: null }),
  });
  const pointStore = createPointQueries(read);
  const point = {
    // With `asOf`, the same chain building over the grid history (issue #14).
    lookup: async (lon: number, lat: number, scope: AreaScope = 'all', asOf?: string) =>
      restrictAnswer(await lookupPoint(asOf ? changesets.pointQueriesAsOf(asOf) : pointStore, await systemStore().list(), lon, lat), scope),
  };
  // Announced on the ChangeBus so the incident tile layer is fresh after every report and step (issue #12).
  const incidents = publishIncidentChanges(
    createIncidents(knex, locatePoint),
    changes,
    knex,
  );
  const open311 = createOpen311(knex, incidents);
  const overlays = createOverlayService({ knex, jobs, logger });
  // Stored overlays follow every grid change through the change bus (issue #13 item 9).
  const storedOverlays = createStoredOverlays({ knex, changes, logger, singleRun });
  const access = createAccessService({ store: accessStore(), storeIn: accessStore, transact, changes });
  return { systems, grids, addresses, jobs, partition, point, changesets, incidents, open311, overlays, storedOverlays, access };
}

/**
 * Builds the application without listening; tests drive `app.callback()`, only main.ts listens.
 * Every route is mounted behind the access feature's authorizer (issue #10); `authorize` replaces it only
 * for the test harness (service/test/app.ts).
 */
export function createApp(deps: AppDeps & { services?: Services; authorize?: Authorizer; fastPath?: boolean }): Koa & { routeTable: readonly RouteDef[] } {
  const { config, logger } = deps;
  const services = deps.services ?? createServices(deps);
  const authorize = deps.authorize ?? createAuthorizer(services.access);
  const app = new Koa();
  app.proxy = config.trustProxy;
  // Outermost, so the status it records is the one sent (issue #16).
  app.use(httpMetrics());
  app.use(securityHeaders({ basemapUrl: config.basemapUrl }));
  app.use(errorMiddleware(logger));
  app.use(accessLog(logger));
  if (deps.db.replica) app.use(readYourWrites(deps.db.replica));

  const features = appRoutes(deps, services, () => routeTable);
  // The whole route table: the OpenAPI document and the role × route matrix are generated from it.
  const routeTable: RouteDef[] = features.flat();
  for (const routes of features) {
    const router = mountRoutes(new Router(), routes, authorize);
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  app.use((ctx) => {
    throw notFound('route_not_found', `no route for ${ctx.method} ${ctx.path}`);
  });
  // Warm tiles are answered before Koa with the chain's headers, metrics and log (http/fast-path.ts, issue #15).
  if (deps.fastPath !== false) {
    const koaCallback = app.callback.bind(app);
    const commonHeaders = securityHeaderList({ basemapUrl: config.basemapUrl });
    // Koa types its callback for HTTP/2 requests too; the service listens with node:http (main.ts).
    type Callback = ReturnType<Koa['callback']>;
    app.callback = () => withFastPath(koaCallback(), { routes: routeTable, authorize, createContext: (req, res) => app.createContext(req, res), commonHeaders, record: recordRequest, logger }) as unknown as Callback;
  }
  return Object.assign(app, { routeTable });
}

/**
 * Every route table of the app, in mounting order. The access tests walk the same tables: every route
 * declares its access, every permission named is in the role table (issue #10).
 */
export function appRoutes(deps: AppDeps, services: Services, allRoutes: () => readonly RouteDef[] = () => []): RouteDef[][] {
  const { config, db } = deps;
  const incidentCounts = createIncidentCounts(db.knex);
  const readDb: Database = { ...db, knex: db.read };
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
    // Tiles read the replica; they still hear changes through the primary's ChangeBus (issue #16).
    createTiles({ ...deps, db: readDb }, [incidentSourceProvider(readDb), overlaySourceProvider(readDb.knex), changesetDiffSourceProvider(services.changesets)]).routes,
    meta,
    systemRoutes(services.systems, config.bodyLimitBytes),
    gridRoutes(services.systems, services.grids, config.bodyLimitBytes, (key) => services.addresses.registerCounts(key), config.importMaxBytes, (key, at, scope) => services.changesets.gridsAsOf(key, at, scope)),
    pointRoutes({ lookup: services.point.lookup, nearestAddress: (lon, lat, within, scope) => services.addresses.nearest(lon, lat, within, scope) }),
    addressRoutes(services.addresses, config.bodyLimitBytes),
    partitionRoutes(services.partition, config.bodyLimitBytes),
    changesetRoutes(services.changesets, config.bodyLimitBytes),
    incidentRoutes(services.incidents),
    open311Routes(services.open311),
    overlayRoutes(services.overlays, config.bodyLimitBytes),
    storedOverlayRoutes(services.storedOverlays, config.bodyLimitBytes),
    jobRoutes(services.jobs),
    createBoards({ systems: services.systems, grids: services.grids, db: db.knex, chromiumPath: config.chromiumPath, incidentCounts: (system, codes) => incidentCounts.under(system, codes) }).routes,
    gridCountsRoutes(
      createGridCounts({
        systems: services.systems,
        store: createGridCountsStore(db.knex),
        incidents: (system, codes, at) => incidentCounts.under(system, codes, at),
        filing: (key) => services.overlays.filing(key, 1),
      }),
    ),
    opsRoutes({ db, info: { title: 'gridatlas', version: pkg.version, description: pkg.description }, allRoutes }),
    accessRoutes(services.access),
    reportRoutes(createReportService({ systems: services.systems, grids: services.grids, incidents: services.incidents })),
    webRoutes(),
  ];
}
