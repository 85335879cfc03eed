import type { Queryable } from '../db/tx';
import { createSystemQueries } from '../systems';
import { lookupPoint, type PointAnswer } from './service';
import { createPointQueries } from './store';

// The point feature: which grids of every system contain a point (MapIt-style chains, issue #2).
export { lookupPoint, type ChainLink, type PointAnswer, type SystemChain } from './service';
export { createPointQueries, type PointQueries } from './store';
export { pointRoutes } from './routes';

/**
 * Every system's chain at a point, read on the handle given: inside a caller's transaction it must not ask
 * the pool for a second connection (the embedded engine has one).
 */
export async function locatePoint(db: Queryable, lon: number, lat: number): Promise<PointAnswer> {
  return lookupPoint(createPointQueries(db), await createSystemQueries(db).list(), lon, lat);
}
export { restrictAnswer } from './scoped';
