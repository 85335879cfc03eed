import type { MultiPolygon, Polygon } from 'geojson';
import type { ChangeBus } from '../db/changes';
import type { Queryable } from '../db/tx';
import { AppError, badRequest, notFound } from '../errors';
import { extendBox, tabulate, type ArrangedFace, type FaceRef, type OverlayMeta, type OverlayReport } from '../geometry/overlay/index';
import { seesWholeSystem, type AreaScope } from '../kernel/scope';
import type { Logger } from '../logger';
import type { SingleRun } from '../ops';
import { computeFaces } from './compute';
import { requireLevel, requireOverlaySystem, resolvePolicy, type PolicyInput } from './service';
import { createOverlayStore, type StoredOverlaySystem } from './store';
import { createStoredOverlayStore, inStoredTransaction, type GridText, type NewFace, type PendingChange, type StoredFaceRow, type StoredRequest, type StoredResult } from './stored-store';

export interface StoreOverlayInput {
  territory: { system: string; code: string };
  systems: { key: string; level?: string }[];
  units?: { system?: string; level?: string };
  policy?: PolicyInput;
}

export interface StoredOverlaySummary {
  id: number;
  territory: { system: string; code: string };
  systems: { key: string; level: string }[];
  units: { system: string; level: string };
  updatedAt: string;
}

/** A stored overlay's report, as the report route answers, with which stored overlay and when. */
export type StoredOverlayReport = OverlayReport & { stored: { id: number; updatedAt: string } };

/** The last incremental update (tests, benchmark): how long it took and how many units it re-arranged. */
export interface UpdateRecord {
  result: number;
  mode: 'units' | 'whole';
  units: number;
  ms: number;
}

interface Resolved {
  request: StoredRequest;
  territorySystem: StoredOverlaySystem;
  unitSystem: StoredOverlaySystem;
  participants: { system: StoredOverlaySystem; level: string }[];
}

/** A face in a table that needs no geometry (excess flags): the report's faces carry this instead. */
const NO_GEOMETRY: MultiPolygon = { type: 'MultiPolygon', coordinates: [] };

/**
 * Stored overlays (issue #13 item 9): an overlay request kept with its faces, served as a tile layer and as
 * a report without recomputation, and kept current through the change bus: after a grid of a system the
 * overlay reads changes, only the units (communities/villages) whose faces or extent meet the change's box
 * (old and new extent) are re-arranged. A face never crosses a unit's boundary and the territory, hence the
 * integer frame and the area measure, is the same, so those units' new faces are exactly the ones a full
 * arrangement would give; the tables are re-tabulated over all faces (no geometry). A change to the
 * territory grid itself, to a whole system, or reaching the part of the territory outside every unit
 * re-arranges the whole overlay.
 */
export function createStoredOverlays(deps: {
  knex: Queryable;
  changes: ChangeBus;
  logger: Logger;
  singleRun?: SingleRun;
  /** How long a process waits before applying a change another process made (and should have applied). */
  takeoverMs?: number;
}) {
  const { changes, logger, singleRun } = deps;
  const overlayStore = createOverlayStore(deps.knex);
  const store = createStoredOverlayStore(deps.knex);
  let running: Promise<void> = Promise.resolve();
  let pending = 0;
  /** A pass over the recorded changes is queued and not yet started: another would find nothing more. */
  let queued = false;
  const takeovers = new Set<NodeJS.Timeout>();
  let last: UpdateRecord | null = null;
  /** Resolved requests of stored overlays, by id; a change to any system's definition clears it. */
  const resolvedCache = new Map<number, Resolved>();

  const requireSystem = (key: string, field: string) => requireOverlaySystem(overlayStore, key, field);

  async function resolve(input: StoreOverlayInput): Promise<Resolved> {
    if (input.systems.length === 0) throw badRequest('invalid_request', 'systems: name at least one grid system to overlay');
    const territorySystem = await requireSystem(input.territory.system, 'territory.system');
    const unitSystem = input.units?.system ? await requireSystem(input.units.system, 'units.system') : territorySystem;
    const unitLevel = requireLevel(unitSystem, input.units?.level, 'units.level', 'unit');
    const participants = [];
    for (const [k, s] of input.systems.entries()) {
      const system = await requireSystem(s.key, `systems[${k}].key`);
      participants.push({ system, level: requireLevel(system, s.level, `systems[${k}].level`, 'finest') });
    }
    return {
      request: {
        territory: { system: territorySystem.key, code: input.territory.code },
        systems: participants.map((p) => ({ key: p.system.key, level: p.level })),
        units: { system: unitSystem.key, level: unitLevel },
        policy: resolvePolicy(input.policy),
      },
      territorySystem,
      unitSystem,
      participants,
    };
  }

  /** Storing or removing an overlay is for callers who see every system it reads whole (a standing, shared result). */
  function requireWhole(scope: AreaScope, r: Resolved): void {
    for (const system of [r.territorySystem, r.unitSystem, ...r.participants.map((p) => p.system)]) {
      if (!seesWholeSystem(scope, system.key)) throw new AppError(403, 'out_of_scope', `a stored overlay reads the whole of system ${system.key}, which is not all in your area`);
    }
  }

  /**
   * Which units of a stored overlay a caller may read: null = all. Bank systems are internal to their bank
   * (DOMAIN.md "Access and privacy"), so each one taking part must be wholly in scope; the units are those
   * under the caller's roots, or all when a root contains the territory.
   */
  async function unitsFor(scope: AreaScope, r: Resolved): Promise<Set<string> | null> {
    if (scope === 'all') return null;
    for (const { system } of r.participants) {
      if (system.kind === 'bank' && !seesWholeSystem(scope, system.key)) throw new AppError(403, 'out_of_scope', `bank system ${system.key} takes part in this overlay and is internal to its bank`);
    }
    const path = await store.path(r.territorySystem.key, r.request.territory.code);
    if (scope.some((root) => root.system === r.territorySystem.key && (root.code === undefined || path.includes(root.code)))) return null;
    const roots = scope.filter((root) => root.system === r.unitSystem.key);
    if (roots.some((root) => root.code === undefined)) return null;
    const allowed = await overlayStore.subtreeCodes(r.unitSystem.id, roots.map((root) => root.code!));
    if (allowed.size === 0) throw new AppError(403, 'out_of_scope', `territory ${r.territorySystem.key}/${r.request.territory.code} lies outside the area you may see`);
    return allowed;
  }

  const where = (r: Resolved) => ({ systemId: r.territorySystem.id, code: r.request.territory.code });

  /** The faces of the whole overlay, or of some of its units (`unitCodes`), arranged afresh. */
  async function arrange(r: Resolved, unitCodes: string[] | null): Promise<{ faces: ArrangedFace[]; units: GridText[]; meta: Omit<OverlayMeta, 'units'> }> {
    const territory = await overlayStore.grid(r.territorySystem.id, r.request.territory.code);
    if (!territory) throw notFound('grid_not_found', `territory: grid "${r.request.territory.code}" does not exist in system ${r.territorySystem.key}`);
    // A re-arrangement reads only the units it re-arranges (some may lie outside the territory: the
    // arrangement clips them to it) and asks of those alone whether they lie inside it.
    const units = unitCodes === null ? await store.gridTexts(r.unitSystem.id, r.request.units.level, where(r)) : await store.gridTextsOf(r.unitSystem.id, r.request.units.level, unitCodes);
    const sameSystem = r.unitSystem.id === r.territorySystem.id;
    const inside = !sameSystem ? new Set<string>() : unitCodes === null ? await overlayStore.subtreeCodes(r.territorySystem.id, [territory.code]) : await store.under(r.territorySystem.id, territory.code, unitCodes);
    const layers: GridText[][] = [];
    if (unitCodes === null) for (const { system, level } of r.participants) layers.push(await store.gridTexts(system.id, level, where(r)));
    else {
      layers.push(...(await store.gridTextsNear(r.participants.map((p) => ({ systemId: p.system.id, level: p.level })), { systemId: r.unitSystem.id, codes: unitCodes })));
    }
    const systems = r.participants.map(({ system }, k) => ({ key: system.key, name: system.name, grids: layers[k].map((g) => ({ system: system.key, code: g.code, name: g.name, geometry: g.geometry })) }));
    const faces = await computeFaces({
      territory: { system: r.territorySystem.key, code: territory.code, name: territory.name, geometry: territory.geometry },
      units: units.map((u) => ({ code: u.code, name: u.name, type: u.type, geometry: u.geometry })),
      systems,
      options: { within: units.map((u) => inside.has(u.code)), unitsOnly: unitCodes !== null },
    });
    return {
      faces,
      units,
      meta: { territory: { system: r.territorySystem.key, code: territory.code, name: territory.name }, systems: systems.map((s) => ({ key: s.key, name: s.name, grids: s.grids.length })), policy: r.request.policy },
    };
  }

  /**
   * New faces with their excess flags: the policy's rules are per unit (depth of a face, overlapped share of
   * its unit), so the faces of the units re-arranged are flagged from those units alone.
   */
  function flagged(meta: Omit<OverlayMeta, 'units'>, units: readonly GridText[], faces: ArrangedFace[]): NewFace[] {
    const { report, order } = tabulate({ ...meta, units }, faces);
    const excess = new Set(report.excess.flatMap((e) => e.faces));
    const flags = new Array<boolean>(faces.length).fill(false);
    report.faces.forEach((f, k) => (flags[order[k]] = excess.has(f.id)));
    return faces.map((f, k) => ({ unit: f.unit, depth: depthOf(f.grids), grids: f.grids, excess: flags[k], area_m2: f.area_m2, geometry: JSON.stringify(f.geometry) }));
  }

  const depthOf = (grids: FaceRef[]) => new Set(grids.map((g) => g.system)).size;

  async function writeWhole(r: Resolved, id: number | null, applied: readonly number[] = []): Promise<number> {
    const { faces, units, meta } = await arrange(r, null);
    const rows = flagged(meta, units, faces);
    const systemIds = [...new Set([r.territorySystem.id, r.unitSystem.id, ...r.participants.map((p) => p.system.id)])];
    return inStoredTransaction(deps.knex, async (tx) => {
      const resultId = id ?? (await tx.upsertResult(keyOf(r.request), r.request, r.territorySystem.id, systemIds));
      await tx.replaceFaces(resultId, 'all', rows);
      await tx.dropPending(applied);
      await tx.touch(resultId);
      await changes.publish(tx.handle, { kind: 'overlays', system: r.territorySystem.key, codes: [String(resultId)], bbox: null });
      return resultId;
    });
  }

  /**
   * Applies the changes recorded for a stored overlay (stored-store.ts `recordChange`, written in each grid
   * write's transaction) and removes them in the transaction that writes the faces: a process that stops
   * midway leaves them for the next pass, of any process.
   */
  async function update(result: StoredResult, recorded: PendingChange[]): Promise<void> {
    const started = performance.now();
    const applied = recorded.map((c) => c.id);
    let r = resolvedCache.get(result.id);
    if (!r) {
      try {
        r = await resolve(result.request);
      } catch (err) {
        // A system it reads was removed: the overlay cannot be brought up to date, and retrying will not help.
        if (!(err instanceof AppError && err.status === 404)) throw err;
        logger.error({ result: result.id, err: err.message }, 'stored overlay reads a system that no longer exists');
        await inStoredTransaction(deps.knex, (tx) => tx.dropPending(applied));
        return;
      }
      resolvedCache.set(result.id, r);
    }
    const territoryChanged = recorded.some((c) => c.system === r.territorySystem.key && c.codes.includes(r.request.territory.code));
    if (territoryChanged || recorded.some((c) => c.bbox === null || c.codes.length === 0)) {
      await writeWhole(r, result.id, applied);
      last = { result: result.id, mode: 'whole', units: -1, ms: performance.now() - started };
      return;
    }
    const bbox = recorded.map((c) => c.bbox!).reduce((a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])]);
    // The units whose faces meet the box (old extent) or which meet it now (new extent).
    const touched = new Set<string | null>(await store.unitsTouched(result.id, r.unitSystem.id, r.request.units.level, bbox));
    if (touched.size === 0) {
      await inStoredTransaction(deps.knex, (tx) => tx.dropPending(applied));
      return;
    }
    if (touched.has(null)) {
      await writeWhole(r, result.id, applied);
      last = { result: result.id, mode: 'whole', units: -1, ms: performance.now() - started };
      return;
    }
    const codes = [...touched] as string[];
    const { faces, units, meta } = await arrange(r, codes);
    const rows = flagged(meta, units, faces);
    const box = boundsOf(faces, bbox);
    await inStoredTransaction(deps.knex, async (tx) => {
      await tx.replaceFaces(result.id, codes, rows);
      await tx.dropPending(applied);
      await tx.touch(result.id);
      await changes.publish(tx.handle, { kind: 'overlays', system: r.territorySystem.key, codes: [String(result.id)], bbox: box });
    });
    last = { result: result.id, mode: 'units', units: codes.length, ms: performance.now() - started };
    logger.debug({ result: result.id, units: codes.length, faces: faces.length, changes: recorded.length, ms: Math.round(last.ms) }, 'stored overlay updated');
  }

  /** One pass: every stored overlay with recorded changes, each under its lease (two processes never interleave one). */
  async function catchUp(): Promise<void> {
    for (const id of await store.pendingResults()) {
      const work = async () => {
        // Read under the lease: another process may have applied them meanwhile.
        const [result, recorded] = await Promise.all([store.result(id), store.pendingOf(id)]);
        if (result && recorded.length) await update(result, recorded);
      };
      await (singleRun ? singleRun.exclusive(`overlay-result:${id}`, work) : work()).catch((err) =>
        logger.error({ result: id, err: (err as Error).message }, 'stored overlay update failed; its changes stay recorded for the next pass'),
      );
    }
  }

  function enqueue(work: () => Promise<void>): void {
    pending++;
    running = running
      .then(work)
      .catch((err) => logger.error({ err: (err as Error).message }, 'stored overlays: changes not applied'))
      .finally(() => void pending--);
  }

  function schedule(): void {
    if (queued) return;
    queued = true;
    enqueue(() => {
      queued = false;
      return catchUp();
    });
  }

  const unsubscribe = changes.on((event) => {
    if (event.kind === 'system') resolvedCache.clear();
    if (event.kind !== 'grids' && event.kind !== 'system') return;
    if (event.origin !== changes.origin) {
      // Its maker applies it (and then its reader sees its own edit); this process takes over what is
      // still recorded after a delay, i.e. only from a maker that stopped first.
      const t = setTimeout(() => {
        takeovers.delete(t);
        schedule();
      }, deps.takeoverMs ?? 2000);
      takeovers.add(t);
      return;
    }
    // A system's definition changes outside the grid write path: recorded here, after its commit.
    if (event.kind === 'system') enqueue(() => store.recordSystemChange(event.system));
    schedule();
  });
  // Changes recorded while no process applied them (the maker stopped first) are caught up at start.
  schedule();

  return {
    /** Stores (or re-computes) the overlay of a request; the caller must see every system it reads whole. */
    async create(input: StoreOverlayInput, scope: AreaScope): Promise<StoredOverlaySummary> {
      const r = await resolve(input);
      requireWhole(scope, r);
      const id = await writeWhole(r, null);
      return summaryOf((await store.result(id))!);
    },

    async list(scope: AreaScope): Promise<StoredOverlaySummary[]> {
      const out: StoredOverlaySummary[] = [];
      for (const result of await store.results()) {
        const readable = await resolve(result.request)
          .then((r) => unitsFor(scope, r))
          .then(
            () => true,
            () => false,
          );
        if (readable) out.push(summaryOf(result));
      }
      return out;
    },

    /** The stored report, cut to the caller's units; `geometry` false leaves the faces' shapes out (tables only). */
    async report(id: number, scope: AreaScope, geometry: boolean): Promise<StoredOverlayReport> {
      const result = await store.result(id);
      if (!result) throw notFound('overlay_not_found', `stored overlay ${id} does not exist`);
      const r = await resolve(result.request);
      const allowed = await unitsFor(scope, r);
      const rows = await store.faces(id, { geometry });
      const visible = allowed === null ? rows : rows.filter((f) => f.unit !== null && allowed.has(f.unit));
      // The units and grids the report names are those of its faces: no spatial query on the read path.
      const unitCodes = [...new Set(visible.flatMap((f) => (f.unit === null ? [] : [f.unit])))];
      const [units, [territory]] = await Promise.all([store.namesOf(r.unitSystem.id, unitCodes), store.namesOf(r.territorySystem.id, [r.request.territory.code])]);
      const covering = new Map(r.participants.map(({ system }) => [system.key, new Set<string>()]));
      for (const f of rows) for (const g of f.grids) covering.get(g.system)?.add(g.code);
      const meta: OverlayMeta = {
        territory: { system: r.territorySystem.key, code: r.request.territory.code, name: territory?.name ?? r.request.territory.code },
        units,
        systems: r.participants.map(({ system }) => ({ key: system.key, name: system.name, grids: covering.get(system.key)!.size })),
        policy: r.request.policy,
      };
      const { report } = tabulate(meta, visible.map((f) => faceOf(f)));
      return { ...report, stored: { id, updatedAt: result.updatedAt } };
    },

    async remove(id: number, scope: AreaScope): Promise<void> {
      const result = await store.result(id);
      if (!result) throw notFound('overlay_not_found', `stored overlay ${id} does not exist`);
      requireWhole(scope, await resolve(result.request));
      await inStoredTransaction(deps.knex, async (tx) => {
        await tx.removeResult(id);
        await changes.publish(tx.handle, { kind: 'overlays', system: result.request.territory.system, codes: [String(id)], bbox: null });
      });
    },

    /** Resolves when the updates of the changes heard so far are written. */
    async settled(): Promise<void> {
      while (pending > 0) await running;
    },

    /** The last update made, for tests and the benchmark. */
    lastUpdate: (): UpdateRecord | null => last,

    /** Stops listening and drops take-overs not yet due; recorded changes stay for the next process. */
    stop(): void {
      unsubscribe();
      for (const t of takeovers) clearTimeout(t);
      takeovers.clear();
    },
  };
}

export type StoredOverlays = ReturnType<typeof createStoredOverlays>;

function summaryOf(result: StoredResult): StoredOverlaySummary {
  const { territory, systems, units } = result.request;
  return { id: result.id, territory, systems, units, updatedAt: result.updatedAt };
}

/** One stored overlay per resolved request: the same territory, systems and levels, units and policy. */
function keyOf(request: StoredRequest): string {
  return JSON.stringify([request.territory, request.systems, request.units, request.policy]);
}

function faceOf(f: StoredFaceRow): ArrangedFace {
  return { unit: f.unit, grids: f.grids, area_m2: f.area_m2, geometry: f.geometry ? (JSON.parse(f.geometry) as Polygon | MultiPolygon) : NO_GEOMETRY };
}

/** The box of the re-arranged faces and of the change (old extents of the units lie in their new union). */
function boundsOf(faces: ArrangedFace[], bbox: [number, number, number, number]): [number, number, number, number] {
  const box: [number, number, number, number] = [...bbox];
  for (const f of faces) extendBox(box, f.geometry);
  return box;
}
