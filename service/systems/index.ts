// The systems feature: grid systems, their levels, code schemes and overlap policies (issue #2).
export { createSystemService, type SystemService, type SystemSettingsHook, type SystemSummary } from './service';
export { createSystemQueries, type SystemQueries } from './store';
export { systemRoutes } from './routes';
export { checkCode, childCode, readingOrder, segmentFor } from './codes';
export { CreateSystemSchema, LevelSchema, PatchSystemSchema, SystemKey, type CreateSystemInput } from './schema';
