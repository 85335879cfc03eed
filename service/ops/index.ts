import type { Database } from '../db/engine';
import type { RouteDef } from '../http/route';
import { openApiRoutes } from './docs-routes';
import { healthRoutes, type ReadinessProbe } from './health-routes';
import { metricsRoutes } from './metrics-routes';
import { appliedMigrations, ping } from './store';
import type { ApiInfo } from './openapi';

export { openApiDocument, missingRoutes, type ApiInfo, type OpenApiDocument } from './openapi';
export { recordJob, recordTileCache, setJobQueueDepth, timed, watchPool, registry } from './metrics';
export { httpMetrics, recordRequest } from './metrics-routes';
export { startHeartbeat } from './heartbeat';
export { healthRoutes, type ReadinessProbe } from './health-routes';

/** Readiness of a database: `select 1`, then the migrations it has run. */
export const databaseProbe = (db: Pick<Database, 'knex' | 'engine'> & Partial<Pick<Database, 'replica'>>): ReadinessProbe => ({
  engine: db.engine,
  applied: () => ping(db.knex).then(() => appliedMigrations(db.knex)),
  ...(db.replica ? { replica: () => db.replica!.check().then(() => db.replica!.status()) } : {}),
});
export { readYourWrites, watchReplica, LSN_COOKIE, LSN_HEADER } from './replica-routes';
export { createSingleRun, type SingleRun } from './single-run';
export { crashTestPause, PAUSED_LINE } from './crash-pause';

/**
 * The operations routes: /livez, /readyz, /metrics, /api/openapi.json and /api/docs. `allRoutes` returns
 * the app's whole route table (these included), read when the document is first asked for.
 */
export function opsRoutes(deps: { db: Pick<Database, 'knex' | 'engine'> & Partial<Pick<Database, 'replica'>>; info: ApiInfo; allRoutes: () => readonly RouteDef[] }): RouteDef[] {
  return [...healthRoutes(databaseProbe(deps.db)), ...metricsRoutes(), ...openApiRoutes(deps.allRoutes, deps.info)];
}
