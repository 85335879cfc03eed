import { locatePoint } from '../point';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIncidents, type IncidentService } from '../incidents';
import { governanceGrids, governanceSystem, pointIn } from '../incidents/testing';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { incidentHistory } from './incidents';

const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });
const now = new Date('2026-12-03T12:00:00+08:00');

describe.each(engines())('demo incident history on %s PostGIS', (engine) => {
  let t: TestApp;
  let svc: IncidentService;
  beforeAll(async () => {
    t = await startTestApp(engine);
    svc = createIncidents(t.db.knex, locatePoint, { now: () => now });
    await t.request.post('/api/systems').send(governanceSystem).expect(201);
    await t.request.post(`/api/systems/${governanceSystem.key}/import`).send(fc(governanceGrids())).expect(200);
  });
  afterAll(async () => t?.close());

  it('loads a year of cases on every route, some late, reworked, postponed and still open, through the workflow rules', async () => {
    const points = ['Q1A1', 'Q1A2', 'Q1B1', 'Q1B2', 'Q2A1', 'Q2A2', 'Q2B1', 'Q2B2'].map((c) => {
      const p = pointIn(c);
      return [p.x, p.y] as [number, number];
    });
    const history = incidentHistory(1, points, 80, svc.classification.doc, svc.calendar, now);
    expect(incidentHistory(1, points, 80, svc.classification.doc, svc.calendar, now)).toEqual(history);
    // A live report on the first case's unit and day: the bulk load continues its counter.
    const first = history[0]!;
    await svc.create({ category: '0101', point: { x: first.point.lon, y: first.point.lat }, source: 'api', description: 'live' }, { at: first.reportedAt });
    const loaded = await svc.importHistory(history);
    expect(loaded.cases).toBe(history.length);
    await svc.scanOverdue();

    const year = { from: new Date(+now - 366 * 86_400_000), to: now, scope: 'all' as const };
    const { total } = await svc.stats({ ...year, by: 'unit' });
    expect(total.reported).toBe(history.length + 1);
    expect(total.closureRate!).toBeGreaterThan(0.8);
    expect(total.onTimeClosureRate!).toBeGreaterThan(0.8);
    expect(total.onTimeClosureRate!).toBeLessThan(1);
    expect(total.reworked).toBeGreaterThan(0);
    expect(total.postponed).toBeGreaterThan(0);
    expect(total.red).toBeGreaterThan(0);
    const routes = await t.db.knex('incidents').distinct('route').pluck('route');
    expect(routes.sort()).toEqual(['approval', 'coordination', 'routine', 'urgent']);
    const open = await svc.list({ ...year, status: ['reported', 'registered', 'dispatched', 'in_progress', 'fed_back'], limit: 1, offset: 0 });
    expect(open.total).toBeGreaterThan(0);
    const numbers = await t.db.knex('incidents').pluck('case_no');
    expect(new Set(numbers).size).toBe(numbers.length);
    // A live report after the import continues the day's sequence instead of reusing a number.
    const latest = history[history.length - 1]!;
    const next = await svc.create({ category: '0101', point: { x: latest.point.lon, y: latest.point.lat }, source: 'api', description: 'after' }, { at: latest.reportedAt });
    expect(numbers).not.toContain(next.incident.caseNo);

    const sample = (await svc.list({ ...year, status: ['closed', 'evaluated'], limit: 5, offset: 0 })).items;
    for (const c of sample) {
      const { log } = await svc.get(c.id);
      const times = log.map((e) => +new Date(e.at));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(log.find((e) => e.action === 'close')!.at).toEqual(new Date(c.times.closedAt!));
    }
  });
});
