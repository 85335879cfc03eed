import type { ChangeBus } from '../db/changes';
import type { RegisterCounts } from '../domain/export';

export interface GridCounts {
  /** Per grid code, rolled up the tree; zero where a grid holds no address. */
  byCode: Map<string, RegisterCounts>;
  /** False when no address of the system is assigned to any grid: the counts then say nothing. */
  hasAddresses: boolean;
}

/**
 * The address statistics per grid of a system, computed once and kept until a change to the system's
 * grids or addresses arrives: the statistics cover the whole system, while a street's responsibility
 * maps and boards are asked for one after another.
 */
export function cachedCounts(compute: (system: string) => Promise<Map<string, RegisterCounts>>, changes: ChangeBus): (system: string) => Promise<GridCounts> {
  const cache = new Map<string, Promise<GridCounts>>();
  changes.on((event) => {
    if (event.kind === 'report') return;
    if (event.system === '') cache.clear();
    else cache.delete(event.system);
  });
  return (system) => {
    let entry = cache.get(system);
    if (!entry) {
      entry = compute(system).then((byCode) => ({ byCode, hasAddresses: [...byCode.values()].some((c) => c.addresses > 0) }));
      const failed = entry;
      failed.catch(() => {
        if (cache.get(system) === failed) cache.delete(system);
      });
      cache.set(system, entry);
    }
    return entry;
  };
}
