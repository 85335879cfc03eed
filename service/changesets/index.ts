// The changesets feature: boundary changes proposed, proved, approved and applied, and grid history (issue #14).
export { createChangesetService, type ChangesetService } from './service';
export { createChangesetQueries, type ChangesetQueries, type Changeset, type GridVersion } from './store';
export { changesetRoutes } from './routes';
export { recordHistory } from './history';
