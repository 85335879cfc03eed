import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readXlsxRows } from '../formats/xlsx-reader';
import { locatePoint } from '../point';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { createIncidents, type IncidentService } from './index';
import type { ActorInput, TransitionInput } from './service';
import { bucketOf } from './stats-histogram';
import { governanceGrids, governanceSystem, pointIn } from './testing';

const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });
const bj = (local: string) => new Date(`${local}+08:00`);
const day = (hhmm: string) => bj(`2026-11-02T${hhmm}`);
const cc: ActorInput = { kind: 'command_centre', name: '指挥中心' };

/**
 * The hand-computed fixture (README "Incident statistics"); Monday 2026-11-02, working day 08:30–12:00,
 * 13:30–17:30, statistics seen at 2026-11-03 09:00 over November:
 * - A (Q1A1, routine): registered 09:00, fed back 10:00, closed 10:30 → 1.5 working hours, on time;
 * - B (Q1A1, routine): fed back 10:00, returned for rework 10:30, fed back 11:00, closed 11:30 → 2.5 h, on time;
 * - C (Q1B1, routine): due 11:00, fed back 15:00 (late), closed 15:30 → 5 h (lunch excluded), not on time;
 * - D (Q2A1, coordination): registered, dispatched, postponed by 2 working days, still in progress;
 * - E (Q2B1): rejected; F (Q2B1): never registered, due 11:00 → overdue;
 * - G (Q1A1): reported in October, outside the period.
 */
describe.each(engines())('incident statistics on %s PostGIS', (engine) => {
  let t: TestApp;
  let svc: IncidentService;
  const now = bj('2026-11-03T09:00');

  async function report(code: string, category: string, at = day('09:00')) {
    return (await svc.create({ category, point: pointIn(code), source: 'patrol', description: code }, { at })).incident.id;
  }
  async function step(id: number, hhmm: string, action: TransitionInput['action'], actor: ActorInput, extra: Partial<TransitionInput> = {}) {
    await svc.transition(id, { action, actor, ...extra }, { at: day(hhmm) });
  }
  const worker = (unit: string, name: string): ActorInput => ({ kind: 'grid_worker', unit, name });
  const officer = (unit: string): ActorInput => ({ kind: 'unit_officer', unit, name: '干部' });

  beforeAll(async () => {
    t = await startTestApp(engine);
    svc = createIncidents(t.db.knex, locatePoint, { now: () => now });
    await t.request.post('/api/systems').send(governanceSystem).expect(201);
    await t.request.post(`/api/systems/${governanceSystem.key}/import`).send(fc(governanceGrids())).expect(200);

    const a = await report('Q1A1', '0101');
    const wA = worker('Q1A1', '王五');
    await step(a, '09:00', 'register', wA);
    await step(a, '09:00', 'dispatch', wA);
    await step(a, '09:05', 'accept', wA);
    await step(a, '10:00', 'feed_back', wA);
    await step(a, '10:30', 'close', officer('Q1A1'));

    const b = await report('Q1A1', '0101');
    await step(b, '09:00', 'register', wA);
    await step(b, '09:00', 'dispatch', wA);
    await step(b, '09:05', 'accept', wA);
    await step(b, '10:00', 'feed_back', wA);
    await step(b, '10:30', 'return_for_rework', officer('Q1A1'), { note: '未清理干净' });
    await step(b, '11:00', 'feed_back', wA);
    await step(b, '11:30', 'close', officer('Q1A1'));

    const c = await report('Q1B1', '0101');
    const wC = worker('Q1B1', '李四');
    await step(c, '09:00', 'register', wC);
    await step(c, '09:00', 'dispatch', wC);
    await step(c, '09:05', 'accept', wC);
    await step(c, '15:00', 'feed_back', wC);
    await step(c, '15:30', 'close', officer('Q1B1'));

    const d = await report('Q2A1', '0603');
    await step(d, '09:00', 'register', officer('Q2A'));
    await step(d, '09:10', 'dispatch', officer('Q2A'));
    await step(d, '09:20', 'accept', officer('Q2A'));
    await step(d, '09:30', 'request_postponement', officer('Q2A'), { note: '需协调物业', extension: { type: 'working_days', amount: 2 } });
    await step(d, '10:00', 'approve_postponement', officer('Q2'));

    const e = await report('Q2B1', '0101');
    await step(e, '09:30', 'reject', cc, { note: '重复上报' });
    await report('Q2B1', '0101');
    await report('Q1A1', '0101', bj('2026-10-30T09:00'));
  });
  afterAll(async () => t?.close());

  const november = { from: bj('2026-11-01T00:00'), to: bj('2026-12-01T00:00'), scope: 'all' as const };

  it('counts and rates per street under the district, rolled up', async () => {
    const { total, rows } = await svc.stats({ ...november, unit: 'Q', by: 'unit' });
    expect(rows.map((r) => [r.key, r.name])).toEqual([
      ['Q1', '单元Q1'],
      ['Q2', '单元Q2'],
    ]);
    const [q1, q2] = rows;
    expect(q1).toMatchObject({ reported: 3, registered: 3, dispatched: 3, closed: 3, closedOnTime: 2, reworked: 1, postponed: 0, overdue: 1, yellow: 0, red: 0 });
    expect(q1).toMatchObject({ closureRate: 1, onTimeClosureRate: 2 / 3, reworkRate: 1 / 3, postponementRate: 0, meanHandlingHours: 3 });
    expect(q1!.p90HandlingHours).toBeCloseTo(4.5, 9);
    expect(q2).toMatchObject({ reported: 3, registered: 1, dispatched: 1, closed: 0, closedOnTime: 0, reworked: 0, postponed: 1, overdue: 1 });
    expect(q2).toMatchObject({ closureRate: 0, onTimeClosureRate: null, reworkRate: 0, postponementRate: 1, meanHandlingHours: null });
    expect(total).toMatchObject({ reported: 6, registered: 4, closed: 3, closureRate: 0.75, onTimeClosureRate: 2 / 3, reworkRate: 0.25, postponementRate: 0.25, overdue: 2 });
  });

  it('rolls up from any level: a community, and the district as the top row', async () => {
    const community = await svc.stats({ ...november, unit: 'Q1A', by: 'unit' });
    expect(community.rows.map((r) => [r.key, r.reported, r.closed])).toEqual([['Q1A1', 2, 2]]);
    const top = await svc.stats({ ...november, by: 'unit' });
    expect(top.rows.map((r) => [r.key, r.reported])).toEqual([['Q', 6]]);
  });

  it('groups by worker and department, and honours the area scope', async () => {
    const workers = await svc.stats({ ...november, by: 'worker' });
    expect(workers.rows.map((r) => [r.key, r.closed, r.meanHandlingHours])).toEqual([
      ['李四', 1, 5],
      ['王五', 2, 2],
      [null, 0, null],
    ]);
    const departments = await svc.stats({ ...november, by: 'department' });
    expect(departments.rows.map((r) => [r.key, r.name, r.reported])).toEqual([
      ['city-management', '城市管理和综合执法局', 5],
      ['emergency', '应急管理局', 1],
    ]);
    const scoped = await svc.stats({ ...november, by: 'unit', unit: 'Q', scope: [{ system: governanceSystem.key, code: 'Q2' }] });
    expect(scoped.rows.map((r) => r.key)).toEqual(['Q2']);
  });

  it('counts red cards after the scan', async () => {
    // F and October's G are past their register deadline; only F is in November.
    expect(await svc.scanOverdue({ at: now })).toMatchObject({ red: 2, yellow: 0 });
    const { rows } = await svc.stats({ ...november, unit: 'Q', by: 'unit' });
    expect(rows.map((r) => [r.key, r.yellow, r.red])).toEqual([
      ['Q1', 0, 0],
      ['Q2', 0, 1],
    ]);
  });

  it('exports the monthly bulletin as CSV, zh-CN by default', async () => {
    const res = await t.request.get('/api/incidents/bulletin?period=2026-11&unit=Q').buffer(true).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.text.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe('单位编码,单位名称,上报数,立案数,派遣数,结案数,结案率,按期结案率,返工率,延期率,超期数,黄牌数,红牌数,平均处置时长(工作小时),P90处置时长(工作小时)');
    expect(lines[1]).toBe('Q1,单元Q1,3,3,3,3,100.00%,66.67%,33.33%,0.00%,1,0,0,3.0,4.5');
    expect(lines[3]).toMatch(/^,合计,6,4,4,3,75.00%,66.67%,25.00%,25.00%,/);
    const en = await t.request.get('/api/incidents/bulletin?period=2026-Q4&unit=Q&lang=en').expect(200);
    expect(en.text).toMatch(/unit code,unit name,reported/);
    await t.request.get('/api/incidents/bulletin?period=2026-13').expect(400);
  });

  it('exports the bulletin as a workbook whose figures equal the statistics endpoint, in the caller\'s area', async () => {
    const xlsx = async (query: string, auth?: string) => {
      const req = t.request.get(`/api/incidents/bulletin?${query}&format=xlsx`);
      if (auth) req.set('Authorization', auth);
      const res = await req.buffer(true).parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      }).expect(200);
      expect(res.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bulletin-')), 'b.xlsx');
      fs.writeFileSync(file, res.body as Buffer);
      const rows: string[][] = [];
      for await (const { values } of readXlsxRows(file)) rows.push(values);
      fs.rmSync(path.dirname(file), { recursive: true });
      return rows;
    };
    const stats = async (query: string, auth?: string) => {
      const req = t.request.get(`/api/incidents/stats?${query}`);
      if (auth) req.set('Authorization', auth);
      return (await req.expect(200)).body as { total: Record<string, number | null>; rows: Record<string, number | string | null>[] };
    };
    const FIELDS = ['reported', 'registered', 'dispatched', 'closed', 'closureRate', 'onTimeClosureRate', 'reworkRate', 'postponementRate', 'overdue', 'yellow', 'red', 'meanHandlingHours', 'p90HandlingHours'];
    const RATES = new Set(['closureRate', 'onTimeClosureRate', 'reworkRate', 'postponementRate']);
    /** The workbook's cells as the endpoint's numbers: rates in percent to 0.01, hours to 0.1, empty = null. */
    const expected = (row: Record<string, unknown>) => {
      const cells = FIELDS.map((f) => {
        const v = row[f] as number | null;
        if (v === null) return '';
        return String(RATES.has(f) ? Number((v * 100).toFixed(2)) : f.endsWith('Hours') ? Number(v.toFixed(1)) : v);
      });
      // The reader ends a row at its last written cell.
      while (cells.at(-1) === '') cells.pop();
      return cells;
    };

    const sheet = await xlsx('period=2026-11&unit=Q');
    expect(sheet[0]!.slice(0, 7)).toEqual(['单位编码', '单位名称', '上报数', '立案数', '派遣数', '结案数', '结案率(%)']);
    const endpoint = await stats('from=2026-11-01&to=2026-12-01&unit=Q&by=unit');
    expect(sheet.slice(1).map((r) => r[0])).toEqual(['Q1', 'Q2', '']);
    endpoint.rows.forEach((row, i) => expect(sheet[i + 1]!.slice(2)).toEqual(expected(row)));
    expect(sheet[3]!.slice(1)).toEqual(['合计', ...expected(endpoint.total)]);
    expect(sheet[1]!.slice(2, 9)).toEqual(['3', '3', '3', '3', '100', '66.67', '33.33']);

    // A street officer of Q2 gets only Q2's figures, in the workbook as from the endpoint.
    await t.services.access.createUser({ username: 'bulletin-q2', password: 'bulletin-password-1', roles: [{ role: 'street', system: governanceSystem.key, code: 'Q2' }] });
    const auth = `Bearer ${(await t.services.access.login('bulletin-q2', 'bulletin-password-1', '127.0.0.1')).token}`;
    const scoped = await xlsx('period=2026-11&unit=Q&lang=en', auth);
    const scopedStats = await stats('from=2026-11-01&to=2026-12-01&unit=Q&by=unit', auth);
    expect(sheet.length).toBe(4);
    expect(scoped.map((r) => r.slice(0, 2))).toEqual([['unit code', 'unit name'], ['Q2', '单元Q2'], ['', 'total']]);
    expect(scoped[1]!.slice(2)).toEqual(expected(scopedStats.rows[0]!));
    expect(scoped[2]!.slice(2)).toEqual(expected(scopedStats.total));
    expect(scopedStats.total.reported).toBe(3);
  });

  it('prints the bulletin as a zh-CN HTML page (English with lang=en), the same figures as the CSV', async () => {
    const res = await t.request.get('/api/incidents/bulletin?period=2026-11&unit=Q&format=html').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = res.text;
    expect(html).toContain('<html lang="zh-CN">');
    expect(html).toContain('<h1>2026年11月事件处置月报</h1>');
    expect(html).toContain('@page { size: A4 landscape');
    expect(html).toContain('thead { display: table-header-group; }');
    expect(html).toMatch(/单元Q（Q） · 2026-11-01 – 2026-11-30/);
    expect(html).toContain('本期上报事件 6 件，立案 4 件，结案 3 件，结案率 75.00%');
    const cells = [...html.matchAll(/<tr[^>]*>(<td.*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1]));
    const csv = (await t.request.get('/api/incidents/bulletin?period=2026-11&unit=Q').buffer(true).expect(200)).text.replace(/^\uFEFF/, '').trim().split('\r\n').slice(1);
    expect(cells.map((r) => r.join(','))).toEqual(csv);
    expect(html).not.toMatch(/https?:\/\//);
    const en = (await t.request.get('/api/incidents/bulletin?period=2026-Q4&unit=Q&format=html&lang=en').expect(200)).text;
    expect(en).toContain('<h1>Quarterly incident bulletin, Q4 2026</h1>');
    expect(en).toContain('Area: 单元Q (Q) · 2026-10-01 – 2026-12-31');
    await t.request.get('/api/incidents/bulletin?period=2026-11&format=pdf').expect(400);
  });

  it('takes a year of holidays and adjusted working days from an administrator, in place of the provisional year', async () => {
    const before = (await t.request.get('/api/incidents/calendar?year=2027').expect(200)).body.years[0];
    expect(before).toMatchObject({ year: 2027, source: 'statutory', provisional: true });
    const thursday = bj('2027-10-07T10:00');
    const oneDay = { type: 'working_days', amount: 1 } as const;
    expect(t.services.incidents.calendar.deadline(thursday, oneDay).due).toEqual(bj('2027-10-08T10:00'));
    // A notice as the State Council writes them: Friday 8 October off, Saturday 9 October worked instead.
    const notice = { holidays: { '2027-10-01': '国庆节', '2027-10-04': '国庆节', '2027-10-05': '国庆节', '2027-10-06': '国庆节', '2027-10-07': '国庆节', '2027-10-08': '国庆节' }, workdays: { '2027-10-09': '国庆节' }, note: '测试通知' };
    const other = createIncidents(t.db.knex, locatePoint);
    const put = await t.request.put('/api/incidents/calendar/2027').send(notice).expect(200);
    expect(put.body.days).toContainEqual({ date: '2027-10-09', working: true, adjusted: '国庆节' });
    expect(t.services.incidents.calendar.deadline(bj('2027-09-30T10:00'), oneDay).due).toEqual(bj('2027-10-09T10:00'));
    const after = (await t.request.get('/api/incidents/calendar?year=2027').expect(200)).body.years[0];
    expect(after).toMatchObject({ year: 2027, source: 'configured', provisional: false });
    // Another process (here another service over the same database) follows once it reloads, as its scanner does.
    expect(other.calendar.isWorkingDay(Date.parse('2027-10-08T00:00:00Z') / 86_400_000)).toBe(true);
    expect(await other.loadCalendar()).toBe(1);
    expect(other.calendar.isWorkingDay(Date.parse('2027-10-08T00:00:00Z') / 86_400_000)).toBe(false);
    expect(other.calendar.isWorkingDay(Date.parse('2027-10-09T00:00:00Z') / 86_400_000)).toBe(true);

    const bad = await t.request.put('/api/incidents/calendar/2027').send({ holidays: {}, workdays: { '2027-10-11': '国庆节' } }).expect(422);
    expect(bad.body.error).toMatchObject({ code: 'invalid_calendar', message: expect.stringMatching(/2027-10-11 is a weekday/) });
    expect((await t.request.put('/api/incidents/calendar/2027').send({ holidays: { '2028-01-01': '元旦' }, workdays: {} }).expect(422)).body.error.message).toMatch(/not in 2027/);
    await t.request.put('/api/incidents/calendar/2027').send({ holidays: {} }).expect(400);
    await t.services.access.createUser({ username: 'calendar-street', password: 'calendar-password-1', roles: [{ role: 'street', system: governanceSystem.key, code: 'Q1' }] });
    const token = (await t.services.access.login('calendar-street', 'calendar-password-1', '127.0.0.1')).token;
    await t.request.put('/api/incidents/calendar/2027').set('Authorization', `Bearer ${token}`).send(notice).expect(403);
  });

  it('serves the stats, the classification and the calendar over HTTP', async () => {
    const stats = (await t.request.get('/api/incidents/stats?from=2026-11-01&to=2026-12-01&unit=Q&by=unit').expect(200)).body;
    expect(stats.rows.map((r: { key: string; reported: number }) => [r.key, r.reported])).toEqual([
      ['Q1', 3],
      ['Q2', 3],
    ]);
    await t.request.get('/api/incidents/stats?from=2026-12-01&to=2026-11-01').expect(400);
    const classification = (await t.request.get('/api/incidents/classification').expect(200)).body;
    expect(classification.classes).toHaveLength(6);
    const calendar = (await t.request.get('/api/incidents/calendar?year=2026').expect(200)).body;
    expect(calendar).toMatchObject({ timezone: 'Asia/Shanghai', workingDayHours: 7.5, years: [{ year: 2026, source: 'chinese-days' }] });
    expect(calendar.years[0].days).toContainEqual({ date: '2026-10-10', working: true, adjusted: '国庆节' });
  });

  it('keeps the day table equal to a recomputation from the case rows through re-open, postponement, escalation, re-route and the scan', async () => {
    const at = (d: string, hhmm: string) => ({ at: bj(`2026-11-${d}T${hhmm}`) });
    const go = (id: number, d: string, hhmm: string, action: TransitionInput['action'], actor: ActorInput, extra: Partial<TransitionInput> = {}) =>
      svc.transition(id, { action, actor, ...extra }, at(d, hhmm));
    const wA = worker('Q1A1', '王五');
    // H: closed, re-opened, postponed, closed again (its handling time changes bucket).
    const h = (await svc.create({ category: '0101', point: pointIn('Q1A1'), source: 'patrol', description: 'H' }, at('05', '09:00'))).incident.id;
    for (const [hhmm, action] of [['09:00', 'register'], ['09:00', 'dispatch'], ['09:05', 'accept'], ['10:00', 'feed_back']] as const) await go(h, '05', hhmm, action, wA);
    await go(h, '05', '10:30', 'close', cc);
    await go(h, '06', '09:00', 'reopen', cc, { note: '群众再次反映' });
    await go(h, '06', '09:10', 'accept', wA);
    await go(h, '06', '09:20', 'request_postponement', wA, { note: '等待材料', extension: { type: 'working_days', amount: 1 } });
    await go(h, '06', '09:30', 'approve_postponement', cc);
    await go(h, '09', '16:00', 'feed_back', wA);
    await go(h, '09', '16:30', 'close', cc);
    // I: urgent, escalated by hand, then red and escalated again by the scan; J: re-routed to another street.
    const i = (await svc.create({ category: '0404', point: pointIn('Q2A1'), source: 'hotline', description: 'I' }, at('09', '14:00'))).incident.id;
    await go(i, '09', '14:05', 'escalate', cc, { note: '扩大' });
    const j = (await svc.create({ category: '0104', point: pointIn('Q1B1'), source: 'resident', description: 'J' }, at('12', '08:00'))).incident.id;
    await go(j, '12', '08:30', 'register', cc);
    await svc.reroute(j, { actor: cc, point: pointIn('Q2B2'), note: '位置纠正' }, at('12', '09:00'));
    await go(j, '12', '09:10', 'hand_to_department', cc, { department: 'emergency' });
    expect((await svc.scanOverdue({ at: bj('2026-11-20T09:00') })).red).toBeGreaterThan(0);
    expect((await svc.get(i)).incident).toMatchObject({ card: 'red', wasOverdue: true, escalations: 2, handling: { unit: { code: 'Q' } } });

    // The day table against the case rows, summed here independently.
    const cases: Record<string, unknown>[] = (
      await t.db.knex.raw(`SELECT reported_at, unit_path, department, category, registered_at, dispatched_at, closed_at, reworks, postponements, was_overdue, handling_working_ms FROM incidents`)
    ).rows;
    const want = new Map<string, Record<string, number | string>>();
    for (const c of cases) {
      const path = c.unit_path as string[];
      const day = new Date(+new Date(c.reported_at as string) + 8 * 3_600_000).toISOString().slice(0, 10);
      const ms = c.handling_working_ms === null ? null : Number(c.handling_working_ms);
      for (const [anc, pos] of [['', 0], ...path.slice(0, 2).map((u, k) => [u, k + 1] as const)] as const) {
        for (const [dim, key] of [['unit', path[pos]], ['department', c.department], ['category', c.category]] as const) {
          const id = [anc, dim, day, (key as string | null) ?? ''].join('|');
          const w = want.get(id) ?? { id, reported: 0, registered: 0, dispatched: 0, closed: 0, closed_overdue: 0, reworked: 0, postponed: 0, overdue: 0, handled: 0, handled_ms: 0, hist: '' };
          const closed = c.closed_at !== null;
          w.reported = +w.reported + 1;
          w.registered = +w.registered + Number(c.registered_at !== null);
          w.dispatched = +w.dispatched + Number(c.dispatched_at !== null);
          w.closed = +w.closed + Number(closed);
          w.closed_overdue = +w.closed_overdue + Number(closed && c.was_overdue === true);
          w.reworked = +w.reworked + Number(Number(c.reworks) > 0);
          w.postponed = +w.postponed + Number(Number(c.postponements) > 0);
          w.overdue = +w.overdue + Number(c.was_overdue === true);
          if (ms !== null) {
            w.handled = +w.handled + 1;
            w.handled_ms = +w.handled_ms + ms;
            w.hist = `${w.hist}${bucketOf(ms)},`;
          }
          want.set(id, w);
        }
      }
    }
    const table: Record<string, unknown>[] = (await t.db.knex.raw(`SELECT anc, dim, day::text AS day, key, reported, registered, dispatched, closed, closed_overdue, reworked, postponed, overdue, handled, handled_ms, hist FROM incident_stats_days`)).rows;
    const got = table
      .map((r) => {
        const hist = (r.hist as number[]).flatMap((n, b) => Array<string>(n).fill(`${b},`)).join('');
        return { id: [r.anc, r.dim, r.day, r.key].join('|'), reported: r.reported, registered: r.registered, dispatched: r.dispatched, closed: r.closed, closed_overdue: r.closed_overdue, reworked: r.reworked, postponed: r.postponed, overdue: r.overdue, handled: r.handled, handled_ms: Number(r.handled_ms), hist };
      })
      .filter((r) => r.reported !== 0 || r.handled !== 0);
    const sortHist = (w: Record<string, number | string>): Record<string, unknown> & { id: unknown } => ({ ...w, id: w.id, hist: String(w.hist).split(',').filter(Boolean).map(Number).sort((x, y) => x - y).map((b) => `${b},`).join('') });
    const byId = (a: { id: unknown }, b: { id: unknown }) => String(a.id).localeCompare(String(b.id));
    expect(got.sort(byId)).toEqual([...want.values()].map(sortHist).sort(byId));
    expect(got.some((r) => String(r.id).startsWith('Q2|unit|2026-11-12|Q2B'))).toBe(true);

    // Statistics read from the day table equal the one pass over the case rows, p90 included, with whole days
    // and with partial days at both ends.
    const periods = [november, { from: bj('2026-11-02T10:00'), to: bj('2026-11-12T08:15'), scope: 'all' as const }];
    for (const period of periods) {
      for (const q of [{ by: 'unit' }, { by: 'unit', unit: 'Q' }, { by: 'unit', unit: 'Q1' }, { by: 'department', unit: 'Q' }, { by: 'category' }] as const) {
        expect(await svc.stats({ ...period, ...q })).toEqual(await svc.stats({ ...period, ...q, method: 'raw' }));
      }
    }
    const q = await svc.stats({ ...periods[1]!, by: 'unit', unit: 'Q' });
    expect(q.total.reported).toBeGreaterThan(0);
    expect(q.total.p90HandlingHours).not.toBeNull();
  });

  it('puts a handling time in the same histogram bucket as PostgreSQL does', async () => {
    const times = [0, 59_999, 60_000, 71_351, 71_352, 1_800_000, 2_780_457_000, 2_780_457_001, 9e9];
    const { rows } = await t.db.knex.raw(`SELECT incident_hist_bucket(x) AS b FROM unnest(?::bigint[]) WITH ORDINALITY AS u(x, n) ORDER BY n`, [times]);
    expect(rows.map((r: { b: number }) => Number(r.b))).toEqual(times.map(bucketOf));
    expect(times.map(bucketOf)).toEqual([0, 0, 1, 1, 2, 20, 62, 63, 63]);
  });
});
