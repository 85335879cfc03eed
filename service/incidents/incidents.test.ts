import { locatePoint } from '../point';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromWgs84 } from '../geometry/crs';
import { engines } from '../test/db';
import { withDatabase } from '../test/global-setup';
import { startTestApp, type TestApp } from '../test/app';
import { createIncidents, type IncidentService } from './index';
import { actorFor, governanceGrids, governanceSystem, healthGrids, healthSystem, pointIn } from './testing';
import { ACTIONS, ROUTES, STATUSES, WORKFLOWS, type Action, type Route, type Status, type TransitionRow } from './workflow';
import type { TransitionInput } from './service';

const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });
const bj = (local: string) => new Date(`${local}+08:00`);

/** A category per route whose case has a department and is handled one level above the grid or in it. */
const CATEGORY: Record<Route, string> = { routine: '0101', coordination: '0603', urgent: '0404', approval: '0605' };

/** Shortest sequence of table rows from "reported" to each status, avoiding escalation where possible. */
function pathsFrom(route: Route): Map<Status, TransitionRow[]> {
  const paths = new Map<Status, TransitionRow[]>([['reported', []]]);
  const queue: Status[] = ['reported'];
  const rows = [...WORKFLOWS[route]].sort((a, b) => Number(a.action === 'escalate') - Number(b.action === 'escalate'));
  while (queue.length) {
    const s = queue.shift()!;
    for (const row of rows) {
      if (!row.from.includes(s) || !row.to || paths.has(row.to)) continue;
      paths.set(row.to, [...paths.get(s)!, row]);
      queue.push(row.to);
    }
  }
  return paths;
}

function extras(action: Action): Partial<TransitionInput> {
  switch (action) {
    case 'reject':
    case 'return_for_rework':
    case 'deny_postponement':
    case 'reopen':
      return { note: `reason for ${action}` };
    case 'request_postponement':
      return { note: 'needs parts', extension: { type: 'working_days', amount: 2 } };
    case 'hand_to_department':
      return { department: 'city-management' };
    case 'evaluate':
      return { evaluation: { score: 5 } };
    default:
      return {};
  }
}

describe.each(engines())('incidents on %s PostGIS', (engine) => {
  let t: TestApp;
  let clock = bj('2026-11-02T09:00');
  let svc: IncidentService;

  async function apply(id: number, row: TransitionRow, at = clock) {
    const current = (await svc.get(id)).incident;
    return svc.transition(id, { action: row.action, actor: actorFor(row.by[0]!, current), ...extras(row.action) }, { at });
  }

  beforeAll(async () => {
    t = await startTestApp(engine);
    svc = createIncidents(t.db.knex, locatePoint, { now: () => clock });
    for (const [system, grids] of [
      [governanceSystem, governanceGrids()],
      [healthSystem, healthGrids()],
    ] as const) {
      await t.request.post('/api/systems').send(system).expect(201);
      await t.request.post(`/api/systems/${system.key}/import`).send(fc(grids)).expect(200);
    }
  });
  afterAll(async () => t?.close());

  describe('reporting', () => {
    it('locates a case to the grid chain of every system, numbers and routes it', async () => {
      const res = await t.request
        .post('/api/incidents')
        .send({ category: '0101', point: pointIn('Q2B1'), source: 'patrol', description: '路边垃圾堆放', reporter: { name: '王小明', phone: '13812345678' } })
        .expect(201);
      const c = res.body;
      expect(res.headers.location).toBe(`/api/incidents/${c.id}`);
      expect(c.caseNo).toMatch(/^Q2B1-\d{8}-0001$/);
      expect(c.chain.map((u: { code: string }) => u.code)).toEqual(['Q2B1', 'Q2B', 'Q2', 'Q']);
      expect(c.grids.find((s: { system: string }) => s.system === 'inc-health').chain[0].code).toBe('H2');
      expect(c).toMatchObject({ status: 'reported', route: 'routine', handling: { level: 0, unit: { code: 'Q2B1' } }, department: 'city-management' });
      expect(c.reporter).toEqual({ name: '王**', phone: '138****5678' });
      expect(c.deadline).toMatchObject({ stage: 'reported', limit: { type: 'natural_hours', amount: 2 } });
      expect((await t.request.get(`/api/incidents/${c.id}/reporter`).expect(200)).body).toEqual({ name: '王小明', phone: '13812345678' });
      const one = (await t.request.get(`/api/incidents/${c.id}`).expect(200)).body;
      expect(one.log).toHaveLength(1);
      expect(one.log[0]).toMatchObject({ action: 'report', toStatus: 'reported' });
    });

    it('accepts the point in GCJ-02, BD-09 and a CGCS2000 Gauss-Krüger zone, landing in the same grid', async () => {
      const { x, y } = pointIn('Q1A2');
      for (const crs of ['GCJ-02', 'BD-09', 'EPSG:4527']) {
        const [px, py] = fromWgs84(crs as 'GCJ-02')(x, y);
        const c = (await t.request.post('/api/incidents').send({ category: '0201', point: { x: px, y: py, crs }, source: 'hotline', description: crs }).expect(201)).body;
        expect(c.unit.code, crs).toBe('Q1A2');
        expect(c.location.lon).toBeCloseTo(x, 6);
      }
    });

    it('refuses a point outside the territory, an unknown category or an unknown field, storing nothing', async () => {
      const before = (await t.request.get('/api/incidents').expect(200)).body.total;
      const outside = await t.request.post('/api/incidents').send({ category: '0101', point: { x: 100, y: 20 }, source: 'api', description: 'x' }).expect(422);
      expect(outside.body.error).toMatchObject({ code: 'outside_territory', details: { field: 'point' } });
      const unknown = await t.request.post('/api/incidents').send({ category: '9999', point: pointIn('Q1A1'), source: 'api', description: 'x' }).expect(422);
      expect(unknown.body.error.code).toBe('unknown_category');
      const extra = await t.request.post('/api/incidents').send({ category: '0101', point: pointIn('Q1A1'), source: 'api', description: 'x', colour: 'red' }).expect(400);
      expect(extra.body.error.message).toMatch(/colour/);
      await t.request.post('/api/incidents').send({ category: '0101', point: { ...pointIn('Q1A1'), crs: 'EPSG:9999' }, source: 'api', description: 'x' }).expect(400);
      expect((await t.request.get('/api/incidents').expect(200)).body.total).toBe(before);
    });

    it('is idempotent with an Idempotency-Key, and refuses the key for another request', async () => {
      const body = { category: '0503', point: pointIn('Q1B2'), source: 'messaging_app', description: '乱停车' };
      const first = await t.request.post('/api/incidents').set('Idempotency-Key', 'k-1').send(body).expect(201);
      const again = await t.request.post('/api/incidents').set('Idempotency-Key', 'k-1').send(body).expect(200);
      expect(again.body.id).toBe(first.body.id);
      const other = await t.request.post('/api/incidents').set('Idempotency-Key', 'k-1').send({ ...body, description: 'other' }).expect(422);
      expect(other.body.error.code).toBe('idempotency_key_reused');
    });

    it('flags a possible duplicate (same category, close by, recent) without merging', async () => {
      const p = pointIn('Q2A2');
      const a = (await t.request.post('/api/incidents').send({ category: '0502', point: p, source: 'resident', description: 'a' }).expect(201)).body;
      const b = (await t.request.post('/api/incidents').send({ category: '0502', point: { x: p.x + 0.0002, y: p.y }, source: 'resident', description: 'b' }).expect(201)).body;
      const far = (await t.request.post('/api/incidents').send({ category: '0502', point: { x: p.x + 0.002, y: p.y }, source: 'resident', description: 'c' }).expect(201)).body;
      expect(b.possibleDuplicates).toEqual([a.id]);
      expect(far.possibleDuplicates).toEqual([]);
      expect(b.id).not.toBe(a.id);
    });
  });

  describe('the workflow, generated from the transition tables', () => {
    for (const route of ROUTES) {
      it(`${route}: every allowed transition works, every other one is a 409`, async () => {
        const paths = pathsFrom(route);
        expect([...paths.keys()].sort()).toEqual([...STATUSES].sort());
        for (const status of STATUSES) {
          const allowed = WORKFLOWS[route].filter((r) => r.from.includes(status));
          for (const row of [null, ...allowed]) {
            const c = (await svc.create({ category: CATEGORY[route], point: pointIn('Q1A1'), source: 'patrol', description: `${route} ${status}`, route }, { at: clock })).incident;
            for (const step of paths.get(status)!) await apply(c.id, step);
            const reached = (await svc.get(c.id)).incident;
            expect(reached.status).toBe(status);
            if (row === null) {
              for (const action of ACTIONS.filter((a) => !allowed.some((r) => r.action === a))) {
                await expect(svc.transition(c.id, { action, actor: { kind: 'command_centre', name: 'x' } }), `${route} ${status} ${action}`).rejects.toMatchObject({
                  status: 409,
                  code: 'transition_not_allowed',
                });
              }
            } else {
              const after = await apply(c.id, row);
              expect(after.status, `${route} ${status} --${row.action}`).toBe(row.to ?? status);
            }
          }
        }
      });
    }

    it('answers a disallowed transition over HTTP with 409 and the allowed ones, a wrong actor with 403, and logs each step', async () => {
      const c = (await t.request.post('/api/incidents').send({ category: '0101', point: pointIn('Q1A1'), source: 'patrol', description: 'http' }).expect(201)).body;
      const close = await t.request
        .post(`/api/incidents/${c.id}/transitions`)
        .send({ action: 'close', actor: { kind: 'command_centre', name: '值班员' } })
        .expect(409);
      expect(close.body.error.code).toBe('transition_not_allowed');
      expect(close.body.error.details.allowed.map((a: { action: string }) => a.action)).toEqual(['register', 'reject']);
      const wrong = await t.request
        .post(`/api/incidents/${c.id}/transitions`)
        .send({ action: 'register', actor: { kind: 'grid_worker', unit: 'Q2B1', name: '别人' } })
        .expect(403);
      expect(wrong.body.error.code).toBe('actor_not_in_chain');
      const ok = await t.request
        .post(`/api/incidents/${c.id}/transitions`)
        .send({ action: 'register', actor: { kind: 'grid_worker', unit: 'Q1A1', name: '网格员甲' }, note: '现场核实', location: pointIn('Q1A1') })
        .expect(200);
      expect(ok.body).toMatchObject({ status: 'registered', deadline: { stage: 'registered', limit: { type: 'working_hours', amount: 2 } } });
      const log = (await t.request.get(`/api/incidents/${c.id}`).expect(200)).body.log;
      expect(log.map((e: { action: string }) => e.action)).toEqual(['report', 'register']);
      expect(log[1]).toMatchObject({ fromStatus: 'reported', toStatus: 'registered', note: '现场核实', actor: { name: '网格员甲' } });
      await t.request.post(`/api/incidents/${c.id}/transitions`).send({ action: 'fly' }).expect(400);
    });

    it('escalates up the chain and not past its top', async () => {
      const c = (await svc.create({ category: '0404', point: pointIn('Q2A1'), source: 'hotline', description: 'water' }, { at: clock })).incident;
      const cc = { kind: 'command_centre', name: 'c' } as const;
      expect((await svc.transition(c.id, { action: 'escalate', actor: cc })).handling.unit.code).toBe('Q2');
      expect((await svc.transition(c.id, { action: 'escalate', actor: cc })).handling.unit.code).toBe('Q');
      await expect(svc.transition(c.id, { action: 'escalate', actor: cc })).rejects.toMatchObject({ status: 409, code: 'no_higher_level' });
    });
  });

  it('keeps the log append-only in the database itself', async () => {
    const c = (await svc.create({ category: '0101', point: pointIn('Q1A1'), source: 'patrol', description: 'log' }, { at: clock })).incident;
    await expect(t.db.knex.raw('UPDATE incident_log SET note = ? WHERE incident_id = ?', ['changed', c.id])).rejects.toThrow(/append-only/);
    await expect(t.db.knex.raw('DELETE FROM incident_log WHERE incident_id = ?', [c.id])).rejects.toThrow(/append-only/);
    await expect(t.db.knex.raw('TRUNCATE incident_log CASCADE')).rejects.toThrow(/append-only/);
    // The log's reference to its case, checked per statement (migration 035): no log of a missing case, no case deleted from under its log.
    await expect(t.db.knex.raw(`INSERT INTO incident_log (incident_id, at, actor, action, to_status) VALUES (?, now(), '{}', 'report', 'reported')`, [c.id + 1_000_000])).rejects.toMatchObject({ code: '23503' });
    await expect(t.db.knex.raw('DELETE FROM incidents WHERE id = ?', [c.id])).rejects.toMatchObject({ code: '23503' });
    expect((await svc.get(c.id)).log).toHaveLength(1);
  });

  it('re-routes a moved point or a changed category, and logs why', async () => {
    const c = (await svc.create({ category: '0101', point: pointIn('Q1A1'), source: 'patrol', description: 'move' }, { at: clock })).incident;
    const moved = await svc.reroute(c.id, { actor: { kind: 'command_centre', name: 'c' }, point: pointIn('Q2B2'), note: '位置纠正' });
    expect(moved).toMatchObject({ unit: { code: 'Q2B2' }, handling: { unit: { code: 'Q2B2' } } });
    expect(moved.grids.find((s) => s.system === 'inc-health')!.chain[0]!.code).toBe('H2');
    const recat = await svc.reroute(c.id, { actor: { kind: 'command_centre', name: 'c' }, category: '0401' });
    expect(recat).toMatchObject({ route: 'urgent', handling: { level: 2, unit: { code: 'Q2' } }, department: 'housing' });
    const log = (await svc.get(c.id)).log.filter((e) => e.action === 'reroute');
    expect(log.map((e) => e.details.reasons)).toEqual([['point_moved'], ['category_changed']]);
    expect(log[0]!.details.from).toMatchObject({ unit: 'Q1A1' });
    const listed = await svc.list({ unit: 'Q2', scope: 'all', limit: 1000, offset: 0 });
    expect(listed.items.map((i) => i.id)).toContain(c.id);
  });

  it('filters lists by status, unit subtree, bbox, source, card, dates and area scope', async () => {
    const a = (await svc.create({ category: '0301', point: pointIn('Q1B1'), source: 'upper_level', description: 'f1' }, { at: bj('2026-10-15T10:00') })).incident;
    const all = { scope: 'all' as const, limit: 1000, offset: 0 };
    const ids = async (f: Partial<Parameters<IncidentService['list']>[0]>) => (await svc.list({ ...all, ...f })).items.map((i) => i.id);
    expect(await ids({ source: 'upper_level' })).toEqual([a.id]);
    expect(await ids({ from: bj('2026-10-01T00:00'), to: bj('2026-11-01T00:00') })).toEqual([a.id]);
    expect(await ids({ unit: 'Q1B', source: 'upper_level' })).toEqual([a.id]);
    expect(await ids({ unit: 'Q2', source: 'upper_level' })).toEqual([]);
    const { x, y } = pointIn('Q1B1');
    expect(await ids({ bbox: [x - 0.001, y - 0.001, x + 0.001, y + 0.001], source: 'upper_level' })).toEqual([a.id]);
    expect(await ids({ scope: [{ system: 'inc-gov', code: 'Q1B' }], source: 'upper_level' })).toEqual([a.id]);
    expect(await ids({ scope: [{ system: 'inc-health', code: 'H1' }], source: 'upper_level' })).toEqual([]);
    expect(await ids({ scope: [{ system: 'inc-health' }], source: 'upper_level' })).toEqual([a.id]);
    expect(await ids({ status: ['closed'], source: 'upper_level' })).toEqual([]);
    const page = await t.request.get('/api/incidents?limit=2&offset=1&status=reported,registered').expect(200);
    expect(page.body.items).toHaveLength(2);
    await t.request.get('/api/incidents?status=lost').expect(400);
  });

  it('serves before/after photos checked by content', async () => {
    const c = (await svc.create({ category: '0101', point: pointIn('Q1A1'), source: 'patrol', description: 'photo' }, { at: clock })).incident;
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);
    const res = await t.request.post(`/api/incidents/${c.id}/photos?stage=before`).set('Content-Type', 'image/jpeg').send(png).expect(201);
    expect(res.body).toMatchObject({ stage: 'before', contentType: 'image/png', size: png.length });
    const got = await t.request.get(res.headers.location).buffer(true).expect(200);
    expect(got.headers['content-type']).toBe('image/png');
    expect(Buffer.compare(got.body, png)).toBe(0);
    const text = await t.request.post(`/api/incidents/${c.id}/photos?stage=after`).set('Content-Type', 'image/png').send(Buffer.from('<svg></svg>')).expect(415);
    expect(text.body.error.code).toBe('not_an_image');
    expect((await svc.get(c.id)).photos).toHaveLength(1);
    const registered = await t.request
      .post(`/api/incidents/${c.id}/transitions`)
      .send({ action: 'register', actor: { kind: 'grid_worker', unit: 'Q1A1', name: 'w' }, photos: [res.body.id] })
      .expect(200);
    expect(registered.body.status).toBe('registered');
    const foreign = await t.request
      .post(`/api/incidents/${c.id}/transitions`)
      .send({ action: 'dispatch', actor: { kind: 'grid_worker', unit: 'Q1A1', name: 'w' }, photos: [res.body.id + 1000] })
      .expect(422);
    expect(foreign.body.error.code).toBe('unknown_photo');
    expect((await svc.get(c.id)).log.at(-1)).toMatchObject({ action: 'register', photos: [res.body.id] });
  });

  describe('overdue scan', () => {
    it('shows yellow then red cards once each, and escalates red urgent cases one level', async () => {
      const start = bj('2026-11-09T09:00');
      // Cards everything earlier tests left behind, so the counts below are this case's alone.
      await svc.scanOverdue({ at: start });
      const urgent = (await svc.create({ category: '0402', point: pointIn('Q2A2'), source: 'hotline', description: 'pipe' }, { at: start })).incident;
      // Handled by the street: registered within half a working day (3.75 h) → 14:15, yellow at 80 % → 12:00.
      expect(urgent).toMatchObject({ handling: { level: 2 }, deadline: { limit: { type: 'working_days', amount: 0.5 }, due: bj('2026-11-09T14:15').toISOString() } });
      expect(await svc.scanOverdue({ at: bj('2026-11-09T11:59') })).toEqual({ yellow: 0, red: 0, escalated: 0 });
      expect(await svc.scanOverdue({ at: bj('2026-11-09T12:00') })).toEqual({ yellow: 1, red: 0, escalated: 0 });
      expect((await svc.get(urgent.id)).incident.card).toBe('yellow');
      expect(await svc.scanOverdue({ at: bj('2026-11-09T14:16') })).toEqual({ yellow: 0, red: 1, escalated: 1 });
      const after = await svc.get(urgent.id);
      expect(after.incident).toMatchObject({ card: 'red', wasOverdue: true, handling: { level: 3, unit: { code: 'Q' } }, escalations: 1 });
      expect(after.log.map((e) => e.action)).toEqual(['report', 'card_yellow', 'card_red', 'escalate']);
      expect(await svc.scanOverdue({ at: bj('2026-11-09T15:00') })).toEqual({ yellow: 0, red: 0, escalated: 0 });
    });

    if (engine === 'server') {
      it('cards each case exactly once with two service processes scanning one server at once', async () => {
        const cases: number[] = [];
        for (let i = 0; i < 60; i++) cases.push((await svc.create({ category: '0503', point: pointIn('Q1A2'), source: 'api', description: `c${i}` }, { at: bj('2026-11-10T09:00') })).incident.id);
        // This test's own database on the server the suite uses.
        const url = withDatabase(process.env.DATABASE_URL!, (t.db.knex.client.config.connection as { database: string }).database);
        const startAt = String(Date.now() + 5000);
        const scan = () =>
          new Promise<{ yellow: number; red: number }>((resolve, reject) => {
            execFile(process.execPath, ['--import', 'tsx', 'scripts/scan-once.ts', url, '2026-11-11T09:00:00+08:00', '3', startAt], (err, stdout) =>
              err ? reject(err) : resolve(JSON.parse(stdout)),
            );
          });
        const [a, b] = await Promise.all([scan(), scan()]);
        expect(a.red + b.red).toBeGreaterThanOrEqual(60);
        const { rows } = await t.db.knex.raw(`SELECT incident_id, count(*) AS n FROM incident_log WHERE action LIKE 'card_%' AND incident_id = ANY(?::bigint[]) GROUP BY 1`, [cases]);
        expect(rows).toHaveLength(60);
        expect(rows.every((r: { n: number }) => Number(r.n) === 1)).toBe(true);
      });
    }
  });
});
