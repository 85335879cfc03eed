import type { Knex } from 'knex';
import type { AreaScope } from '../kernel/scope';
import { BUCKETS, bucketOf, bucketRange, percentileCont, P90 } from './stats-histogram';

export interface StatsQuery {
  from: Date;
  to: Date;
  now: Date;
  unit?: string;
  by: 'unit' | 'department' | 'worker' | 'category';
  scope: AreaScope;
  /** `raw` reads every case of the period (as before the day table); the default picks the day table when it can. */
  method?: 'auto' | 'raw';
}

export interface StatsRow {
  key: string | null;
  reported: number;
  registered: number;
  dispatched: number;
  closed: number;
  closedOnTime: number;
  reworked: number;
  postponed: number;
  overdue: number;
  yellow: number;
  red: number;
  meanHandlingMs: number | null;
  p90HandlingMs: number | null;
}

/** Sums of one group before the rates; `values` are exact handling times read from case rows. */
interface Acc {
  reported: number;
  registered: number;
  dispatched: number;
  closed: number;
  closedOverdue: number;
  reworked: number;
  postponed: number;
  overdue: number;
  yellow: number;
  red: number;
  handled: number;
  handledMs: bigint;
  hist: number[];
  values: number[];
}

const emptyAcc = (): Acc => ({
  reported: 0,
  registered: 0,
  dispatched: 0,
  closed: 0,
  closedOverdue: 0,
  reworked: 0,
  postponed: 0,
  overdue: 0,
  yellow: 0,
  red: 0,
  handled: 0,
  handledMs: 0n,
  hist: new Array<number>(BUCKETS).fill(0),
  values: [],
});

const DAY_MS = 86_400_000;
const BEIJING_MS = 8 * 3_600_000;
/** The Beijing midnight at or after `t`, and at or before it (China keeps UTC+8 all year). */
const midnightAfter = (t: Date) => new Date(Math.ceil((+t + BEIJING_MS) / DAY_MS) * DAY_MS - BEIJING_MS);
const midnightBefore = (t: Date) => new Date(Math.floor((+t + BEIJING_MS) / DAY_MS) * DAY_MS - BEIJING_MS);
const beijingDay = (midnight: Date) => new Date(+midnight + BEIJING_MS).toISOString().slice(0, 10);

/**
 * Indicators over the cases reported in [from, to) (definitions: README "Incident statistics").
 *
 * For the whole territory or a unit of the top two levels, grouped by child unit, department or category,
 * whole Beijing days are read from the day table (migration 034), cards and "overdue now" from
 * `incident_clocks`, and only the partial days at the period's ends from the case rows; the answer equals
 * the one-pass aggregate over the case rows (`method: 'raw'`), which answers everything else: workers,
 * deeper units and scoped callers (whose area can be any system's grids).
 */
export async function incidentStats(knex: Knex | Knex.Transaction, query: StatsQuery): Promise<{ rows: StatsRow[]; total: StatsRow }> {
  return (knex as Knex).transaction(async (trx) => {
    // One snapshot for the several reads below (a nested call is a savepoint: it already has one).
    if (!(knex as Knex.Transaction).isTransaction) await trx.raw('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const d0 = midnightAfter(query.from);
    const d1 = midnightBefore(query.to);
    const rollup = query.method !== 'raw' && query.scope === 'all' && query.by !== 'worker' && +d0 < +d1 && (await covered(trx, query.unit));
    if (rollup) {
      const answer = await fromDays(trx, query, d0, d1);
      if (answer) return answer;
    }
    return fromCases(trx, query);
  });
}

/** Whether the day table holds the unit's subtree: the territory, or a unit of the top two levels with cases. */
async function covered(trx: Knex.Transaction, unit: string | undefined): Promise<boolean> {
  if (unit === undefined) return true;
  const { rows } = await trx.raw(`SELECT EXISTS (SELECT 1 FROM incident_stats_days WHERE anc = ?) AS ok`, [unit]);
  return rows[0].ok === true || rows[0].ok === 't';
}

/** The group key over a table alias: the child unit of `unit` on the case's path, or a column. */
function keyOf(by: StatsQuery['by'], unit: string | undefined, alias: string): { sql: string; params: Knex.RawBinding[] } {
  if (by === 'unit') return unit ? { sql: `${alias}.unit_path[array_position(${alias}.unit_path, ?::text) + 1]`, params: [unit] } : { sql: `${alias}.unit_path[1]`, params: [] };
  return { sql: `${alias}.${{ department: 'department', worker: 'handler', category: 'category' }[by]}`, params: [] };
}

function unitFilter(unit: string | undefined, alias: string): { sql: string; params: Knex.RawBinding[] } {
  return unit ? { sql: ` AND ${alias}.unit_path @> ?::text[]`, params: [[unit]] } : { sql: '', params: [] };
}

/** The counted columns of a statistics row (snake case) by the accumulator's field. */
const COUNTED = {
  reported: 'reported',
  registered: 'registered',
  dispatched: 'dispatched',
  closed: 'closed',
  closedOverdue: 'closed_overdue',
  reworked: 'reworked',
  postponed: 'postponed',
  overdue: 'overdue',
  yellow: 'yellow',
  red: 'red',
  handled: 'handled',
} as const;
type Counted = keyof typeof COUNTED;

/** Adds a row's counts of `fields` to the accumulator. */
function addCounts(a: Acc, r: Record<string, unknown>, fields: readonly Counted[]): void {
  for (const f of fields) a[f] += Number(r[COUNTED[f]]);
}

const DAY_COUNTS: readonly Counted[] = ['reported', 'registered', 'dispatched', 'closed', 'closedOverdue', 'reworked', 'postponed', 'overdue', 'handled'];

async function fromDays(trx: Knex.Transaction, query: StatsQuery, d0: Date, d1: Date): Promise<{ rows: StatsRow[]; total: StatsRow } | null> {
  const groups = new Map<string | null, Acc>();
  const acc = (key: string | null) => {
    let a = groups.get(key);
    if (!a) groups.set(key, (a = emptyAcc()));
    return a;
  };
  const dim = query.by;
  // 1. Whole days: the day table.
  const days = await trx.raw(
    `SELECT key, reported, registered, dispatched, closed, closed_overdue, reworked, postponed, overdue, handled, handled_ms, hist
     FROM incident_stats_days WHERE anc = ? AND dim = ? AND day >= ?::date AND day < ?::date`,
    [query.unit ?? '', dim, beijingDay(d0), beijingDay(d1)],
  );
  for (const r of days.rows as Record<string, unknown>[]) {
    const a = acc(r.key === '' ? null : (r.key as string));
    addCounts(a, r, DAY_COUNTS);
    a.handledMs += BigInt(r.handled_ms as string | number);
    const hist = r.hist as number[];
    for (let b = 0; b < BUCKETS; b++) a.hist[b]! += hist[b]!;
  }
  // 2. Whole days: cards and "overdue now" from the scan's table (they change without the case row).
  const ck = keyOf(dim, query.unit, 'k');
  const cu = unitFilter(query.unit, 'k');
  const cards = await trx.raw(
    `SELECT ${ck.sql} AS key, count(k.yellow_at) AS yellow, count(k.red_at) AS red,
       count(*) FILTER (WHERE NOT k.was_overdue AND (k.card = 'red' OR k.due_at < ?)) AS overdue,
       count(*) FILTER (WHERE k.closed AND NOT k.was_overdue AND k.card = 'red') AS closed_overdue
     FROM incident_clocks k
     WHERE k.reported_at >= ? AND k.reported_at < ?${cu.sql} AND (k.card <> 'none' OR (k.card <> 'red' AND k.due_at < ?))
     GROUP BY 1`,
    [...ck.params, query.now, d0, d1, ...cu.params, query.now],
  );
  for (const r of cards.rows as Record<string, unknown>[]) {
    addCounts(acc((r.key as string) ?? null), r, ['yellow', 'red', 'overdue', 'closedOverdue']);
  }
  // 3. The partial days at the ends: the case rows, with their handling times.
  if (+query.from < +d0 || +d1 < +query.to) {
    const ik = keyOf(dim, query.unit, 'i');
    const iu = unitFilter(query.unit, 'i');
    const edges = await trx.raw(
      `SELECT ${ik.sql} AS key, count(*) AS reported, count(i.registered_at) AS registered, count(i.dispatched_at) AS dispatched,
         count(i.closed_at) AS closed, count(*) FILTER (WHERE i.closed_at IS NOT NULL AND (i.was_overdue OR k.card = 'red')) AS closed_overdue,
         count(*) FILTER (WHERE i.reworks > 0) AS reworked, count(*) FILTER (WHERE i.postponements > 0) AS postponed,
         count(*) FILTER (WHERE i.was_overdue OR k.card = 'red' OR i.due_at < ?) AS overdue,
         count(k.yellow_at) AS yellow, count(k.red_at) AS red, count(i.handling_working_ms) AS handled,
         coalesce(sum(i.handling_working_ms), 0) AS handled_ms,
         array_agg(i.handling_working_ms) FILTER (WHERE i.handling_working_ms IS NOT NULL) AS ms
       FROM incidents i JOIN incident_clocks k ON k.id = i.id
       WHERE ((i.reported_at >= ? AND i.reported_at < ?) OR (i.reported_at >= ? AND i.reported_at < ?))${iu.sql}
       GROUP BY 1`,
      [...ik.params, query.now, query.from, d0, d1, query.to, ...iu.params],
    );
    for (const r of edges.rows as Record<string, unknown>[]) {
      const a = acc((r.key as string) ?? null);
      addCounts(a, r, [...DAY_COUNTS, 'yellow', 'red']);
      a.handledMs += BigInt(r.handled_ms as string | number);
      for (const v of ((r.ms as unknown[]) ?? []).map(Number)) {
        a.values.push(v);
        a.hist[bucketOf(v)]! += 1;
      }
    }
  }
  // A group whose cases all moved away leaves zero rows in the day table.
  for (const [key, a] of groups) if (a.reported === 0) groups.delete(key);
  const total = emptyAcc();
  for (const a of groups.values()) {
    for (const f of ['reported', 'registered', 'dispatched', 'closed', 'closedOverdue', 'reworked', 'postponed', 'overdue', 'yellow', 'red', 'handled'] as const) total[f] += a[f];
    total.handledMs += a.handledMs;
    for (let b = 0; b < BUCKETS; b++) total.hist[b]! += a.hist[b]!;
    total.values.push(...a.values);
  }
  // 4. The p90: the bucket holding each needed rank, then that bucket's cases read exactly (whole days).
  const wanted = new Map<string | null | typeof TOTAL, { ranks: number[]; acc: Acc }>();
  for (const [key, a] of [...groups, [TOTAL, total] as const]) {
    if (a.handled === 0) continue;
    const pos = P90 * (a.handled - 1);
    wanted.set(key, { ranks: [Math.floor(pos), Math.ceil(pos)], acc: a });
  }
  const buckets = new Set<number>();
  const located = new Map<string | null | typeof TOTAL, { bucket: number; before: number }[]>();
  for (const [key, { ranks, acc: a }] of wanted) {
    located.set(
      key,
      ranks.map((rank) => {
        let before = 0;
        let b = 0;
        while (before + a.hist[b]! <= rank) before += a.hist[b++]!;
        buckets.add(b);
        return { bucket: b, before };
      }),
    );
  }
  const inBucket = new Map<number, { key: string | null; ms: number }[]>();
  if (buckets.size) {
    const ik = keyOf(dim, query.unit, 'i');
    const iu = unitFilter(query.unit, 'i');
    const parts: string[] = [];
    const params: Knex.RawBinding[] = [];
    for (const b of buckets) {
      const { lo, hi } = bucketRange(b);
      parts.push(
        `SELECT ${b} AS b, ${ik.sql} AS key, i.handling_working_ms AS ms FROM incidents i
         WHERE i.handling_working_ms >= ? AND i.handling_working_ms < ? AND i.reported_at >= ? AND i.reported_at < ?${iu.sql}`,
      );
      params.push(...ik.params, lo, hi, d0, d1, ...iu.params);
    }
    const { rows } = await trx.raw(parts.join(' UNION ALL '), params);
    for (const r of rows as Record<string, unknown>[]) {
      const b = Number(r.b);
      if (!inBucket.has(b)) inBucket.set(b, []);
      inBucket.get(b)!.push({ key: (r.key as string) ?? null, ms: Number(r.ms) });
    }
  }
  const p90 = new Map<string | null | typeof TOTAL, number>();
  for (const [key, spots] of located) {
    const { acc: a, ranks } = wanted.get(key)!;
    const picked: number[] = [];
    for (const [j, { bucket, before }] of spots.entries()) {
      const exact = (inBucket.get(bucket) ?? []).filter((v) => key === TOTAL || v.key === key).map((v) => v.ms);
      const sorted = [...exact, ...a.values.filter((v) => bucketOf(v) === bucket)].sort((x, y) => x - y);
      // The day table and the case rows disagree (they cannot in one snapshot): answer from the case rows.
      if (sorted.length !== a.hist[bucket]) return null;
      picked.push(sorted[ranks[j]! - before]!);
    }
    p90.set(key, percentileCont(P90, a.handled, picked[0]!, picked[1]!));
  }
  // 5. The order and the means as PostgreSQL gives them (collation; numeric division, as avg() does).
  const keys = [...groups.keys()];
  const { rows: ordered } = await trx.raw(
    `SELECT u.i, (u.s::numeric / nullif(u.n, 0))::float8 AS mean FROM unnest(?::text[], ?::numeric[], ?::bigint[], ?::int[]) AS u(k, s, n, i)
     ORDER BY u.i = 0, u.k NULLS LAST`,
    [
      [null, ...keys],
      [total.handledMs.toString(), ...keys.map((k) => groups.get(k)!.handledMs.toString())],
      [total.handled, ...keys.map((k) => groups.get(k)!.handled)],
      [0, ...keys.map((_, i) => i + 1)],
    ] as unknown as Knex.RawBinding[],
  );
  const toRow = (key: string | null, a: Acc, mean: unknown, p: number | undefined): StatsRow => ({
    key,
    reported: a.reported,
    registered: a.registered,
    dispatched: a.dispatched,
    closed: a.closed,
    closedOnTime: a.closed - a.closedOverdue,
    reworked: a.reworked,
    postponed: a.postponed,
    overdue: a.overdue,
    yellow: a.yellow,
    red: a.red,
    meanHandlingMs: mean === null ? null : Number(mean),
    p90HandlingMs: p === undefined ? null : p,
  });
  const rows: StatsRow[] = [];
  let totalRow: StatsRow | null = null;
  for (const r of ordered as { i: number; mean: unknown }[]) {
    const i = Number(r.i);
    if (i === 0) totalRow = { ...toRow(null, total, r.mean, p90.get(TOTAL)), key: 'total' };
    else rows.push(toRow(keys[i - 1]!, groups.get(keys[i - 1]!)!, r.mean, p90.get(keys[i - 1]!)));
  }
  return { rows, total: totalRow! };
}

const TOTAL = Symbol('total');

/** Every case of the period in one pass (the covering index of migration 031), as before the day table. */
async function fromCases(trx: Knex.Transaction, query: StatsQuery): Promise<{ rows: StatsRow[]; total: StatsRow }> {
  const key = keyOf(query.by, query.unit, 'i');
  // In the order the statement reads them: now (the select list), the group key's unit, the filters.
  const params: Knex.RawBinding[] = [query.now, ...key.params, query.from, query.to];
  let where = 'i.reported_at >= ? AND i.reported_at < ?';
  if (query.unit) {
    where += ' AND i.unit_path @> ?::text[]';
    params.push([query.unit]);
  }
  if (query.scope !== 'all') {
    where += ' AND i.scope_keys && ?::text[]';
    params.push(query.scope.map((root) => `${root.system}:${root.code ?? ''}`));
  }
  // The p90 sorts the period's cases by group: 64 MB keeps a district's year (~25 MB) out of temp files.
  await trx.raw(`SELECT set_config('work_mem', '64MB', true)`);
  const { rows } = await trx.raw(
    `SELECT key, GROUPING(key) = 1 AS is_total,
       count(*) AS reported,
       count(registered_at) AS registered,
       count(dispatched_at) AS dispatched,
       count(closed_at) AS closed,
       count(*) FILTER (WHERE closed_at IS NOT NULL AND NOT was_overdue) AS closed_on_time,
       count(*) FILTER (WHERE reworks > 0) AS reworked,
       count(*) FILTER (WHERE postponements > 0) AS postponed,
       count(*) FILTER (WHERE was_overdue OR due_at < ?) AS overdue,
       count(yellow_at) AS yellow,
       count(red_at) AS red,
       avg(handling_working_ms)::float8 AS mean_ms,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY handling_working_ms)::float8 AS p90_ms
     FROM (SELECT ${key.sql} AS key, i.registered_at, i.dispatched_at, i.closed_at, i.was_overdue OR k.card = 'red' AS was_overdue,
             i.reworks, i.postponements, i.due_at, k.yellow_at, k.red_at, i.handling_working_ms
           FROM incidents i JOIN incident_clocks k ON k.id = i.id WHERE ${where}) c
     GROUP BY GROUPING SETS ((key), ()) ORDER BY 2, 1 NULLS LAST`,
    params,
  );
  const toRow = (r: Record<string, unknown>): StatsRow => ({
    key: (r.key as string) ?? null,
    reported: Number(r.reported),
    registered: Number(r.registered),
    dispatched: Number(r.dispatched),
    closed: Number(r.closed),
    closedOnTime: Number(r.closed_on_time),
    reworked: Number(r.reworked),
    postponed: Number(r.postponed),
    overdue: Number(r.overdue),
    yellow: Number(r.yellow),
    red: Number(r.red),
    meanHandlingMs: r.mean_ms === null ? null : Number(r.mean_ms),
    p90HandlingMs: r.p90_ms === null ? null : Number(r.p90_ms),
  });
  const isTotal = (r: Record<string, unknown>) => r.is_total === true || r.is_total === 't';
  const total = (rows as Record<string, unknown>[]).find(isTotal);
  return {
    rows: (rows as Record<string, unknown>[]).filter((r) => !isTotal(r)).map(toRow),
    total: total ? { ...toRow(total), key: 'total' } : { ...toRow({ ...ZERO }), key: 'total' },
  };
}

const ZERO = { reported: 0, registered: 0, dispatched: 0, closed: 0, closed_on_time: 0, reworked: 0, postponed: 0, overdue: 0, yellow: 0, red: 0, mean_ms: null, p90_ms: null };
