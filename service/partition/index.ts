// The partition feature: proofs that children tile their parent, stored reports, fixes, re-checks (issue #3).
export { createPartitionService, type PartitionService, type StoredReport } from './service';
export { createPartitionQueries } from './store';
export { partitionRoutes } from './routes';
export { keepValidationWorkerReady, validationWorkerReady } from '../geometry/partition';
