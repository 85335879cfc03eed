import type { ChangeBus } from '../db/changes';
import type { Transact, Tx } from '../db/tx';
import { conflict, notFound } from '../errors';
import type { GridSystem, StoredSystem } from '../kernel/types';
import { CreateSystemSchema, PatchSystemSchema } from './schema';
import type { SystemQueries } from './store';

export interface SystemSummary extends GridSystem {
  grids: number;
  gridsByLevel: Record<string, number>;
  bbox: [number, number, number, number] | null;
}

const publicSystem = ({ id: _id, ...s }: StoredSystem): GridSystem => s;

/**
 * Runs inside a system PATCH's transaction with the system before and after, so work that depends on the
 * settings (address assignment follows the levels' order, issue #16) happens in the same transaction.
 */
export type SystemSettingsHook = (tx: Tx, before: StoredSystem, after: StoredSystem) => Promise<void>;

export function createSystemService(deps: { transact: Transact; store: (tx?: Tx) => SystemQueries; changes: ChangeBus; onSettingsChange?: SystemSettingsHook[] }) {
  const { transact, store, changes } = deps;
  const queries = store();

  async function require(key: string): Promise<StoredSystem> {
    const s = await queries.get(key);
    if (!s) throw notFound('system_not_found', `grid system "${key}" does not exist`);
    return s;
  }

  return {
    require,

    /** The system, or null when it does not exist (background work on a system deleted meanwhile). */
    find: (key: string): Promise<StoredSystem | null> => queries.get(key),

    async list(): Promise<SystemSummary[]> {
      const [systems, counts] = await Promise.all([queries.list(), queries.levelCounts()]);
      return systems.map((s) => {
        const byLevel = counts.get(s.id) ?? {};
        return { ...publicSystem(s), grids: Object.values(byLevel).reduce((a, b) => a + b, 0), gridsByLevel: byLevel, bbox: null };
      });
    },

    async get(key: string): Promise<SystemSummary> {
      const s = await require(key);
      const counts = (await queries.levelCounts()).get(s.id) ?? {};
      return { ...publicSystem(s), grids: Object.values(counts).reduce((a, b) => a + b, 0), gridsByLevel: counts, bbox: await queries.bbox(s.id) };
    },

    async create(body: unknown): Promise<GridSystem> {
      const input = CreateSystemSchema.parse(body);
      return transact(async (trx) => {
        const q = store(trx);
        if (await q.get(input.key)) throw conflict('system_exists', `grid system "${input.key}" already exists`);
        const created = await q.insert(input);
        await changes.publish(trx, { kind: 'system', system: created.key, codes: [], bbox: null });
        return publicSystem(created);
      });
    },

    async patch(key: string, body: unknown, ifMatch: number | null): Promise<GridSystem> {
      const input = PatchSystemSchema.parse(body);
      const expected = input.version ?? ifMatch;
      return transact(async (trx) => {
        const q = store(trx);
        const current = await q.getForUpdate(key);
        if (!current) throw notFound('system_not_found', `grid system "${key}" does not exist`);
        if (expected !== null && expected !== undefined && expected !== current.version) {
          throw conflict('version_conflict', `grid system "${key}" is at version ${current.version}, not ${expected}; reload and retry`);
        }
        if (input.levels) {
          const kept = new Set(input.levels.map((l) => l.key));
          const inUse = await q.levelsInUse(current.id);
          const dropped = inUse.filter((l) => !kept.has(l));
          if (dropped.length > 0) {
            throw conflict('level_in_use', `levels ${dropped.join(', ')} still have grids in system "${key}"; move or delete them first`, { levels: dropped });
          }
        }
        const updated = await q.update(current.id, {
          ...(input.name !== undefined && { name: input.name }),
          ...(input.kind !== undefined && { kind: input.kind }),
          ...(input.description !== undefined && { description: input.description ?? null }),
          ...(input.levels !== undefined && { levels: input.levels }),
          ...(input.overlapPolicy !== undefined && { overlapPolicy: input.overlapPolicy }),
          ...(input.codeScheme !== undefined && { codeScheme: input.codeScheme }),
        });
        for (const hook of deps.onSettingsChange ?? []) await hook(trx, current, updated);
        await changes.publish(trx, { kind: 'system', system: key, codes: [], bbox: null });
        return publicSystem(updated);
      });
    },

    async remove(key: string): Promise<void> {
      await transact(async (trx) => {
        const q = store(trx);
        const current = await q.getForUpdate(key);
        if (!current) throw notFound('system_not_found', `grid system "${key}" does not exist`);
        await q.remove(current.id);
        await changes.publish(trx, { kind: 'system', system: key, codes: [], bbox: null });
      });
    },
  };
}

export type SystemService = ReturnType<typeof createSystemService>;
