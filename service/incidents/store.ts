import type { Knex } from 'knex';
import { knexOf, type Queryable, type Tx } from '../db/tx';
import type { PointAnswer } from '../point';
import type { AreaScope } from '../kernel/scope';
import type { TimeLimit } from './calendar';
import type { ChainUnit } from './routing';
import { scanClocks, type ScanResult } from './clock-store';
import { incidentStats, type StatsQuery, type StatsRow } from './stats-store';
import type { Route, Status } from './workflow';

/** A case as stored; the service turns it into the API view (deadline clock, masked reporter). */
export interface IncidentRecord {
  id: number;
  caseNo: string;
  idempotencyKey: string | null;
  requestHash: string | null;
  route: Route;
  status: Status;
  category: string;
  major: string;
  severity: string;
  priority: number;
  source: string;
  description: string;
  reporterName: string | null;
  reporterPhone: string | null;
  lon: number;
  lat: number;
  inputPoint: { crs: string; x: number; y: number };
  addressId: number | null;
  system: string;
  chain: ChainUnit[];
  grids: PointAnswer['systems'];
  unitCode: string;
  handlingLevel: number;
  handlingUnit: string;
  department: string | null;
  handler: string | null;
  reportedAt: Date;
  registeredAt: Date | null;
  dispatchedAt: Date | null;
  fedBackAt: Date | null;
  closedAt: Date | null;
  evaluatedAt: Date | null;
  stageLimit: TimeLimit | null;
  stageStartedAt: Date | null;
  dueAt: Date | null;
  warnAt: Date | null;
  card: 'none' | 'yellow' | 'red';
  yellowAt: Date | null;
  redAt: Date | null;
  wasOverdue: boolean;
  escalations: number;
  reworks: number;
  postponements: number;
  postponementRequest: { extension: TimeLimit; note: string } | null;
  handlingWorkingMs: number | null;
  evaluation: { score: number; note?: string } | null;
  duplicates: number[];
  version: number;
}

/** The columns a transition or re-route may change. */
export type IncidentPatch = Partial<
  Pick<
    IncidentRecord,
    | 'status'
    | 'category'
    | 'major'
    | 'severity'
    | 'route'
    | 'lon'
    | 'lat'
    | 'inputPoint'
    | 'chain'
    | 'grids'
    | 'unitCode'
    | 'handlingLevel'
    | 'handlingUnit'
    | 'department'
    | 'handler'
    | 'registeredAt'
    | 'dispatchedAt'
    | 'fedBackAt'
    | 'closedAt'
    | 'evaluatedAt'
    | 'stageLimit'
    | 'stageStartedAt'
    | 'dueAt'
    | 'warnAt'
    | 'wasOverdue'
    | 'escalations'
    | 'reworks'
    | 'postponements'
    | 'postponementRequest'
    | 'handlingWorkingMs'
    | 'evaluation'
  >
>;

export type NewIncident = Omit<IncidentRecord, 'id' | 'version' | 'card' | 'yellowAt' | 'redAt' | 'escalations' | 'reworks' | 'postponements' | 'postponementRequest' | 'handlingWorkingMs' | 'evaluation' | 'registeredAt' | 'dispatchedAt' | 'fedBackAt' | 'closedAt' | 'evaluatedAt' | 'handler'>;

export interface LogEntry {
  id: number;
  incidentId: number;
  at: Date;
  actor: Record<string, unknown>;
  action: string;
  fromStatus: string | null;
  toStatus: string;
  note: string | null;
  location: { lon: number; lat: number } | null;
  photos: number[];
  details: Record<string, unknown>;
}

export type NewLogEntry = Omit<LogEntry, 'id'>;

export interface IncidentFilter {
  status?: Status[];
  category?: string;
  /** A governance unit code: the cases of its subtree. */
  unit?: string;
  source?: string;
  overdue?: boolean;
  card?: 'none' | 'yellow' | 'red';
  bbox?: [number, number, number, number];
  from?: Date;
  to?: Date;
  scope: AreaScope;
  /** The service's clock: what "overdue" is measured against. */
  now: Date;
  limit: number;
  offset: number;
}

export type { StatsQuery, StatsRow } from './stats-store';
export type { ScanResult } from './clock-store';

export interface PhotoRecord {
  id: number;
  incidentId: number;
  stage: 'before' | 'after';
  contentType: string;
  size: number;
  sha256: string;
  createdAt: Date;
}

const COLUMNS: Record<keyof IncidentPatch | 'card' | 'yellowAt' | 'redAt' | 'caseNo' | 'idempotencyKey' | 'requestHash' | 'priority' | 'source' | 'description' | 'reporterName' | 'reporterPhone' | 'addressId' | 'system' | 'reportedAt' | 'duplicates', string> = {
  caseNo: 'case_no',
  idempotencyKey: 'idempotency_key',
  requestHash: 'request_hash',
  status: 'status',
  route: 'route',
  category: 'category',
  major: 'major',
  severity: 'severity',
  priority: 'priority',
  source: 'source',
  description: 'description',
  reporterName: 'reporter_name',
  reporterPhone: 'reporter_phone',
  lon: '',
  lat: '',
  inputPoint: 'input_point',
  addressId: 'address_id',
  system: 'system',
  chain: 'chain',
  grids: 'grids',
  unitCode: 'unit_code',
  handlingLevel: 'handling_level',
  handlingUnit: 'handling_unit',
  department: 'department',
  handler: 'handler',
  reportedAt: 'reported_at',
  registeredAt: 'registered_at',
  dispatchedAt: 'dispatched_at',
  fedBackAt: 'fed_back_at',
  closedAt: 'closed_at',
  evaluatedAt: 'evaluated_at',
  stageLimit: 'stage_limit',
  stageStartedAt: 'stage_started_at',
  dueAt: 'due_at',
  warnAt: 'warn_at',
  wasOverdue: 'was_overdue',
  escalations: 'escalations',
  reworks: 'reworks',
  postponements: 'postponements',
  postponementRequest: 'postponement_request',
  handlingWorkingMs: 'handling_working_ms',
  evaluation: 'evaluation',
  duplicates: 'duplicates',
  card: 'card',
  yellowAt: 'yellow_at',
  redAt: 'red_at',
};
const JSON_COLUMNS = new Set(['input_point', 'chain', 'grids', 'stage_limit', 'postponement_request', 'evaluation']);

/**
 * A case as read: the card and a red card's escalation come from the overdue scan's table (migration 033),
 * the rest from the case row.
 */
const SELECT = `i.id, i.case_no, i.idempotency_key, i.request_hash, i.route, i.status, i.category, i.major, i.severity, i.priority, i.source,
  i.description, i.reporter_name, i.reporter_phone, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.input_point, i.address_id, i.system, i.chain,
  i.grids, i.unit_code, k.handling_level, CASE WHEN k.raised THEN i.chain -> k.handling_level ->> 'code' ELSE i.handling_unit END AS handling_unit,
  i.department, i.handler, i.reported_at, i.registered_at, i.dispatched_at, i.fed_back_at, i.closed_at, i.evaluated_at,
  i.stage_limit, i.stage_started_at, i.due_at, i.warn_at, k.card, k.yellow_at, k.red_at, i.was_overdue OR k.card = 'red' AS was_overdue,
  i.escalations + k.raised::int AS escalations, i.reworks, i.postponements,
  i.postponement_request, i.handling_working_ms, i.evaluation, i.duplicates, i.version`;
const FROM = 'incidents i JOIN incident_clocks k ON k.id = i.id';

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

function toRecord(r: Record<string, unknown>): IncidentRecord {
  return {
    id: Number(r.id),
    caseNo: r.case_no as string,
    idempotencyKey: (r.idempotency_key as string) ?? null,
    requestHash: (r.request_hash as string) ?? null,
    route: r.route as Route,
    status: r.status as Status,
    category: r.category as string,
    major: r.major as string,
    severity: r.severity as string,
    priority: Number(r.priority),
    source: r.source as string,
    description: r.description as string,
    reporterName: (r.reporter_name as string) ?? null,
    reporterPhone: (r.reporter_phone as string) ?? null,
    lon: Number(r.lon),
    lat: Number(r.lat),
    inputPoint: json(r.input_point),
    addressId: r.address_id === null ? null : Number(r.address_id),
    system: r.system as string,
    chain: json(r.chain),
    grids: json(r.grids),
    unitCode: r.unit_code as string,
    handlingLevel: Number(r.handling_level),
    handlingUnit: r.handling_unit as string,
    department: (r.department as string) ?? null,
    handler: (r.handler as string) ?? null,
    reportedAt: date(r.reported_at)!,
    registeredAt: date(r.registered_at),
    dispatchedAt: date(r.dispatched_at),
    fedBackAt: date(r.fed_back_at),
    closedAt: date(r.closed_at),
    evaluatedAt: date(r.evaluated_at),
    stageLimit: r.stage_limit === null ? null : json(r.stage_limit),
    stageStartedAt: date(r.stage_started_at),
    dueAt: date(r.due_at),
    warnAt: date(r.warn_at),
    card: r.card as IncidentRecord['card'],
    yellowAt: date(r.yellow_at),
    redAt: date(r.red_at),
    wasOverdue: Boolean(r.was_overdue),
    escalations: Number(r.escalations),
    reworks: Number(r.reworks),
    postponements: Number(r.postponements),
    postponementRequest: r.postponement_request === null ? null : json(r.postponement_request),
    handlingWorkingMs: r.handling_working_ms === null ? null : Number(r.handling_working_ms),
    evaluation: r.evaluation === null ? null : json(r.evaluation),
    duplicates: ((r.duplicates as unknown[]) ?? []).map(Number),
    version: Number(r.version),
  };
}

function toLog(r: Record<string, unknown>): LogEntry {
  return {
    id: Number(r.id),
    incidentId: Number(r.incident_id),
    at: date(r.at)!,
    actor: json(r.actor),
    action: r.action as string,
    fromStatus: (r.from_status as string) ?? null,
    toStatus: r.to_status as string,
    note: (r.note as string) ?? null,
    location: r.lon === null ? null : { lon: Number(r.lon), lat: Number(r.lat) },
    photos: ((r.photos as unknown[]) ?? []).map(Number),
    details: json(r.details),
  };
}

/** Column values for an insert or update; `lon`/`lat` become the point. */
function columns(knex: Knex | Knex.Transaction, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || key === 'lon' || key === 'lat') continue;
    const column = COLUMNS[key as keyof typeof COLUMNS];
    if (!column) throw new Error(`unknown incident field ${key}`);
    out[column] = JSON_COLUMNS.has(column) && value !== null ? JSON.stringify(value) : value;
  }
  if (values.lon !== undefined) out.geom = knex.raw('ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326)', [values.lon as number, values.lat as number]);
  return out;
}

/** The scope as `scope_keys` entries: `system:code` for a subtree, `system:` for a whole system. */
export function scopeKeys(scope: Exclude<AreaScope, 'all'>): string[] {
  return scope.map((root) => `${root.system}:${root.code ?? ''}`);
}

function whereScope(q: Knex.QueryBuilder, scope: AreaScope): void {
  if (scope === 'all') return;
  q.whereRaw('scope_keys && ?::text[]', [scopeKeys(scope)]);
}

/** The only file with SQL for the incident tables; `knex` may be a transaction. */
/** Where a point lies in every system: the point feature's lookup, handed in by the composition root. */
export type Locate = (db: Queryable, lon: number, lat: number) => Promise<PointAnswer>;

export function createIncidentStore(db: Queryable, locate: Locate): IncidentStore {
  return new IncidentStore(knexOf(db), locate);
}

export class IncidentStore {
  constructor(
    readonly knex: Knex | Knex.Transaction,
    private readonly locateFn: Locate,
  ) {}

  async transaction<T>(work: (store: IncidentStore) => Promise<T>): Promise<T> {
    return (this.knex as Knex).transaction((trx) => work(new IncidentStore(trx, this.locateFn)));
  }

  /** This store's handle as use cases hold it, for other writers that must join its transaction. */
  get tx(): Tx {
    return this.knex as unknown as Tx;
  }

  /** Every system's chain at a point (the existing point lookup of issue #2). */
  locate(lon: number, lat: number): Promise<PointAnswer> {
    return this.locateFn(this.knex as unknown as Queryable, lon, lat);
  }

  async addressExists(id: number): Promise<boolean> {
    return Boolean(await this.knex('addresses').where({ id }).first('id'));
  }

  /** The next sequence number of a unit on a day; the counter only grows, so numbers are never reused. */
  async nextSequence(unitCode: string, day: string): Promise<number> {
    const { rows } = await this.knex.raw(
      `INSERT INTO incident_sequences (unit_code, day, last) VALUES (?, ?, 1)
       ON CONFLICT (unit_code, day) DO UPDATE SET last = incident_sequences.last + 1 RETURNING last`,
      [unitCode, day],
    );
    return Number(rows[0].last);
  }

  async insert(row: NewIncident): Promise<number> {
    const { scopeKeys: keys, unitPath, ...rest } = withPaths(row);
    const values = { ...columns(this.knex, rest), scope_keys: keys, unit_path: unitPath, card: 'none' };
    const [created] = await this.knex('incidents').insert(values).returning('id');
    return Number((created as { id: number }).id);
  }

  /** Many cases at once, in order (the demo history); returns their ids. */
  async insertMany(rows: Omit<IncidentRecord, 'id' | 'version'>[]): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < rows.length; i += 200) {
      const values = rows.slice(i, i + 200).map((row) => {
        const { scopeKeys: keys, unitPath, ...rest } = withPaths(row);
        return { ...columns(this.knex, rest), scope_keys: keys, unit_path: unitPath };
      });
      const created = await this.knex('incidents').insert(values).returning('id');
      ids.push(...(created as { id: number }[]).map((r) => Number(r.id)));
    }
    return ids;
  }

  async appendLogMany(entries: NewLogEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 1000) {
      const values = entries.slice(i, i + 1000).map((e) => ({
        incident_id: e.incidentId,
        at: e.at,
        actor: JSON.stringify(e.actor),
        action: e.action,
        from_status: e.fromStatus,
        to_status: e.toStatus,
        note: e.note,
        location: e.location ? this.knex.raw('ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326)', [e.location.lon, e.location.lat]) : null,
        photos: e.photos,
        details: JSON.stringify(e.details),
      }));
      await this.knex('incident_log').insert(values);
    }
  }

  /** Locks the case-number counters for a bulk load and reads them, keyed `unit|day`. */
  async lockSequences(): Promise<Map<string, number>> {
    await this.knex.raw('LOCK TABLE incident_sequences IN EXCLUSIVE MODE');
    const rows: { unit_code: string; day: string; last: number }[] = await this.knex('incident_sequences').select('unit_code', 'day', 'last');
    return new Map(rows.map((r) => [`${r.unit_code}|${r.day}`, Number(r.last)]));
  }

  /** Moves the case-number counters past numbers handed out in bulk; they never go down. */
  async raiseSequences(counters: { unitCode: string; day: string; last: number }[]): Promise<void> {
    for (let i = 0; i < counters.length; i += 1000) {
      const rows = counters.slice(i, i + 1000).map((c) => ({ unit_code: c.unitCode, day: c.day, last: c.last }));
      await this.knex('incident_sequences').insert(rows).onConflict(['unit_code', 'day']).merge({ last: this.knex.raw('greatest(incident_sequences.last, excluded.last)') });
    }
  }

  /**
   * Every system's chain at many points in one query (the demo history). Each grid covering a point is
   * returned, so a clean partition gives the whole chain; ties on shared boundaries go to the lowest code
   * as in the single-point lookup.
   */
  async locateMany(points: [number, number][]): Promise<PointAnswer['systems'][]> {
    const out: PointAnswer['systems'][] = points.map(() => []);
    if (points.length === 0) return out;
    const { rows } = await this.knex.raw(
      `SELECT p.i::int AS i, s.key AS system, s.name AS system_name, s.kind, s.levels, g.code, g.name, g.level
       FROM unnest(?::float8[], ?::float8[]) WITH ORDINALITY AS p(x, y, i)
       JOIN grids g ON g.geom && ST_SetSRID(ST_MakePoint(p.x, p.y), 4326) AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
       JOIN grid_systems s ON s.id = g.system_id
       ORDER BY p.i, s.key, g.code COLLATE "C"`,
      [points.map((p) => p[0]), points.map((p) => p[1])],
    );
    for (const r of rows as { i: number; system: string; system_name: string; kind: string; levels: unknown; code: string; name: string; level: string }[]) {
      const systems = out[r.i - 1]!;
      let entry = systems.find((x) => x.system === r.system);
      const levels = json<{ key: string; name: string; order: number }[]>(r.levels);
      if (!entry) {
        entry = { system: r.system, name: r.system_name, kind: r.kind, chain: [], alsoIn: [] };
        systems.push(entry);
      }
      const level = levels.find((l) => l.key === r.level);
      const link = { code: r.code, name: r.name, level: r.level, levelName: level?.name ?? r.level, order: level?.order ?? 0 };
      const same = entry.chain.find((c) => (c as typeof link).order === link.order);
      if (same) entry.alsoIn.push(link.code);
      else entry.chain.push(link);
    }
    for (const systems of out) {
      for (const s of systems) {
        s.chain = (s.chain as ({ order: number } & PointAnswer['systems'][number]['chain'][number])[])
          .sort((a, b) => b.order - a.order)
          .map(({ code, name, level, levelName }) => ({ code, name, level, levelName }));
      }
    }
    return out;
  }

  async get(id: number, options: { forUpdate?: boolean } = {}): Promise<IncidentRecord | null> {
    const { rows } = await this.knex.raw(`SELECT ${SELECT} FROM ${FROM} WHERE i.id = ?${options.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Whether a case lies in the caller's scope (issue #10); false also when it does not exist. */
  async inScope(id: number, scope: AreaScope): Promise<boolean> {
    const q = this.knex('incidents').where({ id }).select('id').limit(1);
    whereScope(q, scope);
    return (await q).length > 0;
  }

  async getByIdempotencyKey(key: string): Promise<IncidentRecord | null> {
    const { rows } = await this.knex.raw(`SELECT ${SELECT} FROM ${FROM} WHERE i.idempotency_key = ?`, [key]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async update(id: number, patch: IncidentPatch): Promise<void> {
    const extra: Record<string, unknown> = {};
    if (patch.chain !== undefined || patch.grids !== undefined) {
      const paths = withPaths({ chain: patch.chain ?? [], grids: patch.grids ?? [], system: '' });
      extra.unit_path = paths.unitPath;
      extra.scope_keys = paths.scopeKeys;
    }
    // A level set here is absolute: it replaces the one a red card raised, whose escalation is then counted here.
    if (patch.handlingLevel !== undefined && patch.escalations === undefined) {
      extra.escalations = this.knex.raw('escalations + (SELECT raised::int FROM incident_clocks WHERE id = ?)', [id]);
    }
    await this.knex('incidents')
      .where({ id })
      .update({ ...columns(this.knex, patch), ...extra, version: this.knex.raw('version + 1'), updated_at: this.knex.fn.now() });
    if (patch.handlingLevel !== undefined) await this.knex('incident_clocks').where({ id }).update({ handling_level: patch.handlingLevel, raised: false });
  }

  async appendLog(entry: NewLogEntry): Promise<void> {
    await this.knex.raw(
      `INSERT INTO incident_log (incident_id, at, actor, action, from_status, to_status, note, location, photos, details)
       VALUES (?, ?, ?::jsonb, ?, ?, ?, ?, CASE WHEN ?::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326) END, ?::bigint[], ?::jsonb)`,
      [
        entry.incidentId,
        entry.at,
        JSON.stringify(entry.actor),
        entry.action,
        entry.fromStatus,
        entry.toStatus,
        entry.note,
        entry.location?.lon ?? null,
        entry.location?.lon ?? null,
        entry.location?.lat ?? null,
        entry.photos,
        JSON.stringify(entry.details),
      ],
    );
  }

  async log(incidentId: number): Promise<LogEntry[]> {
    const { rows } = await this.knex.raw(
      `SELECT id, incident_id, at, actor, action, from_status, to_status, note, ST_X(location) AS lon, ST_Y(location) AS lat, photos, details
       FROM incident_log WHERE incident_id = ? ORDER BY id`,
      [incidentId],
    );
    return rows.map(toLog);
  }

  /**
   * Open-or-recent cases of a category within `distanceM` metres reported since `since` (possible duplicates).
   * A box of at least `distanceM` around the point (110 km per degree or less) picks the candidates from the
   * GiST index first: the geography distance alone was computed for every recent case of the category
   * (issue #16: hundreds per report under load, most of an incident report's time on the embedded engine).
   */
  async nearby(lon: number, lat: number, category: string, since: Date, distanceM: number, excludeId?: number): Promise<number[]> {
    const { rows } = await this.knex.raw(
      `SELECT id FROM incidents
       WHERE category = ? AND reported_at >= ? AND status <> 'rejected' AND id <> ?
         AND geom && ST_Expand(ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326), ?::float8 / (110000 * greatest(cos(radians(?::float8)), 1e-9)), ?::float8 / 110000)
         AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326)::geography, ?)
       ORDER BY id`,
      [category, since, excludeId ?? 0, lon, lat, distanceM, lat, distanceM, lon, lat, distanceM],
    );
    return rows.map((r: { id: number }) => Number(r.id));
  }

  async list(filter: IncidentFilter): Promise<{ total: number; items: IncidentRecord[] }> {
    const q = this.knex({ i: 'incidents' }).join({ k: 'incident_clocks' }, 'k.id', 'i.id');
    if (filter.status?.length) q.whereIn('i.status', filter.status);
    if (filter.category) q.where((w) => void w.where('i.category', filter.category!).orWhere('i.major', filter.category!));
    if (filter.unit) q.whereRaw('i.unit_path @> ?::text[]', [[filter.unit]]);
    if (filter.source) q.where('i.source', filter.source);
    if (filter.overdue !== undefined) {
      const overdue = `(i.was_overdue OR k.card = 'red' OR coalesce(i.due_at < ?, false))`;
      q.whereRaw(filter.overdue ? overdue : `NOT ${overdue}`, [filter.now]);
    }
    if (filter.card) q.where('k.card', filter.card);
    if (filter.bbox) q.whereRaw('i.geom && ST_MakeEnvelope(?, ?, ?, ?, 4326)', filter.bbox);
    if (filter.from) q.where('i.reported_at', '>=', filter.from);
    if (filter.to) q.where('i.reported_at', '<', filter.to);
    whereScope(q, filter.scope);
    const [{ n }] = (await q.clone().count({ n: '*' })) as { n: number }[];
    const rows = await q.select(this.knex.raw(SELECT)).orderBy('i.id', 'desc').limit(filter.limit).offset(filter.offset);
    return { total: Number(n), items: (rows as Record<string, unknown>[]).map(toRecord) };
  }

  /** Indicators over the cases reported in [from, to), grouped, with the rolled-up total (stats-store.ts). */
  stats(query: StatsQuery): Promise<{ rows: StatsRow[]; total: StatsRow }> {
    return incidentStats(this.knex, query);
  }

  /** One pass of the overdue scan over `incident_clocks` (clock-store.ts). */
  scanOverdue(now: Date, policy: { escalateRoutes: Route[]; maxLevel: number }, batch: number): Promise<ScanResult> {
    return scanClocks(this.knex, now, policy, batch);
  }

  /** The calendar years an administrator loaded (migration 032). */
  async calendarYears(): Promise<{ year: number; holidays: Record<string, string>; workdays: Record<string, string>; note: string | null }[]> {
    const rows = await this.knex('incident_calendar_years').orderBy('year').select('year', 'holidays', 'workdays', 'note');
    return rows.map((r) => ({ year: Number(r.year), holidays: json(r.holidays), workdays: json(r.workdays), note: r.note ?? null }));
  }

  async putCalendarYear(row: { year: number; holidays: Record<string, string>; workdays: Record<string, string>; note: string | null; loadedBy: string | null }): Promise<void> {
    await this.knex('incident_calendar_years')
      .insert({ year: row.year, holidays: JSON.stringify(row.holidays), workdays: JSON.stringify(row.workdays), note: row.note, loaded_by: row.loadedBy, loaded_at: this.knex.fn.now() })
      .onConflict('year')
      .merge();
  }

  /** Names of governance units by code, for statistics and bulletins. */
  async unitNames(codes: string[]): Promise<Map<string, string>> {
    const rows: { code: string; name: string }[] = await this.knex('grids')
      .join('grid_systems', 'grid_systems.id', 'grids.system_id')
      .where('grid_systems.kind', 'governance')
      .whereIn('grids.code', codes)
      .select('grids.code', 'grids.name');
    return new Map(rows.map((r) => [r.code, r.name]));
  }

  async insertPhoto(photo: Omit<PhotoRecord, 'id'> & { bytes: Buffer }): Promise<number> {
    const [row] = await this.knex('incident_photos')
      .insert({
        incident_id: photo.incidentId,
        stage: photo.stage,
        content_type: photo.contentType,
        size: photo.size,
        sha256: photo.sha256,
        bytes: photo.bytes,
        created_at: photo.createdAt,
      })
      .returning('id');
    return Number((row as { id: number }).id);
  }

  async photos(incidentId: number): Promise<PhotoRecord[]> {
    const rows = await this.knex('incident_photos').where({ incident_id: incidentId }).orderBy('id').select('id', 'incident_id', 'stage', 'content_type', 'size', 'sha256', 'created_at');
    return rows.map((r) => ({ id: Number(r.id), incidentId: Number(r.incident_id), stage: r.stage, contentType: r.content_type, size: Number(r.size), sha256: r.sha256, createdAt: date(r.created_at)! }));
  }

  async photo(incidentId: number, photoId: number): Promise<{ contentType: string; bytes: Buffer; sha256: string } | null> {
    const row = await this.knex('incident_photos').where({ incident_id: incidentId, id: photoId }).first('content_type', 'bytes', 'sha256');
    return row ? { contentType: row.content_type, bytes: Buffer.from(row.bytes), sha256: row.sha256 } : null;
  }
}



/** Governance codes top first, and the scope keys of every system's chain. */
function withPaths<T extends { chain: ChainUnit[]; grids: PointAnswer['systems']; system: string }>(row: T): T & { unitPath: string[]; scopeKeys: string[] } {
  const unitPath = row.chain.map((u) => u.code).reverse();
  const keys = new Set<string>();
  for (const s of row.grids) {
    keys.add(`${s.system}:`);
    for (const link of s.chain) keys.add(`${s.system}:${link.code}`);
  }
  return { ...row, unitPath, scopeKeys: [...keys] };
}
