import type { FeatureCollection } from 'geojson';
import { GridIndex, shapeFromGeoJson, widen, type IndexGrid } from '../addresses';
import type { Transact, Tx } from '../db/tx';
import { conflict, notFound } from '../errors';
import { buildOverlayReport, DEFAULT_POLICY } from '../geometry/overlay/index';
import { validatePartition, type PartitionGrid, type PartitionReport } from '../geometry/partition/index';
import type { GridService } from '../grids';
import { rootsIn, type AreaScope } from '../kernel/scope';
import type { Bbox, Grid, StoredSystem } from '../kernel/types';
import type { SystemService } from '../systems';
import { planOperations, type Area, type Operation, type Plan, type PlanGrid } from './operations';
import { bboxOf, changesetPieces, datedPieces, diffCollection, findingsOf, geometryPairs, lowerPlan, moveTable, type BankOverlayImpact, type DiffPiece, type Proof } from './proof';
import { sizeFindings } from './size-rules';
import { changeRecord, type ChangeRecordRow } from './record';
import type { Changeset, ChangesetQueries, DatedChange, GridVersion } from './store';
import { allowedActions, nextStatus, type ChangesetAction, type ChangesetStatus } from './workflow';

export type { Changeset, DatedChange, GridVersion } from './store';

/** What changesets need of the incident feature (issue #14: open cases whose grid changes are re-routed on apply). */
export interface ChangesetIncidents {
  /** Open cases with a point in `bbox` and their finest grid per system key; on the transaction when given. */
  openCasesIn(tx: Tx | null, bbox: Bbox): Promise<{ id: number; caseNo: string; status: string; lon: number; lat: number; grids: Record<string, string> }[]>;
  /** Re-routes, inside the apply's transaction, the open cases in `bbox` whose grid in `system` changed. */
  reroute(tx: Tx, system: string, bbox: Bbox, by: { changeset: number; actor: string }): Promise<{ id: number; caseNo: string; from: string | null; to: string | null }[]>;
}

export interface ChangesetServiceDeps {
  transact: Transact;
  store: (tx?: Tx) => ChangesetQueries;
  systems: SystemService;
  grids: GridService;
  incidents?: ChangesetIncidents;
  /** Announces that a changeset was created or changed (its preview tiles), inside the writing transaction when given. */
  announce?: (tx: Tx | null, system: string, id: number) => Promise<void>;
}

/** Moved addresses listed by id in a proof; the table counts all of them. */
const SAMPLE = 200;

interface Evaluated {
  plan: Plan;
  base: Map<string, PlanGrid & { version: number }>;
}

/**
 * Boundary changesets (issue #14): drafts of operations on one system that never touch current data,
 * proved (partition of the affected families as they would be) and measured (addresses that move, codes,
 * area) on every change, approved or rejected, and applied atomically through the grid write path.
 */
export function createChangesetService(deps: ChangesetServiceDeps) {
  const { transact, store, systems, grids, incidents, announce } = deps;

  /** Every code an operation names: grids it acts on, new codes, parents. */
  function namedCodes(ops: Operation[]): { acted: string[]; named: string[]; parents: string[] } {
    const acted: string[] = [];
    const named: string[] = [];
    const parents: string[] = [];
    const featureCodes = (fs: { properties: Record<string, unknown> | null }[]) => fs.map((f) => String(f.properties?.code ?? ''));
    const featureParents = (fs: { properties: Record<string, unknown> | null }[]) =>
      fs.map((f) => f.properties?.parent).filter((p): p is string | number => typeof p === 'string' || typeof p === 'number').map(String);
    for (const op of ops) {
      if (op.op === 'redraw') acted.push(...featureCodes(op.grids));
      if (op.op === 'split') {
        acted.push(op.code);
        named.push(...featureCodes(op.into));
        parents.push(...featureParents(op.into));
      }
      if (op.op === 'merge') {
        acted.push(...op.codes);
        named.push(op.into.code);
      }
      if (op.op === 'add') {
        named.push(...featureCodes(op.grids));
        parents.push(...featureParents(op.grids));
      }
      if (op.op === 'remove') acted.push(op.code, ...op.giveTo);
      if (op.op === 'reparent') {
        acted.push(op.code);
        parents.push(op.parent);
      }
      if (op.op === 'rename') {
        acted.push(op.code);
        if (op.newCode) named.push(op.newCode);
      }
    }
    return { acted, named: [...acted, ...named, ...parents], parents };
  }

  /** The operations applied in memory to the stored families they (or `loadFor`) touch. */
  async function evaluate(q: ChangesetQueries, system: StoredSystem, ops: Operation[], loadFor: Operation[] = ops): Promise<Evaluated> {
    const { acted, named, parents } = namedCodes(loadFor);
    const baseList = await q.families(system.id, acted, parents);
    const base = new Map(baseList.map((g) => [g.code, g]));
    const lookup = [...new Set([...named, ...baseList.map((g) => g.parentCode).filter((c): c is string => c !== null)])];
    const existing = await q.existing(system.id, lookup);
    const retired = await q.retired(system.id, named);
    const plan = planOperations(baseList, ops, {
      levels: new Map(system.levels.map((l) => [l.key, l.order])),
      existsElsewhere: (code) => existing.has(code) && !base.has(code),
      retired,
    });
    return { plan, base };
  }

  /** Fills in the geometry a merge or a one-neighbour removal leaves to the server (a PostGIS union). */
  async function resolve(q: ChangesetQueries, system: StoredSystem, before: Operation[], added: Operation[]): Promise<Operation[]> {
    const out = [...before];
    for (const op of added) {
      const needsUnion = (op.op === 'merge' && !op.geometry) || (op.op === 'remove' && !op.grids && op.giveTo.length === 1);
      if (!needsUnion) {
        out.push(op);
        continue;
      }
      const { plan } = await evaluate(q, system, out, [...out, op]);
      const areaOf = (code: string): Area => {
        const g = plan.grids.get(code);
        if (!g) throw notFound('grid_not_found', `grid "${code}" does not exist in system "${system.key}"`);
        return g.geometry;
      };
      if (op.op === 'merge') out.push({ ...op, geometry: await q.union(op.codes.map(areaOf)) });
      else if (op.op === 'remove') {
        const neighbour = op.giveTo[0]!;
        out.push({ ...op, grids: [{ type: 'Feature', properties: { code: neighbour }, geometry: await q.union([areaOf(neighbour), areaOf(op.code)]) }] });
      }
    }
    await evaluate(q, system, out);
    return out;
  }

  function baseVersionsOf(e: Evaluated, keep: Record<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    const origins = [...e.plan.changed.map((g) => g.origin).filter((c): c is string => c !== null), ...e.plan.removed];
    for (const code of origins) out[code] = keep[code] ?? e.base.get(code)!.version;
    return out;
  }

  /** The partition report of the touched families before and after, and the impact of the change. */
  async function prove(q: ChangesetQueries, system: StoredSystem, e: Evaluated, tx: Tx | null = null): Promise<Proof> {
    const { plan, base } = e;
    const after = [...plan.grids.values()];
    const families = new Set<string | null>();
    for (const g of plan.changed) {
      families.add(g.parentCode);
      if (g.origin !== null) families.add(base.get(g.origin)!.parentCode);
      if (after.some((c) => c.parentCode === g.code)) families.add(g.code);
    }
    for (const code of plan.removed) families.add(base.get(code)!.parentCode);
    const check = (list: PartitionGrid[]): PartitionReport[] => {
      const present = new Set(list.map((g) => g.code));
      const parents = [...families].filter((f): f is string => f !== null && present.has(f));
      const reports: PartitionReport[] = [];
      if (parents.length) reports.push(validatePartition(system, list, { parents }));
      if (families.has(null)) reports.push(validatePartition(system, list.filter((g) => g.parentCode === null), {}));
      return reports;
    };
    const toPartition = (g: PlanGrid): PartitionGrid => ({ code: g.code, parentCode: g.parentCode, level: g.level, geometry: g.geometry });
    const beforeReports = check([...base.values()].map(toPartition));
    const afterReports = check(after.map(toPartition));
    const counts = (reports: PartitionReport[]) => {
      const out = {} as PartitionReport['summary']['counts'];
      for (const r of reports) for (const [k, v] of Object.entries(r.summary.counts)) out[k as keyof typeof out] = (out[k as keyof typeof out] ?? 0) + v;
      return out;
    };
    const findings = findingsOf(
      beforeReports.flatMap((r) => r.issues),
      afterReports.flatMap((r) => r.issues),
    );

    const pairs = geometryPairs(plan, base);
    const { areas, boxes } = await q.differences(pairs);
    const recodedFrom = new Set(plan.recoded.map((r) => r.from));
    const moved = await movedByPlan(q, system, e, pairs, boxes, tx);
    const checked = [...new Set([...plan.changed.map((g) => g.code), ...[...families].filter((f): f is string => f !== null && plan.grids.has(f))])];
    // Metres to degrees of longitude, generously (cos 60° = 0.5): the box must hold every address placed by distance.
    const householdsNow = await q.householdsUnder(system.id, [...base.keys()], (await q.maxNearest()) / 55_000);
    return {
      computedAt: new Date().toISOString(),
      families: [...families].sort((a, b) => String(a).localeCompare(String(b))),
      clean: findings.length === 0,
      before: counts(beforeReports),
      after: counts(afterReports),
      findings,
      impact: {
        codes: {
          added: plan.changed.filter((g) => g.origin === null).map((g) => g.code),
          removed: plan.removed.filter((c) => !recodedFrom.has(c)),
          recoded: plan.recoded,
          changed: plan.changed.filter((g) => g.origin !== null).map((g) => g.code),
        },
        addresses: moved.addresses,
        areas,
        incidents: moved.incidents,
        bankOverlay: system.kind === 'bank' ? await bankOverlayImpact(q, system, e, pairs) : null,
        sizeRules: sizeFindings(
          plan,
          base,
          checked,
          new Map([...householdsNow].map(([code, c]) => [code, c.households])),
          moved.addresses.moves,
          system.levels,
        ),
      },
    };
  }

  /**
   * What moves from grid to grid: addresses, by the assignment index of the re-assignment hook (same
   * rule) over the proposed grids, against today's assignment; and open incidents, by the same index
   * against their routing snapshot. Only addresses that can move are read: those where an area changes
   * hands (a grid redrawn in place: only the pieces it gains and loses; a grid that comes, goes or changes
   * code, level or parent: all of it) and those placed by distance (就近划入) within reach of such a place.
   */
  async function movedByPlan(
    q: ChangesetQueries,
    system: StoredSystem,
    e: Evaluated,
    pairs: ReturnType<typeof geometryPairs>,
    changedBoxes: (Bbox | null)[],
    tx: Tx | null,
  ): Promise<{ addresses: Proof['impact']['addresses']; incidents: Proof['impact']['incidents'] }> {
    const none = { addresses: { moved: 0, households: 0, population: 0, moves: [], sample: [] }, incidents: { moved: 0, cases: [] } };
    const bbox = bboxOf(pairs.flatMap((p) => [p.before, p.after]));
    if (!bbox) return none;
    const areas = pairs.flatMap((p, i): Bbox[] => {
      // geometryPairs lists the changed grids first, in order, then the removed ones.
      const g = e.plan.changed[i];
      const was = g?.origin ? e.base.get(g.origin) : undefined;
      const inPlace = g && was && g.code === was.code && g.level === was.level && g.parentCode === was.parentCode;
      const box = inPlace ? changedBoxes[i] : bboxOf([p.before, p.after]);
      return box ? [box] : [];
    });
    const reachM = await q.maxNearest();
    const order = new Map(system.levels.map((l) => [l.key, l.order]));
    const current = await q.gridsIn(system.id, areas.map((a) => widen(a, 2 * reachM)));
    const gone = new Set([...e.plan.changed.map((g) => g.origin), ...e.plan.removed]);
    const planned = [...e.plan.grids.values()];
    const parentsInPlan = new Set(planned.map((g) => g.parentCode));
    const loadedFamilies = new Set([...e.base.values()].map((g) => g.parentCode));
    const index: IndexGrid[] = current
      .filter((g) => !gone.has(g.code) && !e.plan.grids.has(g.code))
      .map((g) => ({ code: g.code, order: order.get(g.level) ?? 0, leaf: g.leaf, shape: shapeFromGeoJson(g.geometry) }));
    const currentLeaf = new Map(current.map((g) => [g.code, g.leaf]));
    for (const g of planned) {
      // Children are known for touched grids and loaded parents; any other grid keeps its stored leaf flag.
      const known = g.touched || loadedFamilies.has(g.code);
      index.push({ code: g.code, order: order.get(g.level) ?? 0, leaf: known ? !parentsInPlan.has(g.code) : currentLeaf.get(g.code) ?? true, shape: shapeFromGeoJson(g.geometry) });
    }
    const gridIndex = new GridIndex(index);
    const addresses = await q.addressesIn(system.id, areas, reachM > 0 ? areas.map((a) => widen(a, reachM)) : []);
    const assigned = gridIndex.assignAll(addresses);
    const moves: { externalId: string; from: string | null; to: string | null; households: number; population: number }[] = [];
    addresses.forEach((a, i) => {
      const to = assigned[i]?.code ?? null;
      if (to !== a.code) moves.push({ externalId: a.externalId, from: a.code, to, households: a.households, population: a.population });
    });
    const cases = incidents ? await incidents.openCasesIn(tx, bbox) : [];
    const caseGrids = gridIndex.assignAll(cases.map((c) => ({ lon: c.lon, lat: c.lat, nearestM: null })));
    const rerouted = cases
      .map((c, i) => ({ id: c.id, caseNo: c.caseNo, status: c.status, from: c.grids[system.key] ?? null, to: caseGrids[i]?.code ?? null }))
      .filter((c) => c.from !== c.to);
    return {
      addresses: {
        moved: moves.length,
        households: moves.reduce((s, m) => s + m.households, 0),
        population: moves.reduce((s, m) => s + m.population, 0),
        moves: moveTable(moves),
        sample: moves.slice(0, SAMPLE).map((m) => ({ externalId: m.externalId, from: m.from, to: m.to })),
      },
      incidents: { moved: rerouted.length, cases: rerouted },
    };
  }

  /**
   * Bank coverage over the area the change can reach (the union of the changed grids before and after):
   * blank and overlapped area across every bank system, with this system's grids as they are and as
   * proposed (the overlay arrangement of issue #13, on the finest level of each bank system).
   */
  async function bankOverlayImpact(q: ChangesetQueries, system: StoredSystem, e: Evaluated, pairs: ReturnType<typeof geometryPairs>): Promise<BankOverlayImpact | null> {
    const bbox = bboxOf(pairs.flatMap((p) => [p.before, p.after]));
    const pieces = pairs.flatMap((p) => [p.before, p.after]).filter((g): g is Area => g !== null);
    if (!bbox || pieces.length === 0) return null;
    const territory = await q.union(pieces);
    const stored = await q.bankGridsIn(bbox);
    const finest = Math.max(...system.levels.map((l) => l.order));
    const finestLevels = new Set(system.levels.filter((l) => l.order === finest).map((l) => l.key));
    const gone = new Set([...e.plan.changed.map((g) => g.origin), ...e.plan.removed]);
    const keys = [...new Set([...stored.map((g) => g.system), system.key])].sort();
    const names = new Map(stored.map((g) => [g.system, g.name]));
    const measure = (proposed: boolean) => {
      const layers = keys.map((key) => {
        const own = stored.filter((g) => g.system === key && !(proposed && key === system.key && (gone.has(g.code) || e.plan.grids.has(g.code))));
        const planned = proposed && key === system.key ? [...e.plan.grids.values()].filter((g) => finestLevels.has(g.level)) : [];
        return { key, name: names.get(key) ?? system.name, grids: [...own, ...planned].map((g) => ({ system: key, code: g.code, name: g.code, geometry: g.geometry })) };
      });
      const report = buildOverlayReport({ territory: { system: system.key, code: '-', name: '-', geometry: territory }, units: [], systems: layers, policy: DEFAULT_POLICY });
      return { area: report.summary.area_m2, blank_m2: Math.round(report.summary.blank_m2 * 100) / 100, overlap_m2: Math.round(report.summary.overlap_m2 * 100) / 100 };
    };
    const before = measure(false);
    const after = measure(true);
    return { systems: keys, area_m2: Math.round(before.area * 100) / 100, before: { blank_m2: before.blank_m2, overlap_m2: before.overlap_m2 }, after: { blank_m2: after.blank_m2, overlap_m2: after.overlap_m2 } };
  }

  /** null when the caller sees the whole system; else every code ever under one of its roots there. */
  async function codesInScope(system: StoredSystem, scope: AreaScope): Promise<Set<string> | null> {
    const roots = rootsIn(scope, system.key);
    if (roots === null) return null;
    return roots.length === 0 ? new Set() : store().codesEverUnder(system.id, roots);
  }

  async function asOfVersions(key: string, at: string, scope: AreaScope = 'all'): Promise<GridVersion[]> {
    const system = await systems.require(key);
    const allowed = await codesInScope(system, scope);
    return (await store().asOf(system.id, at)).filter((v) => allowed === null || allowed.has(v.code));
  }

  async function requireChangeset(q: ChangesetQueries, system: StoredSystem, id: number, lock = false): Promise<Changeset> {
    const c = await q.get(system.id, system.key, id, lock);
    if (!c) throw notFound('changeset_not_found', `changeset ${id} does not exist in system "${system.key}"`);
    return c;
  }

  /** 409 `transition_not_allowed` listing what the changeset's status allows, unless `action` is one. */
  function ensure(c: Changeset, action: ChangesetAction): ChangesetStatus {
    const next = nextStatus(c.status, action);
    if (next !== null) return next;
    const allowed = allowedActions(c.status);
    throw conflict('transition_not_allowed', `changeset ${c.id} is ${c.status}: "${action}" is not allowed; allowed: ${allowed.join(', ') || 'none'}`, { status: c.status, action, allowed });
  }

  function transition(c: Changeset, action: ChangesetAction, by: string, comment?: string): ChangesetStatus {
    const next = ensure(c, action);
    c.events.push({ at: new Date().toISOString(), by, action, ...(comment ? { comment } : {}) });
    c.status = next;
    return next;
  }

  /** Runs a status change on a locked changeset in one transaction. */
  async function act(key: string, id: number, work: (q: ChangesetQueries, system: StoredSystem, c: Changeset, tx: Tx) => Promise<void>): Promise<Changeset> {
    const system = await systems.require(key);
    return transact(async (tx) => {
      const q = store(tx);
      const c = await requireChangeset(q, system, id, true);
      await work(q, system, c, tx);
      await q.update(c);
      await announce?.(tx, system.key, id);
      return (await q.get(system.id, system.key, id))!;
    });
  }

  async function diffPieces(key: string, id: number): Promise<DiffPiece[]> {
    const system = await systems.require(key);
    const q = store();
    const c = await requireChangeset(q, system, id);
    const e = await evaluate(q, system, c.operations);
    const pairs = geometryPairs(e.plan, e.base);
    return changesetPieces(pairs, (await q.differences(pairs)).parts);
  }

  return {
    async create(key: string, input: { reason: string; operations: Operation[] }, by: string): Promise<Changeset> {
      const system = await systems.require(key);
      const q = store();
      const operations = await resolve(q, system, [], input.operations);
      const e = await evaluate(q, system, operations);
      const created = await q.insert(system.id, system.key, {
        reason: input.reason,
        proposedBy: by,
        operations,
        baseVersions: baseVersionsOf(e, {}),
        proof: await prove(q, system, e),
        events: [{ at: new Date().toISOString(), by, action: 'create' }],
      });
      await announce?.(null, system.key, created.id);
      return created;
    },

    /** Appends operations to a draft; the proof is recomputed, base versions already recorded are kept. */
    async append(key: string, id: number, operations: Operation[], by: string): Promise<Changeset> {
      return act(key, id, async (q, system, c, tx) => {
        transition(c, 'edit', by);
        c.operations = await resolve(q, system, c.operations, operations);
        const e = await evaluate(q, system, c.operations);
        c.baseVersions = baseVersionsOf(e, c.baseVersions);
        c.proof = await prove(q, system, e, tx);
        c.acceptedFindings = [];
      });
    },

    async get(key: string, id: number): Promise<Changeset> {
      const system = await systems.require(key);
      return requireChangeset(store(), system, id);
    },

    async list(key: string, status?: ChangesetStatus): Promise<Changeset[]> {
      const system = await systems.require(key);
      return store().list(system.id, system.key, status);
    },

    /** The diff layer of a changeset against the current grids: added and removed area per grid. */
    async diff(key: string, id: number): Promise<FeatureCollection> {
      return diffCollection(await diffPieces(key, id));
    },

    /** The pieces of a changeset's diff layer against the current grids (its map preview, GeoJSON or tiles). */
    diffPieces,

    /** The pieces of the whole system's difference between two instants (its tiles: not cut to a caller's area). */
    async datedPieces(key: string, from: string, to: string): Promise<DiffPiece[]> {
      const system = await systems.require(key);
      return datedPieces(await store().between(system.id, from, to));
    },

    /** Changesets whose preview can still be drawn (every status but applied), of every system. */
    previewable: () => store().previewable(),

    submit: (key: string, id: number, by: string) => act(key, id, async (_q, _s, c) => void transition(c, 'submit', by)),
    withdraw: (key: string, id: number, by: string) => act(key, id, async (_q, _s, c) => void transition(c, 'withdraw', by)),
    reopen: (key: string, id: number, by: string) => act(key, id, async (_q, _s, c) => void transition(c, 'reopen', by)),

    /** Rejects with the approver's comment (审定 not given); the proposer may reopen and revise. */
    reject: (key: string, id: number, by: string, comment: string) =>
      act(key, id, async (_q, _s, c) => {
        transition(c, 'reject', by, comment);
        c.reviewedBy = by;
        c.reviewComment = comment;
      }),

    /** Approves; every finding of the proof must be named in `accept`, or the proof must be clean. */
    approve: (key: string, id: number, by: string, input: { comment?: string; accept: string[] }) =>
      act(key, id, async (_q, _s, c) => {
        ensure(c, 'approve');
        const unaccepted = (c.proof?.findings ?? []).filter((f) => !input.accept.includes(f.id));
        if (unaccepted.length > 0) {
          throw conflict('findings_not_accepted', `the proof of changeset ${c.id} has ${unaccepted.length} finding(s) the approval does not accept: ${unaccepted.map((f) => f.id).join(', ')}`, {
            unaccepted: unaccepted.map((f) => ({ id: f.id, kind: f.kind, reason: f.reason })),
          });
        }
        transition(c, 'approve', by, input.comment);
        c.reviewedBy = by;
        c.reviewComment = input.comment ?? null;
        c.acceptedFindings = (c.proof?.findings ?? []).map((f) => f.id);
      }),

    /** Re-bases on the grids as they are now: fresh base versions and proof; an approval is voided. */
    rebase: (key: string, id: number, by: string) =>
      act(key, id, async (q, system, c, tx) => {
        transition(c, 'rebase', by);
        const e = await evaluate(q, system, c.operations);
        c.baseVersions = baseVersionsOf(e, {});
        c.proof = await prove(q, system, e, tx);
        c.acceptedFindings = [];
        c.reviewedBy = null;
      }),

    /**
     * Applies an approved changeset: one transaction through the grid write path, so the address
     * re-assignment, history and tile invalidation hooks run in it; 409 `changeset_stale` when a grid it
     * touches changed since its base.
     */
    apply: (key: string, id: number, by: string) =>
      act(key, id, async (q, system, c, tx) => {
        ensure(c, 'apply');
        const current = await q.versions(system.id, Object.keys(c.baseVersions));
        const stale = Object.entries(c.baseVersions)
          .filter(([code, v]) => current.get(code) !== v)
          .map(([code, v]) => ({ code, base: v, current: current.get(code) ?? null }));
        if (stale.length > 0) {
          throw conflict('changeset_stale', `${stale.length} grid(s) of changeset ${c.id} changed since its base: ${stale.map((s) => s.code).join(', ')}; rebase it`, { grids: stale });
        }
        const e = await evaluate(q, system, c.operations);
        await q.attribute({ changesetId: c.id, proposedBy: c.proposedBy, approvedBy: c.reviewedBy });
        await grids.applyOperations(system, lowerPlan(e.plan, c.baseVersions), { tx });
        const bbox = bboxOf(geometryPairs(e.plan, e.base).flatMap((p) => [p.before, p.after]));
        const rerouted = incidents && bbox ? await incidents.reroute(tx, system.key, bbox, { changeset: c.id, actor: by }) : [];
        transition(c, 'apply', by);
        c.events[c.events.length - 1]!.rerouted = rerouted.map((r) => ({ id: r.id, caseNo: r.caseNo, from: r.from, to: r.to }));
      }),

    async history(key: string, code: string): Promise<GridVersion[]> {
      const system = await systems.require(key);
      const versions = await store().history(system.id, code);
      if (versions.length === 0) throw notFound('grid_not_found', `grid "${code}" has no history in system "${key}"`);
      return versions;
    },

    /** The grids of a system as they stood at `at`, those of the caller's area only. */
    asOf: asOfVersions,

    /** As `asOf`, as the grid export writes grids (the properties each version kept). */
    async gridsAsOf(key: string, at: string, scope: AreaScope = 'all'): Promise<Grid[]> {
      return (await asOfVersions(key, at, scope)).map((v) => versionToGrid(key, v));
    },

    /** The point lookup's reads over the grids as they stood at `at` (GET /api/point?asOf=). */
    pointQueriesAsOf(at: string) {
      return store().pointQueriesAsOf(at);
    },

    /**
     * What changed between two instants: grids added, removed and changed (matched by identity, so a
     * recode is a change), with area gained and lost; only grids that were ever in the caller's area.
     */
    async between(key: string, from: string, to: string, scope: AreaScope = 'all'): Promise<DatedChange[]> {
      const system = await systems.require(key);
      const allowed = await codesInScope(system, scope);
      const changes = await store().between(system.id, from, to);
      return allowed === null ? changes : changes.filter((c) => [c.codeBefore, c.codeAfter].some((code) => code !== null && allowed.has(code)));
    },

    /** The change record (调整记录) of the applied changesets, rows of the caller's area only. */
    async record(key: string, scope: AreaScope = 'all'): Promise<ChangeRecordRow[]> {
      const system = await systems.require(key);
      const allowed = await codesInScope(system, scope);
      const rows = changeRecord(await store().list(system.id, system.key, 'applied'));
      return allowed === null ? rows : rows.filter((r) => [r.codeBefore, r.codeAfter].some((code) => code !== null && allowed.has(code)));
    },
  };
}

export type ChangesetService = ReturnType<typeof createChangesetService>;

/** A stored version as a grid, with the properties it had then (type, people, attributes, validity). */
function versionToGrid(system: string, v: GridVersion): Grid {
  const p = v.properties as { type?: string | null; people?: Grid['people']; attributes?: Record<string, unknown>; valid_from?: string | null; valid_to?: string | null };
  return {
    system,
    code: v.code,
    parentCode: v.parentCode,
    level: v.level,
    name: v.name,
    type: p.type ?? null,
    people: p.people ?? [],
    attributes: p.attributes ?? {},
    geometry: v.geometry,
    geometryIssues: [],
    validFrom: p.valid_from ?? null,
    validTo: p.valid_to ?? null,
    version: v.version,
    updatedAt: v.validFrom,
  };
}
