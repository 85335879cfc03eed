import type { Database } from '../db/engine';
import type { RouteDef } from '../http/route';
import { openApiRoutes } from './docs-routes';
import { healthRoutes } from './health-routes';
import { metricsRoutes } from './metrics';
import type { ApiInfo } from './openapi';

export { openApiDocument, missingRoutes, type ApiInfo, type OpenApiDocument } from './openapi';
export { httpMetrics, recordJob, recordTileCache, setJobQueueDepth, timed, watchPool, registry } from './metrics';
export { healthRoutes } from './health-routes';
export { createSingleRun, type SingleRun } from './single-run';


/**
 * The operations routes: /livez, /readyz, /metrics, /api/openapi.json and /api/docs. `allRoutes` returns
 * the app's whole route table (these included), read when the document is first asked for.
 */
export function opsRoutes(deps: { db: Pick<Database, 'knex' | 'engine'>; info: ApiInfo; allRoutes: () => readonly RouteDef[] }): RouteDef[] {
  return [...healthRoutes(deps.db), ...metricsRoutes(), ...openApiRoutes(deps.allRoutes, deps.info)];
}
