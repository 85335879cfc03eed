// The changesets feature: boundary changes proposed, proved, approved and applied, and grid history (issue #14).
export { createChangesetService, type Changeset, type ChangesetService, type GridVersion } from './service';
export { createChangesetQueries, type ChangesetQueries } from './store';
export { changesetRoutes } from './routes';
export { recordHistory } from './history';
export { changesetDiffSourceProvider, DIFF_FIELDS, DIFF_LAYER } from './tiles';
