/**
 * Partition validation for grid systems (网格化管理): proves that every parent is tiled exactly by its
 * children and reports where not. Pure geometry: no database, no HTTP, no I/O.
 */
export { checkGeometry, type GeometryProblem } from './check-geometry';
export { proposeFixes } from './propose-fixes';
export { reportToCsv } from './report-csv';
export { reportToGeoJSON } from './report-geojson';
export {
  ISSUE_KINDS,
  WARNING_KINDS,
  type FixProposal,
  type IssueKind,
  type ParentSummary,
  type PartitionGrid,
  type PartitionIssue,
  type PartitionOptions,
  type PartitionReport,
  type PartitionSystem,
  type ResolvedPartitionOptions,
} from './types';
export { validatePartition } from './validate';
export { mergeReports, validateSystem } from './validate-system';
export { ValidationReuse, gridsDigest, type StoredGridRow } from './reuse';
export { keepValidationWorkerReady, startValidationWorker, validateStoredSystemInWorker, validateSystemInWorker, validationWorkerReady } from './validate-in-worker';
export { readGrid, type WorkerGrid } from './validate-worker';
export { polygonFromWkb } from './wkb';
