import type { Queryable } from '../db/tx';
import { createSystemQueries } from '../systems';
import { lookupPoint, type PointAnswer } from './service';
import { createPointQueries } from './store';

// The point feature: which grids of every system contain a point (MapIt-style chains, issue #2).
export { lookupPoint, type ChainLink, type PointAnswer, type SystemChain } from './service';
export { createPointQueries, type PointQueries } from './store';
export { pointRoutes } from './routes';

/** The point lookup over one database: every system's chain at a point. */
export function createPointLookup(db: Queryable): (lon: number, lat: number) => Promise<PointAnswer> {
  const points = createPointQueries(db);
  const systems = createSystemQueries(db);
  return async (lon, lat) => lookupPoint(points, await systems.list(), lon, lat);
}
export { restrictAnswer } from './scoped';
