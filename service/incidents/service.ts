import { createHash } from 'node:crypto';
import type { Tx } from '../db/tx';
import { AppError, badRequest, conflict, notFound, unprocessable } from '../errors';
import { CrsError, parseCrs, toWgs84 } from '../geometry/crs';
import type { AreaScope } from '../kernel/scope';
import type { TimeLimit, WorkingCalendar } from './calendar';
import { bulletinPeriod, type Bulletin } from './bulletin';
import { calendarYearProblem } from './calendar-days';
import { caseDay, caseNumber } from './case-number';
import type { Classification, MinorClass } from './classification';
import { stageDeadline, transitionEffects } from './effects';
import { importHistory, type HistoricalCase } from './history';
import { routeCase, type ChainUnit } from './routing';
import type { IncidentPatch, IncidentRecord, IncidentStore, LogEntry, PhotoRecord, ScanResult, StatsRow } from './store';
import { decide, describeAllowed, type Action, type ActorRole, type Route, type Status } from './workflow';

export const SOURCES = ['patrol', 'resident', 'hotline', 'messaging_app', 'upper_level', 'api'] as const;
export type Source = (typeof SOURCES)[number];

/** A point as reported: coordinates in any CRS the address import accepts (default WGS 84 lon/lat). */
export interface PointInput {
  x: number;
  y: number;
  crs?: string;
}

export interface CreateIncidentInput {
  category: string;
  point: PointInput;
  addressId?: number;
  source: Source;
  reporter?: { name?: string; phone?: string };
  description: string;
  priority?: number;
  /** Overrides the category's default route. */
  route?: Route;
}

/** Who acts, as the caller states it (bound to the signed-in user once access control lands, issue #10). */
export type ActorInput =
  | { kind: 'grid_worker'; unit: string; name: string }
  | { kind: 'unit_officer'; unit: string; name: string }
  | { kind: 'department'; department: string; name: string }
  | { kind: 'command_centre'; name: string };

export interface TransitionInput {
  action: Action;
  actor: ActorInput;
  note?: string;
  location?: PointInput;
  photos?: number[];
  department?: string;
  extension?: TimeLimit;
  evaluation?: { score: number; note?: string };
}

export interface RerouteInput {
  actor: ActorInput;
  point?: PointInput;
  category?: string;
  note?: string;
}

export interface IncidentView {
  id: number;
  caseNo: string;
  route: Route;
  status: Status;
  category: { code: string; name: string | null; major: string };
  severity: string;
  priority: number;
  source: string;
  description: string;
  reporter: { name: string | null; phone: string | null };
  location: { lon: number; lat: number; input: { crs: string; x: number; y: number } };
  addressId: number | null;
  system: string;
  unit: ChainUnit;
  chain: ChainUnit[];
  grids: IncidentRecord['grids'];
  handling: { level: number; unit: ChainUnit };
  department: string | null;
  handler: string | null;
  times: Record<'reportedAt' | 'registeredAt' | 'dispatchedAt' | 'fedBackAt' | 'closedAt' | 'evaluatedAt', string | null>;
  deadline: { stage: Status; limit: TimeLimit; startedAt: string; due: string; warnAt: string | null; leftMs: number; overdue: boolean } | null;
  elapsedWorkingMs: number;
  handlingWorkingMs: number | null;
  card: IncidentRecord['card'];
  wasOverdue: boolean;
  escalations: number;
  reworks: number;
  postponements: number;
  postponementRequest: IncidentRecord['postponementRequest'];
  evaluation: IncidentRecord['evaluation'];
  possibleDuplicates: number[];
  next: ReturnType<typeof describeAllowed>;
  version: number;
}

export interface IncidentStats extends StatsRow {
  name: string | null;
  closureRate: number | null;
  onTimeClosureRate: number | null;
  reworkRate: number | null;
  postponementRate: number | null;
  meanHandlingHours: number | null;
  p90HandlingHours: number | null;
}

export interface IncidentDeps {
  store: IncidentStore;
  classification: Classification;
  calendar: WorkingCalendar;
  /** The service's notion of now (tests and the demo move it). */
  now?: () => Date;
}

const DONE: ReadonlySet<Status> = new Set(['closed', 'evaluated', 'rejected']);

/** The use cases of issue #11 over one store; no SQL and no HTTP here. */
export function createIncidentService(deps: IncidentDeps) {
  const { store, classification, calendar } = deps;
  const now = deps.now ?? (() => new Date());
  const policy = classification.policy;

  function view(r: IncidentRecord, at: Date): IncidentView {
    const unit = r.chain[0]!;
    const clock = r.dueAt && r.stageLimit ? calendar.clock(r.dueAt, at, r.stageLimit.type) : null;
    return {
      id: r.id,
      caseNo: r.caseNo,
      route: r.route,
      status: r.status,
      category: { code: r.category, name: classification.categoryName(r.category), major: r.major },
      severity: r.severity,
      priority: r.priority,
      source: r.source,
      description: r.description,
      reporter: { name: maskName(r.reporterName), phone: maskPhone(r.reporterPhone) },
      location: { lon: r.lon, lat: r.lat, input: r.inputPoint },
      addressId: r.addressId,
      system: r.system,
      unit,
      chain: r.chain,
      grids: r.grids,
      handling: { level: r.handlingLevel, unit: r.chain[r.handlingLevel] ?? unit },
      department: r.department,
      handler: r.handler,
      times: {
        reportedAt: iso(r.reportedAt),
        registeredAt: iso(r.registeredAt),
        dispatchedAt: iso(r.dispatchedAt),
        fedBackAt: iso(r.fedBackAt),
        closedAt: iso(r.closedAt),
        evaluatedAt: iso(r.evaluatedAt),
      },
      deadline:
        clock && r.stageLimit && r.stageStartedAt
          ? { stage: r.status, limit: r.stageLimit, startedAt: r.stageStartedAt.toISOString(), due: clock.due, warnAt: iso(r.warnAt), leftMs: clock.leftMs, overdue: clock.overdue }
          : null,
      elapsedWorkingMs: calendar.workingTimeBetween(r.reportedAt, r.closedAt ?? (r.status === 'rejected' ? r.reportedAt : at)),
      handlingWorkingMs: r.handlingWorkingMs,
      card: r.card,
      wasOverdue: r.wasOverdue,
      escalations: r.escalations,
      reworks: r.reworks,
      postponements: r.postponements,
      postponementRequest: r.postponementRequest,
      evaluation: r.evaluation,
      possibleDuplicates: r.duplicates,
      next: describeAllowed(r.route, r.status),
      version: r.version,
    };
  }

  const stage = (limit: TimeLimit, from: Date) => stageDeadline(calendar, policy, limit, from);

  async function locate(s: IncidentStore, point: PointInput): Promise<{ lon: number; lat: number; input: { crs: string; x: number; y: number }; system: string; chain: ChainUnit[]; grids: IncidentRecord['grids'] }> {
    const crsName = point.crs ?? 'EPSG:4326';
    let lon: number;
    let lat: number;
    let crs: string;
    try {
      crs = parseCrs(crsName);
      [lon, lat] = toWgs84(crs as ReturnType<typeof parseCrs>)(point.x, point.y);
    } catch (err) {
      if (err instanceof CrsError) throw badRequest('unknown_crs', `point.crs: ${err.message}`, { field: 'point.crs' });
      throw err;
    }
    if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90) {
      throw unprocessable('invalid_point', `point (${point.x}, ${point.y}) in ${crs} is not a position on Earth`, { field: 'point' });
    }
    const answer = await s.locate(lon, lat);
    // The governance system is the routing table (DOMAIN.md: escalation follows its chain).
    const governance = answer.systems.find((sys) => sys.kind === 'governance');
    if (!governance) {
      throw unprocessable('outside_territory', `point (${lon.toFixed(6)}, ${lat.toFixed(6)}) lies in no grid of a governance system; an incident must be inside the territory`, {
        field: 'point',
      });
    }
    const chain = governance.chain.map(({ code, name, level, levelName }) => ({ code, name, level, levelName }));
    return { lon, lat, input: { crs, x: point.x, y: point.y }, system: governance.system, chain, grids: answer.systems };
  }

  function resolveActor(r: IncidentRecord, actor: ActorInput): ActorRole {
    switch (actor.kind) {
      case 'command_centre':
        return { kind: 'command_centre' };
      case 'department':
        classification.department(actor.department);
        return { kind: 'department', own: r.department === actor.department };
      case 'grid_worker':
        if (actor.unit !== r.chain[0]!.code) {
          throw new AppError(403, 'actor_not_in_chain', `grid worker of "${actor.unit}" is not the worker of this case's grid "${r.chain[0]!.code}"`, { field: 'actor.unit' });
        }
        return { kind: 'grid_worker' };
      case 'unit_officer': {
        const offset = r.chain.findIndex((u) => u.code === actor.unit);
        if (offset < 0) {
          throw new AppError(403, 'actor_not_in_chain', `unit "${actor.unit}" is not on this case's chain (${r.chain.map((u) => u.code).join(' → ')})`, { field: 'actor.unit' });
        }
        return { kind: 'unit_officer', offset };
      }
    }
  }

  async function mustGet(s: IncidentStore, id: number, forUpdate = false): Promise<IncidentRecord> {
    const r = await s.get(id, { forUpdate });
    if (!r) throw notFound('incident_not_found', `no incident with id ${id}`);
    return r;
  }

  function actorLog(actor: ActorInput): Record<string, unknown> {
    return { ...actor };
  }

  /** Indicators for a period (README "Incident statistics"), grouped, with a rolled-up total. */
  async function stats(query: { from: Date; to: Date; unit?: string; by: 'unit' | 'department' | 'worker' | 'category'; scope: AreaScope; method?: 'auto' | 'raw' }): Promise<{ total: IncidentStats; rows: IncidentStats[] }> {
    const { rows, total } = await store.stats({ ...query, now: now() });
    const names = new Map<string, string>();
    if (query.by === 'unit') {
      for (const [k, v] of await store.unitNames(rows.flatMap((r) => (r.key ? [r.key] : [])))) names.set(k, v);
    } else if (query.by === 'department') {
      for (const d of classification.doc.departments) names.set(d.key, d.name);
    } else if (query.by === 'category') {
      for (const c of classification.doc.classes) for (const m of c.minor) names.set(m.code, m.name);
    }
    return { total: withRates(total, query.unit ?? null), rows: rows.map((r) => withRates(r, r.key ? names.get(r.key) ?? null : null)) };
  }

  return {
    classification,
    calendar,
    now,

    /**
     * Reports a case: located to every system's chain, routed, numbered, deadline set, duplicates flagged,
     * logged. With an idempotency key, the same request again answers the first case (`created: false`);
     * the same key with another request is a 422.
     */
    async create(
      input: CreateIncidentInput,
      options: {
        idempotencyKey?: string;
        at?: Date;
        /** More rows that belong to the new case (Open311's request row), written in the case's own transaction. */
        alongside?: (tx: Tx, incidentId: number) => Promise<void>;
      } = {},
    ): Promise<{ incident: IncidentView; created: boolean }> {
      const at = options.at ?? now();
      const hash = options.idempotencyKey ? createHash('sha256').update(JSON.stringify(input)).digest('hex') : null;
      const category = classification.category(input.category);
      if (options.idempotencyKey) {
        const existing = await store.getByIdempotencyKey(options.idempotencyKey);
        if (existing) return { incident: replay(existing, hash!), created: false };
      }
      try {
        const id = await store.transaction(async (s) => {
          const place = await locate(s, input.point);
          if (input.addressId !== undefined && !(await s.addressExists(input.addressId))) {
            throw unprocessable('unknown_address', `addressId ${input.addressId} is not in the address register`, { field: 'addressId' });
          }
          const routing = routeCase(place.chain, category, input.route);
          const sequence = await s.nextSequence(routing.responsible.code, caseDay(at));
          const since = new Date(+at - policy.duplicate.windowHours * 3_600_000);
          const duplicates = await s.nearby(place.lon, place.lat, category.code, since, policy.duplicate.distanceM);
          const id = await s.insert({
            caseNo: caseNumber(routing.responsible.code, at, sequence),
            idempotencyKey: options.idempotencyKey ?? null,
            requestHash: hash,
            route: routing.route,
            status: 'reported',
            category: category.code,
            major: category.major,
            severity: category.severity,
            priority: input.priority ?? 3,
            source: input.source,
            description: input.description,
            reporterName: input.reporter?.name ?? null,
            reporterPhone: input.reporter?.phone ?? null,
            lon: place.lon,
            lat: place.lat,
            inputPoint: place.input,
            addressId: input.addressId ?? null,
            system: place.system,
            chain: place.chain,
            grids: place.grids,
            unitCode: routing.responsible.code,
            handlingLevel: routing.handlingLevel,
            handlingUnit: routing.handling.code,
            department: routing.department,
            reportedAt: at,
            wasOverdue: false,
            duplicates,
            ...(stage(classification.registerWithin(routing.handlingLevel), at) as Required<Pick<IncidentPatch, 'stageLimit' | 'stageStartedAt' | 'dueAt' | 'warnAt'>>),
          });
          await s.appendLog({
            incidentId: id,
            at,
            actor: { kind: 'reporter', source: input.source },
            action: 'report',
            fromStatus: null,
            toStatus: 'reported',
            note: null,
            location: { lon: place.lon, lat: place.lat },
            photos: [],
            details: { route: routing.route, unit: routing.responsible.code, handlingLevel: routing.handlingLevel, handlingUnit: routing.handling.code, possibleDuplicates: duplicates },
          });
          if (options.alongside) await options.alongside(s.tx, id);
          return id;
        });
        return { incident: view((await store.get(id))!, at), created: true };
      } catch (err) {
        // Two requests with one key at once: the loser answers with the winner's case.
        if (options.idempotencyKey && isUniqueViolation(err)) {
          const existing = await store.getByIdempotencyKey(options.idempotencyKey);
          if (existing) return { incident: replay(existing, hash!), created: false };
        }
        throw err;
      }
    },

    /**
     * @throws {AppError} 404 `incident_not_found` for a case outside the caller's scope, as for one that does
     * not exist: a case's existence is not disclosed outside its area (issue #10).
     */
    async requireInScope(id: number, scope: AreaScope): Promise<void> {
      if (scope !== 'all' && !(await store.inScope(id, scope))) throw notFound('incident_not_found', `no incident with id ${id}`);
    },

    async get(id: number): Promise<{ incident: IncidentView; log: LogEntry[]; photos: PhotoRecord[] }> {
      const r = await mustGet(store, id);
      return { incident: view(r, now()), log: await store.log(id), photos: await store.photos(id) };
    },

    /** The reporter's name and phone unmasked (a separate permission: they are personal data). */
    async reporter(id: number): Promise<{ name: string | null; phone: string | null }> {
      const r = await mustGet(store, id);
      return { name: r.reporterName, phone: r.reporterPhone };
    },

    async list(filter: Omit<Parameters<IncidentStore['list']>[0], 'now'>): Promise<{ total: number; items: IncidentView[] }> {
      const at = now();
      const { total, items } = await store.list({ ...filter, now: at });
      return { total, items: items.map((r) => view(r, at)) };
    },

    /** One step of the loop, as the route's transition table allows; logged in the same transaction. */
    async transition(id: number, input: TransitionInput, options: { at?: Date } = {}): Promise<IncidentView> {
      const at = options.at ?? now();
      await store.transaction(async (s) => {
        const r = await mustGet(s, id, true);
        const role = resolveActor(r, input.actor);
        const to = decide(r.route, r.status, input.action, role, r.handlingLevel);
        const { patch, details } = transitionEffects(r, input, to, at, classification, calendar);
        if (input.photos?.length) {
          const own = new Set((await s.photos(id)).map((p) => p.id));
          const foreign = input.photos.filter((p) => !own.has(p));
          if (foreign.length) throw unprocessable('unknown_photo', `photos ${foreign.join(', ')} are not photos of incident ${id}; upload them with POST /api/incidents/${id}/photos first`, { field: 'photos' });
        }
        await s.update(id, patch);
        await s.appendLog({
          incidentId: id,
          at,
          actor: actorLog(input.actor),
          action: input.action,
          fromStatus: r.status,
          toStatus: to,
          note: input.note ?? null,
          location: input.location ? await pointOnly(input.location) : null,
          photos: input.photos ?? [],
          details,
        });
      });
      return view((await store.get(id))!, at);
    },

    /**
     * Moves the point or changes the category of an open case: it is located and routed again, and the
     * log says why (issue #11, as FixMyStreet re-routes on a moved pin or a new category).
     */
    async reroute(id: number, input: RerouteInput, options: { at?: Date } = {}): Promise<IncidentView> {
      const at = options.at ?? now();
      if (!input.point && !input.category) throw badRequest('nothing_to_change', 'send point, category or both');
      await store.transaction(async (s) => {
        const r = await mustGet(s, id, true);
        if (DONE.has(r.status)) throw conflict('incident_done', `case ${r.caseNo} is ${r.status}; re-open it before moving it or changing its category`);
        resolveActor(r, input.actor);
        const category: MinorClass = classification.category(input.category ?? r.category);
        const place = input.point ? await locate(s, input.point) : null;
        const chain = place?.chain ?? r.chain;
        const routing = routeCase(chain, category, input.category ? category.route : r.route);
        const reasons = [...(place ? ['point_moved'] : []), ...(input.category && input.category !== r.category ? ['category_changed'] : [])];
        const patch: IncidentPatch = {
          category: category.code,
          major: category.major,
          severity: category.severity,
          route: routing.route,
          handlingLevel: routing.handlingLevel,
          handlingUnit: routing.handling.code,
          department: input.category ? routing.department : r.department,
        };
        if (place) Object.assign(patch, { lon: place.lon, lat: place.lat, inputPoint: place.input, chain: place.chain, grids: place.grids, unitCode: routing.responsible.code });
        await s.update(id, patch);
        await s.appendLog({
          incidentId: id,
          at,
          actor: actorLog(input.actor),
          action: 'reroute',
          fromStatus: r.status,
          toStatus: r.status,
          note: input.note ?? null,
          location: place ? { lon: place.lon, lat: place.lat } : null,
          photos: [],
          details: {
            reasons,
            from: { unit: r.unitCode, handlingUnit: r.handlingUnit, category: r.category, route: r.route, department: r.department },
            to: { unit: routing.responsible.code, handlingUnit: routing.handling.code, category: category.code, route: routing.route, department: patch.department },
          },
        });
      });
      return view((await store.get(id))!, at);
    },

    /** One pass of the overdue scan (yellow and red cards, escalation per policy), in batches. */
    async scanOverdue(options: { at?: Date; batch?: number } = {}): Promise<ScanResult> {
      const at = options.at ?? now();
      const total: ScanResult = { yellow: 0, red: 0, escalated: 0 };
      for (;;) {
        const pass = await store.transaction((s) =>
          s.scanOverdue(at, { escalateRoutes: policy.escalateOnRed.routes, maxLevel: policy.escalateOnRed.maxLevel }, options.batch ?? 25_000),
        );
        total.yellow += pass.yellow;
        total.red += pass.red;
        total.escalated += pass.escalated;
        if (pass.yellow + pass.red === 0) return total;
      }
    },

    stats,

    /** The monthly or quarterly bulletin's content: the statistics by unit over the period, in the caller's area. */
    async bulletin(period: string, unit: string | undefined, scope: AreaScope): Promise<Bulletin> {
      const range = bulletinPeriod(period);
      if (!range) throw badRequest('invalid_period', `period "${period}" must be YYYY-MM (a month) or YYYY-Qn (a quarter)`, { field: 'period' });
      const figures = await stats({ ...range, unit, by: 'unit', scope });
      const name = unit ? ((await store.unitNames([unit])).get(unit) ?? null) : null;
      return { period, ...range, unit: unit ? { code: unit, name } : null, stats: figures, generatedAt: now() };
    },

    /** Applies the calendar years an administrator loaded; each process calls it at start and before every scan. */
    async loadCalendar(): Promise<number> {
      const years = await store.calendarYears();
      for (const y of years) calendar.replaceYear({ year: y.year, source: 'configured', provisional: false, holidays: y.holidays, workdays: y.workdays });
      return years.length;
    },

    /**
     * Loads one year's public holidays and adjusted working days (调休) as data, in place of the packaged
     * or provisional year (README "Deadlines in working time").
     * @throws {AppError} 422 `invalid_calendar` naming the first bad date
     */
    async setCalendarYear(year: number, input: { holidays: Record<string, string>; workdays: Record<string, string>; note?: string }, loadedBy: string | null): Promise<void> {
      const problem = calendarYearProblem(year, input.holidays, input.workdays);
      if (problem) throw unprocessable('invalid_calendar', problem, { field: problem.startsWith('workdays') ? 'workdays' : 'holidays' });
      await store.putCalendarYear({ year, holidays: input.holidays, workdays: input.workdays, note: input.note ?? null, loadedBy });
      calendar.replaceYear({ year, source: 'configured', provisional: false, holidays: input.holidays, workdays: input.workdays });
    },

    /** Loads past cases in bulk (the demo history); see history.ts. */
    importHistory(cases: HistoricalCase[]) {
      return importHistory({ store, classification, calendar }, cases);
    },

    async addPhoto(id: number, stageName: 'before' | 'after', contentType: string, bytes: Buffer): Promise<PhotoRecord> {
      await mustGet(store, id);
      const photo = { incidentId: id, stage: stageName, contentType, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), createdAt: now() };
      const photoId = await store.insertPhoto({ ...photo, bytes });
      return { id: photoId, ...photo };
    },

    async photo(id: number, photoId: number): Promise<{ contentType: string; bytes: Buffer; sha256: string }> {
      const p = await store.photo(id, photoId);
      if (!p) throw notFound('photo_not_found', `incident ${id} has no photo ${photoId}`);
      return p;
    },
  };

  function replay(existing: IncidentRecord, hash: string): IncidentView {
    if (existing.requestHash !== hash) {
      throw unprocessable('idempotency_key_reused', `Idempotency-Key was already used for case ${existing.caseNo} with a different request`, { field: 'Idempotency-Key' });
    }
    return view(existing, now());
  }

  async function pointOnly(point: PointInput): Promise<{ lon: number; lat: number }> {
    try {
      const [lon, lat] = toWgs84(parseCrs(point.crs ?? 'EPSG:4326'))(point.x, point.y);
      return { lon, lat };
    } catch (err) {
      if (err instanceof CrsError) throw badRequest('unknown_crs', `location.crs: ${err.message}`, { field: 'location.crs' });
      throw err;
    }
  }
}

export type IncidentService = ReturnType<typeof createIncidentService>;

/** Rates as README "Incident statistics" defines them; null where the denominator is zero. */
export function withRates(row: StatsRow, name: string | null): IncidentStats {
  const rate = (n: number, d: number) => (d === 0 ? null : n / d);
  const hours = (ms: number | null) => (ms === null ? null : ms / 3_600_000);
  return {
    ...row,
    name,
    closureRate: rate(row.closed, row.registered),
    onTimeClosureRate: rate(row.closedOnTime, row.closed),
    reworkRate: rate(row.reworked, row.dispatched),
    postponementRate: rate(row.postponed, row.dispatched),
    meanHandlingHours: hours(row.meanHandlingMs),
    p90HandlingHours: hours(row.p90HandlingMs),
  };
}

/** 138****5678: the reporter's phone is personal data (issue #11), shown whole only to the reporter permission. */
export function maskPhone(phone: string | null): string | null {
  if (!phone) return phone;
  return phone.length >= 7 ? `${phone.slice(0, 3)}****${phone.slice(-4)}` : '****';
}

export function maskName(name: string | null): string | null {
  if (!name) return name;
  return `${[...name][0]}${'*'.repeat(Math.max(1, [...name].length - 1))}`;
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}
