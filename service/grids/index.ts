// The grids feature: grids of a system, import/export, walking the tree, renumbering (issue #2).
export { createGridService, type GridChangeHook, type GridOperation, type GridService } from './service';
export { createGridQueries, type GridFilter, type GridQueries } from './store';
export { gridRoutes, type GridsAsOf, type RegisterCountsOf } from './routes';
export { decodeGridImport } from './import-body';
export { featuresOf, gridToFeature, toCollection } from './features';
export type { Lang, RegisterCounts } from './export';
export type { ImportOptions, ImportResult } from './import';
