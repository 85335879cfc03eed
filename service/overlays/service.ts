import type { Queryable } from '../db/tx';
import type { JobContext, Jobs } from '../jobs';
import { AppError, badRequest, notFound } from '../errors';
import {
  alignGrids,
  arrangePrepared,
  prepareRequest,
  type ArrangedFace,
  areaTypeOf,
  checkBank,
  DEFAULT_POLICY,
  type AlignmentReport,
  type BankCheck,
  type OverlayGrid,
  type OverlayPolicy,
  type OverlayReport,
  type PreparedOverlay,
  tabulate,
} from '../geometry/overlay/index';
import { rootsIn, seesWholeSystem, type AreaScope } from '../kernel/scope';
import type { Logger } from '../logger';
import { DEFAULT_TARGETS, filingRates, parseLedger, type FilingCategory, type FilingReport } from './filing';
import { checkBankOutlets, parsePoints, type OutletCheck } from './points';
import { computeArrangement, inWorker } from './compute';
import { OverlayInputCache, type CachedInput } from './input-cache';
import { createOverlayStore, inOverlayTransaction, tagOf, type InputGrid, type OverlayGridRow, type OverlayRead, type ShapeRow, type StoredOverlaySystem, type VersionedSystem } from './store';

export interface PolicyInput {
  urban?: Partial<OverlayPolicy['urban']>;
  rural?: Partial<OverlayPolicy['rural']>;
  ruralTypes?: string[];
  areaTolerance?: number;
}

export interface OverlayRequest {
  territory: { system: string; code: string };
  systems: { key: string; level?: string }[];
  /** The governance units the report is broken down by; default: the territory's system, the level above its finest. */
  units?: { system?: string; level?: string };
  policy?: PolicyInput;
  mode: 'auto' | 'sync' | 'job';
}

export interface AlignmentRequest {
  a: string;
  b: string;
  aLevel?: string;
  bLevel?: string;
  threshold: number;
}

export interface BankCheckRequest {
  units: { system: string; level?: string };
  nestLevel?: string;
  threshold: number;
}

/** Overlays with more participating grids than this run as a job unless the caller waits (mode=sync). */
const JOB_THRESHOLD = 5000;

/** A system taking part in an overlay, or a 404 naming the request field that named it. */
export async function requireOverlaySystem(store: Pick<ReturnType<typeof createOverlayStore>, 'system'>, key: string, field: string): Promise<StoredOverlaySystem> {
  const system = await store.system(key);
  if (!system) throw notFound('system_not_found', `${field}: grid system "${key}" does not exist`);
  return system;
}

/** The level asked for, or the default: the finest, or for units the level above it (community/village above the grid, DOMAIN.md "Grid systems and levels"). */
export function requireLevel(system: StoredOverlaySystem, level: string | undefined, field: string, fallback: 'finest' | 'unit'): string {
  const levels = [...system.levels].sort((a, b) => a.order - b.order);
  if (level !== undefined) {
    if (!levels.some((l) => l.key === level)) throw badRequest('unknown_level', `${field}: "${level}" is not a level of system ${system.key}; expected one of ${levels.map((l) => l.key).join(', ')}`);
    return level;
  }
  if (levels.length === 0) throw badRequest('unknown_level', `${field}: system ${system.key} has no levels`);
  return fallback === 'finest' || levels.length === 1 ? levels[levels.length - 1]!.key : levels[levels.length - 2]!.key;
}

export function createOverlayService(deps: { knex: Queryable; jobs: Jobs; logger: Logger }) {
  const { jobs, logger } = deps;
  const store = createOverlayStore(deps.knex);

  const requireSystem = (key: string, field: string) => requireOverlaySystem(store, key, field);
  const cache = new OverlayInputCache();
  /** Shapes being kept (`keepShapes`), so `settled` can wait for them. */
  const keeping = new Set<Promise<void>>();

  /**
   * Keeps the shapes an arrangement made from grids read as GeoJSON (store.ts `saveShapes`, after the
   * report is answered, off its path), and puts them into the cached input in place of the text, so the
   * next request over it, in this process or after a restart, prepares nothing the grids have not changed.
   */
  function keepShapes(plan: Awaited<ReturnType<typeof planOf>>, read: { territory: InputGrid; units: InputGrid[]; layers: InputGrid[][] }, made: PreparedOverlay['shapes']): void {
    const rows: ShapeRow[] = [];
    const take = (grid: InputGrid, shape: Uint8Array | null, systemId: number) => {
      if (shape === null || grid.geometry instanceof Uint8Array) return;
      grid.geometry = shape;
      rows.push({ systemId, id: grid.row.id, xmin: grid.row.xmin, shape });
    };
    take(read.territory, made.territory, plan.territorySystem.id);
    read.units.forEach((u, k) => take(u, made.units[k] ?? null, plan.unitSystem.id));
    read.layers.forEach((layer, i) => layer.forEach((g, k) => take(g, made.grids[i]?.[k] ?? null, plan.participants[i]!.system.id)));
    if (rows.length === 0) return;
    const write = store.saveShapes(rows).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'overlay shapes not kept (the next overlay prepares them again)'));
    keeping.add(write);
    void write.finally(() => keeping.delete(write));
  }

  /**
   * Bank ledgers and grids are internal to their bank (DOMAIN.md "Access and privacy"): another bank's
   * staff never see them; a whole bank's system is aligned only by callers who see all of it.
   */
  function requireWholeBank(scope: AreaScope, system: StoredOverlaySystem, field: string): void {
    if (system.kind === 'bank' && !seesWholeSystem(scope, system.key)) {
      throw new AppError(403, 'out_of_scope', `${field}: bank system ${system.key} is internal to its bank; you may not see all of it`);
    }
  }

  /**
   * The units a caller may see (AreaScope, issue #10): null when the whole territory is in scope; else the
   * codes of the units under the caller's roots. A caller seeing none of them is refused.
   */
  async function unitsInScope(scope: AreaScope, territory: { system: StoredOverlaySystem; code: string }, unitSystem: StoredOverlaySystem, unitCodes: string[]): Promise<Set<string> | null> {
    if (scope === 'all') return null;
    for (const root of scope) {
      if (root.system !== territory.system.key) continue;
      if (root.code === undefined || (await store.subtreeCodes(territory.system.id, [root.code])).has(territory.code)) return null;
    }
    const roots = scope.filter((r) => r.system === unitSystem.key);
    if (roots.some((r) => r.code === undefined)) return null;
    const allowed = await store.subtreeCodes(unitSystem.id, roots.map((r) => r.code!));
    if (!unitCodes.some((c) => allowed.has(c))) {
      throw new AppError(403, 'out_of_scope', `territory ${territory.system.key}/${territory.code} lies outside the area you may see`);
    }
    return allowed;
  }

  /**
   * The systems and levels a request reads, the grid count of each layer when `maxGrids` is given, and its
   * input. With a cached input, one light statement tells whether its systems are unchanged; otherwise one
   * statement (store.ts `overlayRead`) reads systems, versions and input together, unless the layers hold
   * more than `maxGrids` grids.
   */
  async function planOf(request: OverlayRequest, maxGrids: number | null) {
    const unitKey = request.units?.system ?? request.territory.system;
    const keys = [request.territory.system, unitKey, ...request.systems.map((s) => s.key)];
    const key = JSON.stringify([request.territory, unitKey, request.units?.level ?? null, request.systems.map((s) => [s.key, s.level ?? null])]);
    const shape = { territory: { key: request.territory.system, code: request.territory.code }, units: { key: unitKey, level: request.units?.level ?? null }, layers: request.systems.map((s) => ({ key: s.key, level: s.level ?? null })) };
    const known = cache.versionsOf(key);
    let cached: CachedInput | null = null;
    let read: OverlayRead | null = null;
    let systems: Map<string, VersionedSystem>;
    if (known !== null) {
      systems = await store.systemsVersioned(keys);
      if (tagOf(keys, systems) === known) cached = cache.get(key, known);
    }
    if (!cached) {
      read = await store.overlayRead(shape, null, maxGrids);
      systems = read.systems;
    }
    const requireVersioned = (key: string, field: string) => {
      const system = systems.get(key);
      if (!system) throw notFound('system_not_found', `${field}: grid system "${key}" does not exist`);
      return system;
    };
    const territorySystem = requireVersioned(request.territory.system, 'territory.system');
    const unitSystem = request.units?.system ? requireVersioned(request.units.system, 'units.system') : territorySystem;
    const unitLevel = requireLevel(unitSystem, request.units?.level, 'units.level', 'unit');
    const participants = request.systems.map((s, k) => {
      const system = requireVersioned(s.key, `systems[${k}].key`);
      return { system, level: requireLevel(system, s.level, `systems[${k}].level`, 'finest') };
    });
    const versions = tagOf(keys, systems!);
    // The statement picks default levels as requireLevel does; only levels of equal order could differ, and
    // then what it read is not used.
    const same = read === null || (read.levels[0] === unitLevel && participants.every((p, k) => read.levels[k + 1] === p.level));
    let input = cached;
    if (read && same && read.input !== undefined) {
      if (read.input === null) throw notFound('grid_not_found', `territory: grid "${request.territory.code}" does not exist in system ${territorySystem.key}`);
      input = { rows: read.input, counts: maxGrids === null ? null : read.counts, prepared: null };
      cache.set(key, versions, input);
    }
    let counts = read && maxGrids !== null ? read.counts : (cached?.counts ?? null);
    if (maxGrids !== null && counts === null) {
      // A cached input read without its counts: the same statement gives them (it reads no input again).
      counts = (await store.overlayRead(shape, versions, maxGrids)).counts;
      if (cached) cached.counts = counts;
    }
    return { territorySystem, unitSystem, unitLevel, participants, key: same ? key : null, versions, counts: counts ?? [], input };
  }

  /** The input of a planned overlay: read with the plan, or cached while its systems are unchanged, else read now. */
  async function inputOf(plan: Awaited<ReturnType<typeof planOf>>, code: string): Promise<CachedInput> {
    if (plan.input) return plan.input;
    const cached = plan.key === null ? null : cache.get(plan.key, plan.versions);
    if (cached) return cached;
    // Read after the versions, so an entry is never tagged newer than its rows (input-cache.ts).
    const where = { systemId: plan.territorySystem.id, code };
    const rows = await store.overlayInput(where, { systemId: plan.unitSystem.id, level: plan.unitLevel }, plan.participants.map((p) => ({ systemId: p.system.id, level: p.level })));
    if (!rows) throw notFound('grid_not_found', `territory: grid "${code}" does not exist in system ${plan.territorySystem.key}`);
    const input: CachedInput = { rows, counts: null, prepared: null };
    if (plan.key !== null) cache.set(plan.key, plan.versions, input);
    return input;
  }

  async function runReport(request: OverlayRequest, scope: AreaScope, ctx?: JobContext, planned?: Awaited<ReturnType<typeof planOf>>, clock = phaseClock()): Promise<OverlayReport> {
    const plan = planned ?? (await planOf(request, null));
    clock.lap('plan');
    const { territorySystem, unitSystem, participants } = plan;
    // Officers of the territory's units see the banks inside their units (the report is cut to them);
    // anyone else (another bank's staff) only banks they see whole.
    if (scope !== 'all' && !scope.some((r) => r.system === territorySystem.key || r.system === unitSystem.key)) {
      participants.forEach(({ system }, k) => requireWholeBank(scope, system, `systems[${k}].key`));
    }
    const input = await inputOf(plan, request.territory.code);
    const { territory, units: loadedUnits, inside, layers } = input.rows;
    const allowed = await unitsInScope(scope, { system: territorySystem, code: territory.code }, unitSystem, loadedUnits.map((u) => u.code));
    const keep = loadedUnits.map((u) => allowed === null || allowed.has(u.code));
    const units = loadedUnits.filter((_, k) => keep[k]);
    const systems = participants.map(({ system }, k) => ({ key: system.key, name: system.name, grids: layers[k].map((g) => ({ system: system.key, code: g.code, name: g.name, geometry: g.geometry })) }));
    clock.lap('input');
    await ctx?.progress(0.3, `${units.length} units and ${systems.reduce((n, s) => n + s.grids.length, 0)} grids read`);
    const arrangeInput = {
      territory: { system: territorySystem.key, code: territory.code, name: territory.name, geometry: territory.geometry },
      units: units.map((u) => ({ code: u.code, name: u.name, type: u.type, geometry: u.geometry })),
      systems,
    };
    const options = { within: inside.filter((_, k) => keep[k]), unitsOnly: allowed !== null };
    let faces: ArrangedFace[];
    if (inWorker(arrangeInput)) {
      const arranged = await computeArrangement({ ...arrangeInput, options });
      faces = arranged.faces;
      keepShapes(plan, { territory, units, layers }, arranged.made);
    } else {
      // Small enough for the event loop: arranged from the prepared input, made once per cached input.
      if (!input.prepared) {
        const { prepared, made } = prepareRequest({ ...arrangeInput, units: loadedUnits.map((u) => ({ code: u.code, name: u.name, type: u.type, geometry: u.geometry })) });
        input.prepared = prepared;
        keepShapes(plan, { territory, units: loadedUnits, layers }, made);
        clock.lap('prepare');
      }
      faces = arrangePrepared(input.prepared, { within: inside, unitsOnly: allowed !== null, keep });
    }
    clock.lap('arrange');
    const meta = { ...arrangeInput, systems: systems.map((s) => ({ key: s.key, name: s.name, grids: s.grids.length })), policy: resolvePolicy(request.policy) };
    const { report } = tabulate(meta, faces);
    clock.lap('tabulate');
    logger.debug({ territory: territory.code, faces: report.faces.length, ms: clock.total(), phases: clock.phases }, 'overlay built');
    return report;
  }

  return {
    /** Resolves when the shapes being kept are written (tests, benchmarks, shutdown). */
    async settled(): Promise<void> {
      while (keeping.size) await Promise.all([...keeping]);
    },

    async report(request: OverlayRequest, scope: AreaScope): Promise<{ report: OverlayReport } | { job: string }> {
      if (request.systems.length === 0) throw badRequest('invalid_request', 'systems: name at least one grid system to overlay');
      let asJob = request.mode === 'job';
      let plan: Awaited<ReturnType<typeof planOf>> | undefined;
      const clock = phaseClock();
      if (!asJob) {
        plan = await planOf(request, request.mode === 'auto' ? JOB_THRESHOLD : null);
        asJob = request.mode === 'auto' && plan.counts.reduce((a, b) => a + b, 0) > JOB_THRESHOLD;
      }
      if (!asJob) return { report: await runReport(request, scope, undefined, plan, clock) };
      return { job: await jobs.start('overlay', request.territory.system, (ctx) => runReport(request, scope, ctx)) };
    },

    async alignment(request: AlignmentRequest, scope: AreaScope): Promise<AlignmentReport> {
      const a = await requireSystem(request.a, 'a');
      const b = await requireSystem(request.b, 'b');
      requireWholeBank(scope, a, 'a');
      requireWholeBank(scope, b, 'b');
      if (scope !== 'all' && !scope.some((r) => r.code === undefined && (r.system === a.key || r.system === b.key))) {
        throw new AppError(403, 'out_of_scope', `alignment of ${a.key} against ${b.key} needs both whole systems in your area`);
      }
      const aLevel = requireLevel(a, request.aLevel, 'aLevel', 'finest');
      const bLevel = requireLevel(b, request.bLevel, 'bLevel', 'unit');
      const [from, into] = await Promise.all([store.gridsAt(a.id, aLevel, null), store.gridsAt(b.id, bLevel, null)]);
      return alignGrids({ key: a.key, grids: from.map((g) => overlayGrid(a.key, g)) }, { key: b.key, grids: into.map((g) => overlayGrid(b.key, g)) }, request.threshold);
    },

    /** Imports ledger counts (CSV records, header first); every bad row is reported and nothing is stored. */
    async importLedger(key: string, records: { row: number; values: string[] }[]): Promise<{ rows: number }> {
      const bank = await requireSystem(key, 'system');
      const grids = await store.gridsAt(bank.id, null, null);
      const { rows, errors } = parseLedger(records, new Set(grids.map((g) => g.code)));
      if (errors.length) throw new AppError(422, 'invalid_rows', `the ledger has ${errors.length} bad row(s): ${errors.slice(0, 3).map((e) => `row ${e.row} ${e.field}: ${e.message}`).join('; ')}`, { errors });
      if (rows.length === 0) throw badRequest('empty_import', 'the ledger holds no rows');
      await store.upsertLedger(bank.id, rows);
      return { rows: rows.length };
    },

    /**
     * Filing rates of a bank's finest grids for year 1 or 2, totals from the ledger or else the address
     * register. A branch's or account manager's scope (a grid of the bank) narrows it to that subtree.
     */
    async filing(key: string, year: 1 | 2, targets: Partial<Record<FilingCategory, number>> = {}, scope: AreaScope = 'all'): Promise<FilingReport> {
      const bank = await requireSystem(key, 'system');
      const level = requireLevel(bank, undefined, 'level', 'finest');
      const roots = rootsIn(scope, bank.key);
      const [all, ledger, register, allowed] = await Promise.all([
        store.gridsAt(bank.id, level, null),
        store.ledger(bank.id),
        store.registerCounts(bank.id),
        roots === null ? Promise.resolve(null) : store.subtreeCodes(bank.id, roots),
      ]);
      const grids = allowed === null ? all : all.filter((g) => allowed.has(g.code));
      return filingRates(
        bank.key,
        grids.map((g) => ({ code: g.code, name: g.name, areaType: areaTypeOf(g.type) })),
        ledger,
        register,
        year,
        { ...DEFAULT_TARGETS[year], ...targets },
      );
    },

    /** Replaces a bank's outlets and equipment (GeoJSON points); every bad feature is reported and nothing changes. */
    async importPoints(key: string, body: unknown): Promise<{ points: number }> {
      const bank = await requireSystem(key, 'system');
      const grids = await store.gridsAt(bank.id, null, null);
      const { points, errors } = parsePoints(body, new Set(grids.map((g) => g.code)));
      if (errors.length) throw new AppError(422, 'invalid_features', `${errors.length} feature(s) are invalid: ${errors.slice(0, 3).map((e) => `feature ${e.index} ${e.field}: ${e.message}`).join('; ')}`, { errors });
      await inOverlayTransaction(deps.knex, (tx) => tx.replacePoints(bank.id, points));
      return { points: points.length };
    },

    /** @throws AppError 403 `out_of_scope` for a branch's scope: the check covers the whole bank. */
    async bankCheck(key: string, request: BankCheckRequest, scope: AreaScope = 'all'): Promise<BankCheck & { outlets: OutletCheck }> {
      const bank = await requireSystem(key, 'system');
      if (rootsIn(scope, bank.key) !== null) throw new AppError(403, 'out_of_scope', `the check of bank ${bank.key} covers its whole system and every outlet; a branch reads its filing report`);
      const unitSystem = await requireSystem(request.units.system, 'units');
      const unitLevel = requireLevel(unitSystem, request.units.level, 'unitLevel', 'unit');
      if (request.nestLevel !== undefined) requireLevel(bank, request.nestLevel, 'nestLevel', 'finest');
      const [grids, units, points] = await Promise.all([store.gridsAt(bank.id, null, null), store.gridsAt(unitSystem.id, unitLevel, null), store.points(bank.id)]);
      const outlets = checkBankOutlets(bank.levels, grids, points);
      const check = checkBank(
        { key: bank.key, levels: bank.levels, overlapPolicy: bank.overlapPolicy },
        grids.map((g) => ({ code: g.code, parentCode: g.parentCode, level: g.level, name: g.name, people: g.people, geometry: g.geometry })),
        units.map((u) => ({ code: u.code, name: u.name, type: u.type, geometry: u.geometry })),
        { nestLevel: request.nestLevel, threshold: request.threshold },
      );
      return { ...check, outlets };
    },
  };
}

export type OverlayService = ReturnType<typeof createOverlayService>;

/**
 * Where a report's time goes, for the debug log (`overlay built`) and the benchmark: ms per phase since the
 * last lap — plan (the statement reading systems and input, or the version check of a cached input), input
 * (scope), prepare (shapes of grids without a kept one), arrange, tabulate.
 */
function phaseClock() {
  const started = performance.now();
  let mark = started;
  const phases: Record<string, number> = {};
  return {
    phases,
    lap(phase: string): void {
      const now = performance.now();
      phases[phase] = Math.round(((phases[phase] ?? 0) + now - mark) * 100) / 100;
      mark = now;
    },
    total: (): number => Math.round((performance.now() - started) * 100) / 100,
  };
}

function overlayGrid(system: string, g: OverlayGridRow): OverlayGrid {
  return { system, code: g.code, name: g.name, geometry: g.geometry };
}

/** The request's policy over the defaults, field by field. */
export function resolvePolicy(input: PolicyInput | undefined): OverlayPolicy {
  return {
    urban: { ...DEFAULT_POLICY.urban, ...input?.urban },
    rural: { ...DEFAULT_POLICY.rural, ...input?.rural },
    ruralTypes: input?.ruralTypes ?? DEFAULT_POLICY.ruralTypes,
    areaTolerance: input?.areaTolerance ?? DEFAULT_POLICY.areaTolerance,
  };
}
