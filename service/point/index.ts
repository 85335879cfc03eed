// The point feature: which grids of every system contain a point (MapIt-style chains, issue #2).
export { lookupPoint, type ChainLink, type PointAnswer, type SystemChain } from './service';
export { createPointQueries, type PointQueries } from './store';
export { pointRoutes } from './routes';
export { restrictAnswer } from './scoped';
