import type { ChangeBus } from '../db/changes';
import type { Tx } from '../db/tx';
import type { GridChangeHook } from '../grids';
import type { Bbox, StoredSystem } from '../kernel/types';
import { extend, noteOf, sameAssignment, widen } from './assignment';
import { GridIndex } from './grid-index';
import type { AddressQueries, StatusNote } from './store';

/** Addresses read per page when re-assigning after a grid change. */
const PAGE = 50_000;

export const levelOrder = (system: StoredSystem) => new Map(system.levels.map((l) => [l.key, l.order]));

/**
 * Re-assigns, inside a grid change's transaction, exactly the addresses the change can affect: those in
 * the changed bbox, and those placed by distance within reach of it. Only addresses whose grid or status
 * changes are written.
 */
export function reassignOnGridChange(deps: { store: (tx?: Tx) => AddressQueries; changes: ChangeBus }): GridChangeHook {
  const { store, changes } = deps;
  return async (trx, system, bbox) => {
    const q = store(trx);
    await q.lockExclusive();
    await q.bumpGeneration(system.id);
    const reachM = bbox ? await q.maxNearest() : 0;
    const reach = bbox && reachM > 0 ? widen(bbox, reachM) : null;
    // Read once the first page shows addresses to place: an import of a system where no address lies reads
    // no grid back (issue #15: a 1 GB import read its 43 M vertices again at the end of its transaction).
    let index: GridIndex | null = null;
    const touched = new Set<string>();
    let changedBbox: Bbox | null = null;
    let after = 0;
    for (;;) {
      const page = await q.placed(system.id, bbox, reach, after, PAGE);
      if (page.length === 0) break;
      index ??= new GridIndex(await q.indexGrids(system.id, levelOrder(system), bbox ? widen(bbox, 2 * reachM) : null));
      const updates: { id: number; code: string | null; note: StatusNote | null }[] = [];
      const assigned = index.assignAll(page);
      for (const [i, address] of page.entries()) {
        const a = assigned[i] ?? null;
        const code = a?.code ?? null;
        const note = a ? noteOf(a) : null;
        if (sameAssignment(address, code, note)) continue;
        updates.push({ id: address.id, code, note });
        if (code) touched.add(code);
        if (address.code) touched.add(address.code);
        changedBbox = extend(changedBbox, address.lon, address.lat);
      }
      await q.setAssignments(system.id, updates);
      if (page.length < PAGE) break;
      after = page.reduce((m, p) => Math.max(m, p.id), after);
    }
    if (touched.size > 0) await changes.publish(trx, { kind: 'addresses', system: system.key, codes: [...touched], bbox: changedBbox });
  };
}

/**
 * Re-assigns a whole system's addresses, in the PATCH's transaction, when its settings change what an
 * address is assigned to: the levels' order decides which covering grid is the finest (issue #16).
 * Other settings (names, code scheme, household ranges) leave every assignment as it is: nothing runs.
 */
export function reassignOnSettingsChange(onGridChange: GridChangeHook) {
  return async (trx: Tx, before: StoredSystem, after: StoredSystem): Promise<void> => {
    const order = (s: StoredSystem) => JSON.stringify([...levelOrder(s)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (order(before) === order(after)) return;
    await onGridChange(trx, after, null, []);
  };
}
