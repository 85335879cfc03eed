import type { GridChangeHook } from '../grids';
import { createStoredOverlayStore } from './stored-store';

/**
 * The grid write hook of overlays (app.ts), in every grid write's transaction whatever the path: raises
 * the system's grid version, which tells the overlay computed on request that its cached input of the
 * system is stale, and records the change for each stored overlay reading the system, which keeps it
 * until an update has applied it (stored.ts).
 */
export const recordOverlayChanges: GridChangeHook = (tx, system, bbox, codes) => createStoredOverlayStore(tx).recordChange(system, codes, bbox);
