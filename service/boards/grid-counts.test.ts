import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BANK, D, GOV, IN, seedAccessFixture, X0, Y0 } from '../access/testing';
import { startTestApp, type TestApp } from '../test/app';
import { engines } from '../test/db';

const HOUR = 3_600_000;
const at = (lonLat: readonly number[]) => ({ lon: lonLat[0]!, lat: lonLat[1]! });
const WHOLE = `${X0 - 0.001},${Y0 - 0.001},${X0 + 2 * D + 0.001},${Y0 + 2 * D + 0.001}`;

describe.each(engines())('grid board counts on %s PostGIS', (engine) => {
  let t: TestApp;
  let tokens: Record<string, string>;
  const as = (who: string) => ({ Authorization: `Bearer ${tokens[who]}` });

  beforeAll(async () => {
    t = await startTestApp(engine, {}, { access: 'real' });
    tokens = await seedAccessFixture(t);
    const now = Date.now();
    const closeSteps = (from: number) =>
      (['register', 'dispatch', 'accept', 'feed_back', 'close', 'evaluate'] as const).map((action, i) => ({
        action,
        at: new Date(from + (i + 1) * 10 * 60_000),
        ...(action === 'evaluate' ? { evaluation: { score: 5 } } : {}),
      }));
    // C1A: one overdue (reported three days ago, a 2-hour limit), one fresh, one closed; C2A: one overdue; C1B: one rejected.
    await t.services.incidents.importHistory([
      { category: '0101', point: at(IN.C1A), source: 'patrol', description: '逾期', reportedAt: new Date(now - 72 * HOUR), steps: [] },
      { category: '0101', point: at(IN.C1A), source: 'patrol', description: '结案', reportedAt: new Date(now - 24 * HOUR), steps: closeSteps(now - 24 * HOUR) },
      { category: '0101', point: at(IN.C2A), source: 'hotline', description: '逾期', reportedAt: new Date(now - 72 * HOUR), steps: [] },
      { category: '0101', point: at(IN.C1B), source: 'patrol', description: '不受理', reportedAt: new Date(now - 5 * HOUR), steps: [{ action: 'reject', at: new Date(now - 4 * HOUR), note: '不属于受理范围' }] },
      { category: '0101', point: at(IN.C1A), source: 'resident', description: '新报', reportedAt: new Date(now - 10 * 60_000), steps: [] },
    ]);
  });
  afterAll(async () => t?.close());

  const byCode = (body: { grids: { code: string }[] }) => Object.fromEntries(body.grids.map((g) => [g.code, g]));

  it('counts households, people and open/overdue/closed cases per grid in a box, rolled up the tree', async () => {
    const res = await t.request.get(`/api/systems/${GOV}/grid-counts?bbox=${WHOLE}`).set(as('admin')).expect(200);
    expect(res.body).toMatchObject({ system: GOV, kind: 'governance', truncated: false });
    const grids = byCode(res.body);
    expect(Object.keys(grids).sort()).toEqual(['C1', 'C1A', 'C1B', 'C2', 'C2A', 'D']);
    expect(grids.D).toMatchObject({ level: 'district', parent: null, addresses: 3, households: 6, population: 14, incidents: { open: 3, overdue: 2, closed: 1 }, filing: null });
    expect(grids.C1).toMatchObject({ households: 5, population: 12, incidents: { open: 2, overdue: 1, closed: 1 } });
    expect(grids.C1A).toMatchObject({ parent: 'C1', households: 2, population: 5, incidents: { open: 2, overdue: 1, closed: 1 } });
    expect(grids.C1B).toMatchObject({ households: 3, population: 7, incidents: { open: 0, overdue: 0, closed: 0 } });
    expect(grids.C2A).toMatchObject({ households: 1, population: 2, incidents: { open: 1, overdue: 1, closed: 0 } });
    // Aggregates only: no person, phone or case reaches the answer.
    expect(JSON.stringify(res.body)).not.toMatch(/1[3-9]\d{9}|刘洋|逾期/);

    const level = await t.request.get(`/api/systems/${GOV}/grid-counts?bbox=${X0},${Y0},${X0 + D / 2},${Y0 + D / 2}&level=grid`).set(as('admin')).expect(200);
    expect(level.body.grids.map((g: { code: string }) => g.code)).toEqual(['C1A']);
    const children = await t.request.get(`/api/systems/${GOV}/grid-counts?parent=C1`).set(as('admin')).expect(200);
    expect(children.body.grids.map((g: { code: string }) => g.code)).toEqual(['C1A', 'C1B']);
    const first = await t.request.get(`/api/systems/${GOV}/grid-counts?bbox=${WHOLE}&limit=2`).set(as('admin')).expect(200);
    expect(first.body).toMatchObject({ truncated: true });
    expect(first.body.grids.map((g: { code: string }) => g.code)).toEqual(['C1', 'C1A']);
  });

  it("answers a grid worker with their own grid only, and refuses another grid's children", async () => {
    const res = await t.request.get(`/api/systems/${GOV}/grid-counts?bbox=${WHOLE}`).set(as('worker')).expect(200);
    expect(res.body.grids.map((g: { code: string }) => g.code)).toEqual(['C1A']);
    expect(res.body.grids[0]).toMatchObject({ households: 2, incidents: { open: 2, overdue: 1, closed: 1 } });
    const community = await t.request.get(`/api/systems/${GOV}/grid-counts?bbox=${WHOLE}`).set(as('community')).expect(200);
    expect(community.body.grids.map((g: { code: string }) => g.code)).toEqual(['C1', 'C1A', 'C1B']);
    expect((await t.request.get(`/api/systems/${GOV}/grid-counts?parent=C1`).set(as('worker')).expect(403)).body.error.code).toBe('out_of_scope');
    expect((await t.request.get(`/api/systems/${GOV}/grid-counts?parent=C2`).set(as('community')).expect(403)).body.error.code).toBe('out_of_scope');
    expect((await t.request.get(`/api/systems/${GOV}/grid-counts?bbox=${WHOLE}`).set(as('bank')).expect(403)).body.error.code).toBe('out_of_scope');
    await t.request.get(`/api/systems/${GOV}/grid-counts?bbox=${WHOLE}`).expect(401);
  });

  it("gives a bank's grids their filing rate, from the register when no ledger row exists", async () => {
    const res = await t.request.get(`/api/systems/${BANK}/grid-counts?bbox=${WHOLE}`).set(as('bank')).expect(200);
    expect(res.body.kind).toBe('bank');
    // The bank's branch B1 over its two finest grids: counts roll up, the filing rate is the finest grids'.
    const [branch, ...finest] = res.body.grids as { code: string; households: number; filing: { filed: number; total: number; rate: number } | null }[];
    expect([branch!.code, ...finest.map((g) => g.code)]).toEqual(['B1', 'B1a', 'B1b']);
    expect(branch).toMatchObject({ households: 6, incidents: { open: 3, overdue: 2, closed: 1 }, filing: null });
    for (const g of finest) expect(g.filing).toEqual({ filed: 0, total: g.households, rate: g.households > 0 ? 0 : null });
    expect(finest.reduce((sum, g) => sum + g.filing!.total, 0)).toBe(6);
  });

  it('refuses a missing or double selection, an unknown level or system, and unknown parameters', async () => {
    const code = async (path: string, status: number) => (await t.request.get(path).set(as('admin')).expect(status)).body.error.code;
    expect(await code(`/api/systems/${GOV}/grid-counts`, 400)).toBe('selection_required');
    expect(await code(`/api/systems/${GOV}/grid-counts?bbox=${WHOLE}&parent=C1`, 400)).toBe('selection_required');
    expect(await code(`/api/systems/${GOV}/grid-counts?bbox=1,2,0,3`, 400)).toBe('invalid_request');
    expect(await code(`/api/systems/${GOV}/grid-counts?parent=C1&level=street`, 400)).toBe('unknown_level');
    expect(await code(`/api/systems/${GOV}/grid-counts?parent=C1&limit=99999`, 400)).toBe('invalid_request');
    expect(await code(`/api/systems/${GOV}/grid-counts?parent=C1&color=red`, 400)).toBe('invalid_request');
    expect(await code(`/api/systems/no-such/grid-counts?parent=C1`, 404)).toBe('system_not_found');
  });
});
