import http from 'node:http';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app';
import { ChangeBus } from '../db/changes';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { createAccessQueries } from './store';
import { createAccessService } from './service';
import { BANK, BANK2, GOV, IN, passwordOf, POLICE_VALUE, seedAccessFixture } from './testing';

type Row = { id: number; username: string | null; ip: string; method: string; path: string; status: number; action: string; objects: Record<string, unknown>; at: Date | string };

describe.each(engines())('bank tiers, police fields, accounts and the audit log on %s PostGIS', (engine) => {
  let t: TestApp;
  let tokens: Record<string, string>;
  const as = (who: string): Record<string, string> => (who === 'anonymous' ? {} : { Authorization: `Bearer ${tokens[who]}` });
  const codes = (body: { features: { properties: { code: string } }[] }) => body.features.map((f) => f.properties.code).sort();
  const audit = async (where: Partial<Pick<Row, 'path' | 'action' | 'username'>>): Promise<Row[]> => t.db.knex('audit_log').where(where).orderBy('id');
  const login = async (username: string, password = passwordOf(username)) => (await t.request.post('/api/auth/login').send({ username, password }).expect(200)).body.token as string;

  beforeAll(async () => {
    // No TRUST_PROXY: X-Forwarded-For is not believed here.
    t = await startTestApp(engine, {}, { access: 'real' });
    tokens = await seedAccessFixture(t);
    const admin = as('admin');
    await t.request.post(`/api/overlays/banks/${BANK}/ledger`).set(admin).type('text/csv').send('grid,category,filed,total\nB1a,urban-residents,10,100\nB1b,urban-residents,90,100\n').expect(200);
    await t.request.post(`/api/overlays/banks/${BANK2}/ledger`).set(admin).type('text/csv').send('grid,category,filed,total\nZ1a,urban-residents,7,70\n').expect(200);
  });
  afterAll(async () => t?.close());

  it("keeps a bank's grids, ledger and checks inside the bank, and narrows a branch to its subtree", async () => {
    // Another bank's head office: none of this bank.
    const other = as('bank2');
    expect((await t.request.get('/api/systems').set(other).expect(200)).body.systems.map((s: { key: string }) => s.key)).toEqual([BANK2]);
    await t.request.get(`/api/systems/${BANK}/grids`).set(other).expect(403);
    await t.request.get(`/api/overlays/banks/${BANK}/filing`).set(other).expect(403);
    await t.request.get(`/api/overlays/banks/${BANK}/check`).set(other).expect(403);
    await t.request.post(`/api/overlays/banks/${BANK}/ledger`).set(other).type('text/csv').send('grid,category,filed,total\nB1a,urban-residents,99,100\n').expect(403);
    await t.request.get(`/tiles/grids.${BANK}/0/0/0.pbf`).set(other).expect(404);
    await t.request.get(`/api/overlays/alignment?a=${BANK}&b=${BANK2}`).set(other).expect(403);
    const own = (await t.request.get(`/api/overlays/banks/${BANK2}/filing`).set(other).expect(200)).body;
    expect(own.grids.map((g: { code: string }) => g.code)).toEqual(['Z1a']);

    // The head office: the whole bank.
    const head = as('bank');
    const filing = (await t.request.get(`/api/overlays/banks/${BANK}/filing`).set(head).expect(200)).body;
    expect(filing.grids.map((g: { code: string }) => g.code).sort()).toEqual(['B1a', 'B1b']);
    await t.request.get(`/api/overlays/banks/${BANK}/check?units=${GOV}`).set(head).expect(200);
    await t.request.get(`/api/overlays/alignment?a=${BANK}&b=${GOV}`).set(head).expect(200);

    // A branch (tier below the head office): its grid's subtree, read-only for the bank's whole-system writes.
    const branch = as('branch');
    expect(codes((await t.request.get(`/api/systems/${BANK}/grids`).set(branch).expect(200)).body)).toEqual(['B1a']);
    await t.request.get(`/api/systems/${BANK}/grids/B1b`).set(branch).expect(403);
    await t.request.get(`/api/systems/${BANK}/grids/B1`).set(branch).expect(403);
    const mine = (await t.request.get(`/api/overlays/banks/${BANK}/filing`).set(branch).expect(200)).body;
    expect(mine.grids.map((g: { code: string }) => g.code)).toEqual(['B1a']);
    expect(JSON.stringify(mine)).not.toContain('B1b');
    await t.request.get(`/api/overlays/banks/${BANK}/check?units=${GOV}`).set(branch).expect(403);
    await t.request.post(`/api/overlays/banks/${BANK}/ledger`).set(branch).type('text/csv').send('grid,category,filed,total\nB1a,urban-residents,99,100\n').expect(403);
    await t.request.post(`/api/overlays/banks/${BANK}/points`).set(branch).send({ type: 'FeatureCollection', features: [] }).expect(403);
    const exported = (await t.request.get(`/api/systems/${BANK}/export?format=geojson`).set(branch).expect(200)).body;
    expect(codes(exported)).toEqual(['B1a']);
    expect(JSON.stringify(exported)).not.toMatch(/吴刚|13100006666/);
    // The bank's tile layer shows every branch: not for a branch.
    await t.request.get(`/tiles/grids.${BANK}/0/0/0.pbf`).set(branch).expect(404);
    // Its ancestors: the head office's grid without its officials.
    const up = (await t.request.get(`/api/systems/${BANK}/grids/B1a/ancestors`).set(branch).expect(200)).body;
    expect(up.features.map((f: { properties: { code: string; people: unknown[] } }) => [f.properties.code, f.properties.people.length])).toEqual([['B1', 0]]);
    expect(JSON.stringify(up)).not.toMatch(/钱行|13700001111/);

    // The regulator sees every bank; a district officer may not pull banks into an overlay.
    const report = { territory: { system: GOV, code: 'D' }, systems: [BANK, BANK2] };
    await t.request.post('/api/overlays/report').set(as('district')).send(report).expect(403);
    const regulated = (await t.request.post('/api/overlays/report').set(as('auditor')).send(report).expect(200)).body;
    expect(JSON.stringify(regulated)).toContain(BANK2);
    await t.request.get(`/api/overlays/banks/${BANK2}/filing`).set(as('auditor')).expect(200);
  });

  it('gives police-sourced register fields only to the police and administrators; officers keep the counts', async () => {
    const police = await t.request.get('/api/addresses').set(as('police')).expect(200);
    const byId = (body: { features: { id: string; properties: Record<string, unknown> }[] }) => Object.fromEntries(body.features.map((f) => [f.id, f.properties]));
    expect(Object.keys(byId(police.body)).sort()).toEqual(['H1', 'H2']);
    expect(byId(police.body).H1!.police_key_person).toBe(POLICE_VALUE);
    expect(police.headers['x-masked-fields']).toBeUndefined();
    expect(byId((await t.request.get('/api/addresses').set(as('admin')).expect(200)).body).H1!.police_key_person).toBe(POLICE_VALUE);
    for (const who of ['worker', 'community', 'district', 'planner']) {
      const res = await t.request.get('/api/addresses').set(as(who)).expect(200);
      expect(res.text, who).not.toContain(POLICE_VALUE);
      expect(byId(res.body).H1, who).toMatchObject({ head: '刘洋' });
      expect(byId(res.body).H1, who).not.toHaveProperty('police_key_person');
      expect(res.headers['x-masked-fields'], who).toBe('police_key_person');
      expect(res.body.masked, who).toEqual(['police_key_person']);
    }
    // The police station's jurisdiction is C1: nothing of C2.
    await t.request.get(`/api/systems/${GOV}/grids/C2A`).set(as('police')).expect(403);
    // A grid's count of key persons: an aggregate for officers, absent for roles without personal data.
    const grid = async (who: string) => (await t.request.get(`/api/systems/${GOV}/grids/C1A`).set(as(who)).expect(200)).body.properties;
    expect(await grid('community')).toMatchObject({ police_key_persons: 1 });
    for (const who of ['anonymous', 'public', 'auditor', 'department']) expect(await grid(who), who).not.toHaveProperty('police_key_persons');
    expect((await t.request.get(`/api/systems/${GOV}/export?format=csv`).set(as('auditor')).expect(200)).text).not.toContain('police_key_persons');
  });

  it("keeps incidents inside the caller's area: lists, one case, its reporter and its steps", async () => {
    const report = async (at: readonly [number, number], description: string) =>
      (await t.request.post('/api/incidents').set(as('admin')).send({ category: '0201', point: { x: at[0], y: at[1] }, source: 'hotline', description, reporter: { name: '报告人', phone: '13911112222' } }).expect(201)).body.id as number;
    const mine = await report(IN.C1A, '本网格的案件');
    const next = await report(IN.C2A, '邻网格的案件');
    const w = as('worker');
    const listed = (await t.request.get('/api/incidents').set(w).expect(200)).body.items.map((i: { id: number }) => i.id);
    expect(listed).toContain(mine);
    expect(listed).not.toContain(next);
    await t.request.get(`/api/incidents/${mine}`).set(w).expect(200);
    for (const path of [`/api/incidents/${next}`, `/api/incidents/${next}/reporter`, `/api/incidents/${next}/photos/1`]) {
      await t.request.get(path).set(w).expect(404).expect((r) => expect(r.body.error.code).toBe('incident_not_found'));
    }
    await t.request.post(`/api/incidents/${next}/transitions`).set(w).send({ action: 'register', actor: { role: 'worker' } }).expect(404);
    await t.request.patch(`/api/incidents/${next}`).set(w).send({ category: '0101' }).expect(404);
    await t.request.get(`/api/incidents/${next}`).set(as('district')).expect(200);
    expect((await t.request.get('/api/incidents').set(as('district')).expect(200)).body.items.map((i: { id: number }) => i.id)).toEqual(expect.arrayContaining([mine, next]));
  });

  it("drops the officials of ancestors outside the caller's scope", async () => {
    type F = { properties: { code: string; people: { name: string; phone?: string }[] } };
    const names = async (who: string) => Object.fromEntries(((await t.request.get(`/api/systems/${GOV}/grids/C1A/ancestors`).set(as(who)).expect(200)).body.features as F[]).map((f) => [f.properties.code, f.properties.people.map((p) => `${p.name} ${p.phone}`)]));
    // The worker's scope is C1A: both the community and the district are other units.
    expect(await names('worker')).toEqual({ C1: [], D: [] });
    // The community holds C1: its own officials, not the district's.
    expect(await names('community')).toEqual({ C1: ['冯社长 13000008888'], D: [] });
    expect(await names('district')).toEqual({ C1: ['冯社长 13000008888'], D: ['郑区长 13200007777'] });
    expect(await names('admin')).toEqual({ C1: ['冯社长 13000008888'], D: ['郑区长 13200007777'] });
    // The public sees every published grid's post, masked as everywhere.
    expect(await names('anonymous')).toEqual({ C1: ['冯** 130****8888'], D: ['郑** 132****7777'] });
  });

  it('writes the audit row of a write in its transaction: a committed write has one, a failed or unauditable one none', async () => {
    const planner = as('planner');
    const path = `/api/systems/${GOV}/grids/C1`;
    await t.request.patch(path).set(planner).send({ properties: { name: '一社区' } }).expect(200);
    const rows = await audit({ path, action: 'grids:write' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ username: 'planner', method: 'PATCH', status: 200, objects: { system: GOV, code: 'C1' } });
    // now() is the transaction's start: the same instant on the grid and on its audit row.
    const grid = await t.db.knex('grids as g').join('grid_systems as s', 's.id', 'g.system_id').where({ 's.key': GOV, 'g.code': 'C1' }).first('g.updated_at');
    expect(new Date(rows[0]!.at).getTime()).toBe(new Date(grid.updated_at).getTime());

    // A write that fails inside its transaction leaves only the attempt, never a row saying it was done.
    const stale = `/api/systems/${GOV}/grids/C1B`;
    await t.request.patch(stale).set(planner).set('If-Match', '"v999"').send({ properties: { name: '过期' } }).expect((r) => expect(r.status).toBeGreaterThanOrEqual(400));
    expect(await audit({ path: stale, action: 'grids:write' })).toEqual([]);
    expect(await audit({ path: stale, action: 'grids:write:failed' })).toHaveLength(1);

    // A write whose audit row cannot be stored is not done either.
    await t.db.knex.raw(`CREATE FUNCTION refuse_c1b_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.action = 'grids:write' AND NEW.path LIKE '%/C1B' THEN RAISE EXCEPTION 'audit refused'; END IF;
        RETURN NEW;
      END $$`);
    await t.db.knex.raw('CREATE TRIGGER refuse_c1b_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_c1b_audit()');
    try {
      await t.request.patch(stale).set(planner).send({ properties: { name: '不留痕' } }).expect(500);
    } finally {
      await t.db.knex.raw('DROP TRIGGER refuse_c1b_audit ON audit_log');
      await t.db.knex.raw('DROP FUNCTION refuse_c1b_audit()');
    }
    expect((await t.request.get(stale).set(planner).expect(200)).body.properties.name).not.toBe('不留痕');
    expect(await audit({ path: stale, action: 'grids:write' })).toEqual([]);
  });

  it('lets an administrator edit, disable, enable and reset accounts, effective at once, each in the audit log', async () => {
    const admin = as('admin');
    const worker = await login('worker');
    const bearer = { Authorization: `Bearer ${worker}` };
    expect(codes((await t.request.get(`/api/systems/${GOV}/grids`).set(bearer).expect(200)).body)).toEqual(['C1A']);
    // A new grid for the worker: the token in hand follows at once.
    const edited = (await t.request.patch('/api/access/users/worker').set(admin).send({ displayName: '网格员小李', roles: [{ role: 'worker', system: GOV, code: 'C1B' }] }).expect(200)).body;
    expect(edited).toMatchObject({ username: 'worker', displayName: '网格员小李', disabled: false, roles: [{ role: 'worker', system: GOV, code: 'C1B' }] });
    expect(codes((await t.request.get(`/api/systems/${GOV}/grids`).set(bearer).expect(200)).body)).toEqual(['C1B']);
    const key = (await t.request.post('/api/access/api-keys').set(admin).send({ username: 'worker', name: 'tablet' }).expect(201)).body.key;
    await t.request.get(`/api/systems/${GOV}/grids`).set('X-API-Key', key).expect(200);

    // Disabled: the token, the API key and a new login stop at once.
    await t.request.patch('/api/access/users/worker').set(admin).send({ disabled: true }).expect(200);
    await t.request.get(`/api/systems/${GOV}/grids`).set(bearer).expect(401);
    await t.request.get(`/api/systems/${GOV}/grids`).set('X-API-Key', key).expect(401);
    await t.request.post('/api/auth/login').send({ username: 'worker', password: passwordOf('worker') }).expect(401);
    expect((await t.request.get('/api/access/users').set(admin).expect(200)).body.users.find((u: { username: string }) => u.username === 'worker').disabled).toBe(true);
    // Enabled again: a new login works, the sessions of before stay ended.
    await t.request.patch('/api/access/users/worker').set(admin).send({ disabled: false }).expect(200);
    await t.request.get(`/api/systems/${GOV}/grids`).set(bearer).expect(401);
    const again = await login('worker');

    // A reset password ends the account's sessions; the new one logs in.
    await t.request.post('/api/access/users/worker/password').set(admin).send({ password: 'a-new-password-1' }).expect(204);
    await t.request.get(`/api/systems/${GOV}/grids`).set({ Authorization: `Bearer ${again}` }).expect(401);
    await login('worker', 'a-new-password-1');

    // Bad input and callers who are not administrators.
    await t.request.patch('/api/access/users/worker').set(admin).send({ roles: [{ role: 'worker' }] }).expect(400).expect((r) => expect(r.body.error.code).toBe('scope_required'));
    await t.request.patch('/api/access/users/worker').set(admin).send({}).expect(400);
    await t.request.patch('/api/access/users/nobody').set(admin).send({ disabled: true }).expect(404);
    await t.request.post('/api/access/users/worker/password').set(admin).send({ password: 'short' }).expect(400);
    await t.request.patch('/api/access/users/worker').set(as('district')).send({ disabled: true }).expect(403);

    const log = await audit({ path: '/api/access/users/worker' });
    expect(log.map((r) => [r.username, r.method, r.action, r.status])).toEqual([
      ['admin', 'PATCH', 'access:admin', 200],
      ['admin', 'PATCH', 'access:admin', 200],
      ['admin', 'PATCH', 'access:admin', 200],
      ['admin', 'PATCH', 'access:admin:failed', 400],
      ['admin', 'PATCH', 'access:admin:failed', 400],
      ['district', 'PATCH', 'denied:forbidden', 403],
    ]);
    expect(await audit({ path: '/api/access/users/worker/password', action: 'access:admin' })).toHaveLength(1);
  });

  it('lets a user change their own password: the current one required, their other sessions end', async () => {
    const first = await login('street');
    const second = await login('street');
    const self = { Authorization: `Bearer ${first}` };
    await t.request.post('/api/auth/password').set(self).send({ currentPassword: 'wrong-password', newPassword: 'street-password-2' }).expect(403).expect((r) => expect(r.body.error.code).toBe('wrong_password'));
    await t.request.post('/api/auth/password').set(self).send({ currentPassword: passwordOf('street'), newPassword: 'short' }).expect(400);
    await t.request.post('/api/auth/password').set(self).send({ currentPassword: passwordOf('street'), newPassword: 'street-password-2' }).expect(204);
    await t.request.get(`/api/systems/${GOV}/grids/C1`).set(self).expect(200);
    await t.request.get(`/api/systems/${GOV}/grids/C1`).set({ Authorization: `Bearer ${second}` }).expect(401);
    await t.request.post('/api/auth/login').send({ username: 'street', password: passwordOf('street') }).expect(401);
    await login('street', 'street-password-2');
    expect((await audit({ path: '/api/auth/password', username: 'street' })).map((r) => r.action)).toEqual(['access:self:failed', 'access:self:failed', 'access:self']);
    // Anonymous callers and the shared public account have no password of their own to change here.
    await t.request.post('/api/auth/password').send({ currentPassword: 'x', newPassword: 'yyyyyyyy' }).expect(401);
    await t.request.post('/api/auth/password').set(as('public')).send({ currentPassword: 'x', newPassword: 'yyyyyyyy' }).expect(403);
  });

  it('believes X-Forwarded-For only with TRUST_PROXY, for throttling and the audit log', async () => {
    const forged = '203.0.113.50';
    await t.request.post('/api/auth/login').set('X-Forwarded-For', forged).send({ username: 'auditor', password: 'wrong' }).expect(401);
    const keys = async () => (await t.db.knex('login_failures').select('key')).map((r: { key: string }) => r.key);
    expect(await keys()).not.toContain(`ip:${forged}`);
    const untrusted = (await audit({ action: 'public:failed' })).at(-1)!;
    expect(untrusted.ip).toMatch(/127\.0\.0\.1/);

    // The same services behind a proxy we trust.
    const app = createApp({ config: loadConfig({ LOG_LEVEL: 'error', TRUST_PROXY: '1' }), db: t.db, changes: t.changes, logger: createLogger('error'), services: t.services });
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const proxied = '203.0.113.51';
      await supertest(server).post('/api/auth/login').set('X-Forwarded-For', proxied).send({ username: 'auditor', password: 'wrong' }).expect(401);
      expect(await keys()).toContain(`ip:${proxied}`);
      expect((await audit({ action: 'public:failed' })).at(-1)!.ip).toBe(proxied);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it.runIf(engine === 'server')('ends a disabled account in another process sharing the database without waiting for its cache', async () => {
    // A second process: its own change bus and access service over the same database.
    const bus = new ChangeBus(t.db);
    await bus.start();
    try {
      const other = createAccessService({ store: createAccessQueries(t.db.knex), changes: bus });
      const token = await login('department');
      expect(await other.authenticate({ bearer: token })).not.toBeNull();
      await t.request.patch('/api/access/users/department').set(as('admin')).send({ disabled: true }).expect(200);
      const deadline = Date.now() + 3000;
      while ((await other.authenticate({ bearer: token })) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await other.authenticate({ bearer: token })).toBeNull();
    } finally {
      await bus.stop();
    }
  });
});
