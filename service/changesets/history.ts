import type { Tx } from '../db/tx';
import type { GridChangeHook } from '../grids';
import type { ChangesetQueries } from './store';

/**
 * Records grid history inside every grid change's transaction (issue #14: every grid version is kept),
 * whatever the write path — import, PUT/PATCH, renumber, delete or a changeset's apply, which also
 * names itself, its proposer and approver for the versions it writes.
 */
export function recordHistory(store: (tx: Tx) => ChangesetQueries): GridChangeHook {
  return (tx, system, _bbox, codes) => store(tx).recordVersions(system.id, codes.length === 0 ? null : codes);
}
