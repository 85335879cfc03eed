// The jobs feature: long work (validations, overlays) run in the background with progress in the database.
export { createJobs, type Job, type JobContext, type Jobs } from './service';
export { createJobQueries } from './store';
export { jobRoutes } from './routes';
