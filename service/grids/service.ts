import type { Feature } from 'geojson';
import type { ChangeBus } from '../db/changes';
import type { Transact, Tx } from '../db/tx';
import { badRequest, conflict, notFound } from '../errors';
import { unionBbox, type Bbox, type GeometryIssue, type Grid, type StoredSystem } from '../kernel/types';
import type { SystemService } from '../systems';
import { gridToFeature, rejectFeatures } from './features';
import { importGrids, type ImportOptions, type ImportResult } from './import';
import { checkStructure, parseGridFeatures, readPatchBody } from './input';
import { renumberChildren, type RenumberResult } from './renumber';
import type { GridFilter, GridQueries } from './store';

/**
 * Work that must happen in the same transaction as a change to grids, e.g. re-assigning the addresses
 * the changed area can affect (issue #5), or recording grid history (issue #14). `bbox` covers old and
 * new geometries; null means the system. `codes` are the changed grids' codes, old and new; empty means
 * the whole system.
 */
export interface GridChangeHook {
  (tx: Tx, system: StoredSystem, bbox: Bbox | null, codes: string[]): Promise<void>;
}

/**
 * One step of `applyOperations`: create a grid from an import-style Feature, patch one (the PATCH body:
 * properties and/or geometry; `properties.code` recodes), or remove one. `expectedVersion` guards
 * against a grid that changed since the caller read it.
 */
export type GridOperation =
  | { op: 'create'; feature: Feature }
  | { op: 'patch'; code: string; body: { properties?: Record<string, unknown>; geometry?: unknown }; expectedVersion: number | null }
  | { op: 'remove'; code: string; expectedVersion: number | null };

export interface GridServiceDeps {
  transact: Transact;
  /** The grid store of one system, on the pool or inside a transaction. */
  store: (system: StoredSystem, tx?: Tx) => GridQueries;
  systems: SystemService;
  changes: ChangeBus;
  hooks?: GridChangeHook[];
}

/** What every write path (import, put, patch, renumber, remove) shares inside its transaction. */
export interface GridWriteContext extends GridServiceDeps {
  /** Runs the change hooks and announces the change; call once per write, inside its transaction. */
  changed(tx: Tx, system: StoredSystem, codes: string[], bbox: Bbox | null): Promise<void>;
}

export function createGridService(deps: GridServiceDeps) {
  const { transact, store, systems, changes } = deps;
  const write: GridWriteContext = {
    ...deps,
    async changed(tx, system, codes, bbox) {
      for (const hook of deps.hooks ?? []) await hook(tx, system, bbox, codes);
      await changes.publish(tx, { kind: 'grids', system: system.key, codes, bbox });
    },
  };

  async function withSystem<T>(key: string, fn: (system: StoredSystem, q: GridQueries) => Promise<T>): Promise<T> {
    const system = await systems.require(key);
    return fn(system, store(system));
  }

  async function requireGrid(q: GridQueries, system: string, code: string) {
    const g = await q.get(code);
    if (!g) throw notFound('grid_not_found', `grid "${code}" does not exist in system "${system}"`);
    return g;
  }

  return {
    async list(key: string, filter: GridFilter): Promise<Grid[]> {
      return withSystem(key, async (system, q) => {
        if (filter.level && !system.levels.some((l) => l.key === filter.level)) {
          throw badRequest('unknown_level', `level "${filter.level}" is not defined by system ${key}; expected one of ${system.levels.map((l) => l.key).join(', ')}`);
        }
        return q.list(filter);
      });
    },

    async get(key: string, code: string): Promise<Grid> {
      return withSystem(key, (_s, q) => requireGrid(q, key, code));
    },

    async children(key: string, code: string): Promise<Grid[]> {
      return withSystem(key, async (_s, q) => {
        await requireGrid(q, key, code);
        return q.list({ parent: code });
      });
    },

    async ancestors(key: string, code: string): Promise<Grid[]> {
      return withSystem(key, async (_s, q) => {
        await requireGrid(q, key, code);
        return q.ancestors(code);
      });
    },

    async subtree(key: string, code: string): Promise<Grid[]> {
      return withSystem(key, async (_s, q) => {
        const root = await requireGrid(q, key, code);
        return [root, ...(await q.subtree(code))];
      });
    },

    /** Imports features atomically; `features` may be streamed (a whole-country file never sits in memory). */
    async import(key: string, features: Iterable<unknown> | AsyncIterable<unknown>, options: ImportOptions): Promise<ImportResult> {
      return importGrids(write, await systems.require(key), features, options);
    },

    /** Creates or replaces one grid (PUT). `expectedVersion` enables optimistic concurrency. */
    async put(key: string, code: string, body: unknown, options: { repair: boolean; expectedVersion: number | null }): Promise<{ grid: Grid; created: boolean }> {
      const system = await systems.require(key);
      const feature = { ...(body as object) } as Feature;
      if (!feature || feature.type !== 'Feature') throw badRequest('invalid_geojson', 'expected a GeoJSON Feature');
      const props = { ...(feature.properties ?? {}) } as Record<string, unknown>;
      if (props.code !== undefined && String(props.code) !== code) {
        throw badRequest('code_mismatch', `properties.code "${String(props.code)}" differs from the code in the URL "${code}"; rename with PATCH`);
      }
      props.code = code;
      const parsed = parseOne(system, code, { ...feature, properties: props });
      return transact((tx) => writeIn(tx, system, code, parsed, options, 'put'));
    },

    /** Changes some fields of one grid (PATCH): properties given replace those stored; geometry optional. */
    async patch(key: string, code: string, body: unknown, options: { repair: boolean; expectedVersion: number | null }): Promise<Grid> {
      const system = await systems.require(key);
      return transact(async (tx) => (await patchIn(tx, system, code, body, options)).grid);
    },

    /**
     * Patches several grids of one system in one transaction: all or none (a fix moving a boundary
     * between two grids must never land half-way).
     */
    async patchMany(key: string, patches: { code: string; body: unknown }[], options: { repair: boolean }): Promise<Grid[]> {
      const system = await systems.require(key);
      return transact(async (tx) => {
        const out: Grid[] = [];
        for (const p of patches) out.push((await patchIn(tx, system, p.code, p.body, { repair: options.repair, expectedVersion: null })).grid);
        return out;
      });
    },

    /**
     * Applies several creates, patches and removes to one system as one change (issue #14): every write in
     * one transaction, the change hooks run once over all of them. Pass `tx` to join a caller's
     * transaction (a changeset is marked applied in the same one) with the system already read, since
     * the pool may have no second connection (PGlite); creates should come parents first.
     */
    async applyOperations(systemOrKey: string | StoredSystem, ops: GridOperation[], options: { tx?: Tx } = {}): Promise<{ codes: string[] }> {
      const system = typeof systemOrKey === 'string' ? await systems.require(systemOrKey) : systemOrKey;
      const key = system.key;
      const run = async (tx: Tx) => {
        const q = store(system, tx);
        const codes = new Set<string>();
        let bbox: Bbox | null = null;
        for (const op of ops) {
          if (op.op === 'remove') {
            const current = await requireGrid(q, key, op.code);
            if (op.expectedVersion !== null && op.expectedVersion !== current.version) {
              throw conflict('version_conflict', `grid ${op.code} is at version ${current.version}, not ${op.expectedVersion}; reload and retry`);
            }
            bbox = unionBbox(bbox, await q.bboxOf([op.code]));
            await q.remove([op.code]);
            codes.add(op.code);
            continue;
          }
          const written =
            op.op === 'create'
              ? await writeIn(tx, system, String(op.feature.properties?.code), parseOne(system, String(op.feature.properties?.code), op.feature), { repair: false, expectedVersion: null }, 'put', null, false)
              : await patchIn(tx, system, op.code, op.body, { repair: false, expectedVersion: op.expectedVersion }, false);
          bbox = unionBbox(bbox, written.bbox);
          for (const c of written.codes) codes.add(c);
        }
        await write.changed(tx, system, [...codes], bbox);
        return { codes: [...codes] };
      };
      return options.tx ? run(options.tx) : transact(run);
    },

    async renumber(key: string, code: string, options: { dryRun: boolean }): Promise<RenumberResult> {
      return renumberChildren(write, await systems.require(key), code, options);
    },

    async remove(key: string, code: string, options: { cascade: boolean; expectedVersion: number | null }): Promise<{ deleted: string[] }> {
      const system = await systems.require(key);
      return transact(async (tx) => {
        const q = store(system, tx);
        const current = await requireGrid(q, key, code);
        if (options.expectedVersion !== null && options.expectedVersion !== current.version) {
          throw conflict('version_conflict', `grid ${code} is at version ${current.version}, not ${options.expectedVersion}; reload and retry`);
        }
        const below = await q.subtree(code);
        if (below.length > 0 && !options.cascade) {
          throw conflict('grid_has_children', `grid ${code} has ${below.length} descendant grid(s); delete them first or pass cascade=true`, {
            children: below.filter((g) => g.parentCode === code).map((g) => g.code),
          });
        }
        const codes = [code, ...below.map((g) => g.code)];
        const bbox = await q.bboxOf(codes);
        await q.remove(codes);
        await write.changed(tx, system, codes, bbox);
        return { deleted: codes };
      });
    },
  };

  function parseOne(system: StoredSystem, code: string, feature: unknown) {
    const parsed = parseGridFeatures(system, [feature]);
    if (parsed.errors.length > 0) rejectFeatures(parsed.errors, `grid ${code} rejected`);
    return parsed.grids[0]!;
  }

  async function patchIn(tx: Tx, system: StoredSystem, code: string, body: unknown, options: { repair: boolean; expectedVersion: number | null }, announce = true) {
    const current = await requireGrid(store(system, tx), system.key, code);
    const b = readPatchBody(body, code);
    const merged = {
      ...gridToFeature(current).properties,
      geometry_issues: undefined,
      ...b.properties,
    } as Record<string, unknown>;
    const feature = { type: 'Feature', properties: merged, geometry: b.geometry ?? current.geometry };
    const expectedVersion = options.expectedVersion ?? (typeof b.properties.version === 'number' ? b.properties.version : null) ?? b.version ?? null;
    const geometryChanged = b.geometry !== undefined;
    const parsed = parseOne(system, code, feature);
    return writeIn(tx, system, code, parsed, { repair: options.repair, expectedVersion }, 'patch', geometryChanged ? null : current.geometryIssues, announce);
  }

  async function writeIn(
    tx: Tx,
    system: StoredSystem,
    code: string,
    g: ReturnType<typeof parseOne>,
    options: { repair: boolean; expectedVersion: number | null },
    verb: 'put' | 'patch',
    keepIssues: GeometryIssue[] | null = null,
    announce = true,
  ): Promise<{ grid: Grid; created: boolean; codes: string[]; bbox: Bbox | null }> {
    const q = store(system, tx);
    const current = await q.get(code);
    if (!current && verb === 'patch') throw notFound('grid_not_found', `grid "${code}" does not exist in system "${system.key}"`);
    if (current && options.expectedVersion !== null && options.expectedVersion !== current.version) {
      throw conflict('version_conflict', `grid ${code} is at version ${current.version}, not ${options.expectedVersion}; reload and retry`);
    }
    if (g.code !== code) {
      if (await q.get(g.code)) throw conflict('duplicate_code', `code ${g.code} already exists in system ${system.key}`);
    }
    const parentLevels = g.parentCode ? await q.levelsOf([g.parentCode]) : new Map<string, string>();
    const structure = checkStructure(system, [g], parentLevels);
    if (structure.length > 0) rejectFeatures(structure, `grid ${code} rejected`);
    if (current && g.level !== current.level && (await q.hasChildren(code))) {
      throw conflict('grid_has_children', `grid ${code} has children; its level cannot change from ${current.level} to ${g.level}`);
    }
    let issues = g.geometryIssues;
    if (keepIssues) {
      issues = keepIssues;
    } else {
      const invalid = (await q.invalidity([JSON.stringify(g.geometry)])).get(0);
      if (invalid) issues = [...issues, { ...invalid, ...(options.repair ? { repaired: true } : {}) }];
    }
    const row = { ...g, geometryIssues: issues };
    const bboxBefore = current ? await q.bboxOf([code]) : null;
    if (current) {
      const id = await q.update(code, row, options.repair && !keepIssues, options.expectedVersion);
      if (id === null) throw conflict('version_conflict', `grid ${code} changed while it was being written; reload and retry`);
    } else {
      await q.insertMany([row], options.repair);
    }
    const bbox = unionBbox(bboxBefore, await q.bboxOf([g.code]));
    const codes = [...new Set([code, g.code])];
    if (announce) await write.changed(tx, system, codes, bbox);
    return { grid: (await q.get(g.code))!, created: !current, codes, bbox };
  }
}

export type GridService = ReturnType<typeof createGridService>;
