import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoutes } from '../app';
import { createLogger } from '../logger';
import type { RouteDef } from '../http/route';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { binary } from '../tiles/testing';
import { expectedOutcome, matrixMarkdown, outcomeOf, type Outcome, type Who } from './matrix';
import { routeTableProblems } from './route-check';
import { ACCOUNTS, ADMIN_PASSWORD, BANK, GOV, IN, passwordOf, PHONES, seedAccessFixture } from './testing';

/** Where each role acts in the fixture, and a target outside its scope. */
const HOLDINGS: { who: Who; inside: { system: string; code: string }; outside: { system: string; code: string } | null }[] = [
  { who: 'admin', inside: { system: GOV, code: 'C1A' }, outside: null },
  { who: 'planner', inside: { system: GOV, code: 'C1' }, outside: { system: GOV, code: 'C2A' } },
  { who: 'approver', inside: { system: GOV, code: 'D' }, outside: { system: BANK, code: 'B1' } },
  { who: 'auditor', inside: { system: GOV, code: 'C1A' }, outside: null },
  { who: 'district', inside: { system: GOV, code: 'D' }, outside: { system: BANK, code: 'B1' } },
  { who: 'street', inside: { system: GOV, code: 'C1' }, outside: { system: GOV, code: 'C2A' } },
  { who: 'community', inside: { system: GOV, code: 'C1' }, outside: { system: GOV, code: 'C2A' } },
  { who: 'worker', inside: { system: GOV, code: 'C1A' }, outside: { system: GOV, code: 'C2A' } },
  { who: 'department', inside: { system: GOV, code: 'C1A' }, outside: { system: BANK, code: 'B1' } },
  { who: 'bank', inside: { system: BANK, code: 'B1' }, outside: { system: GOV, code: 'C1A' } },
  { who: 'police', inside: { system: GOV, code: 'C1' }, outside: { system: GOV, code: 'C2A' } },
  { who: 'public', inside: { system: GOV, code: 'C1A' }, outside: { system: BANK, code: 'B1' } },
  { who: 'anonymous', inside: { system: GOV, code: 'C1A' }, outside: { system: BANK, code: 'B1' } },
];

/** The fixture's tree (testing.ts), child → parent. */
const PARENT: Record<string, string | null> = { D: null, C1: 'D', C2: 'D', C1A: 'C1', C1B: 'C1', C2A: 'C2', B1: null, B1a: 'B1', B1b: 'B1' };
const chainOf = (code: string): string[] => (code in PARENT ? [code, ...(PARENT[code] ? chainOf(PARENT[code]!) : [])] : [code]);

/** Whether a role's holding in the fixture reaches a route's scope target: the rules of issue #10 written out. */
function covers(who: Who, target: { system: string; code?: string }, method: string): boolean {
  if (who === 'admin' || who === 'auditor') return true;
  if (who === 'department' || who === 'public' || who === 'anonymous') return target.system !== BANK;
  if (who === 'bank') return target.system === BANK;
  const own = ACCOUNTS.find((a) => a.username === who)!;
  if (!('code' in own) || target.system !== own.system) return false;
  // A system-wide target: a read whose answer is filtered by scope; a system-wide write is out of reach.
  if (target.code === undefined) return method === 'get';
  return chainOf(target.code).includes(own.code);
}

const README = path.resolve('README.md');
const MATRIX_START = '<!-- access-matrix:start -->';
const MATRIX_END = '<!-- access-matrix:end -->';

/** A concrete request for a route aimed at `target`, made harmless: writes carry bodies that fail validation or a stale If-Match. */
function requestFor(route: RouteDef, target: { system: string; code: string }): { path: string; body?: string; type?: string; headers: Record<string, string> } {
  const key = `${route.method.toUpperCase()} ${route.path}`;
  let p = route.path
    .replace(':system', encodeURIComponent(key === 'DELETE /api/systems/:system' ? 'no-such-system' : target.system))
    .replace(':code', encodeURIComponent(target.code))
    .replace(':layers', `grids.${target.system}`)
    .replace(':name', `grids.${target.system}.json`)
    .replace(':z', '0')
    .replace(':x', '0');
  p = p.replace(':id', route.path.startsWith('/api/jobs') ? randomUUID() : route.path.startsWith('/api/access') ? '999999' : 'no-such-fix');
  p = p.replace(':file', route.path.startsWith('/tiles') ? '0.pbf' : route.path.startsWith('/web') ? 'app.js' : 'maplibre-gl.css');
  const query: string[] = [];
  if (route.path.includes(':system') && !route.path.includes(':code')) query.push(`parent=${encodeURIComponent(target.code)}`);
  if (route.path.endsWith('/renumber')) query.push('dryRun=true');
  if (key === 'POST /api/addresses/import') query.push('format=csv');
  const url = query.length ? `${p}?${query.join('&')}` : p;
  if (route.method === 'get') return { path: url, headers: {} };
  if (key === 'POST /api/addresses/import') return { path: url, body: 'external_id,lon,lat\n', type: 'text/csv', headers: {} };
  if (key === 'POST /api/systems/:system/validate') return { path: url, headers: {} };
  return { path: url, body: '{"bogus":true}', type: 'application/json', headers: { 'If-Match': '"v999"' } };
}

/** The params and query a route's scope function reads, for the request built by requestFor. */
function fakeContext(route: RouteDef, url: string) {
  const params: Record<string, string> = {};
  const names = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const parts = url.split('?')[0]!.split('/');
  route.path.split('/').forEach((seg, i) => {
    if (seg.startsWith(':') && names.includes(seg.slice(1))) params[seg.slice(1)] = decodeURIComponent(parts[i]!);
  });
  const query = Object.fromEntries(new URLSearchParams(url.split('?')[1] ?? ''));
  return { params, query } as unknown as Parameters<NonNullable<Extract<RouteDef['access'], { permission: string }>['scope']>>[0];
}

describe.each(engines())('access control on %s PostGIS', (engine) => {
  let t: TestApp;
  let tokens: Record<string, string>;
  const as = (who: string): Record<string, string> => (who === 'anonymous' ? {} : { Authorization: `Bearer ${tokens[who]}` });

  beforeAll(async () => {
    // Behind a proxy, so the throttling tests can speak for several client addresses.
    t = await startTestApp(engine, { TRUST_PROXY: '1' }, { access: 'real' });
    tokens = await seedAccessFixture(t);
  });
  afterAll(async () => t?.close());

  it('has an access declaration with a permission of the role table on every route, and the check catches one without', () => {
    const routes = appRoutes({ config: t.config, db: t.db, changes: t.changes, logger: createLogger('error') }, t.services).flat();
    expect(routes.length).toBeGreaterThan(40);
    expect(routeTableProblems(routes)).toEqual([]);
    const bad = [
      { ...routes[0]!, access: undefined },
      { ...routes[0]!, path: '/x', access: { permission: 'grids:teleport' } },
      { ...routes.find((r) => r.fast)!, access: { permission: 'addresses:read' } },
    ] as unknown as RouteDef[];
    expect(routeTableProblems(bad)).toHaveLength(3);
  });

  it('answers every route for every role inside and outside its scope as the role table says (the README matrix)', async () => {
    const routes = appRoutes({ config: t.config, db: t.db, changes: t.changes, logger: createLogger('error') }, t.services).flat();
    const rows: { route: RouteDef; cells: { inside: Outcome; outside: Outcome | null }[] }[] = [];
    const mismatches: string[] = [];
    for (const route of routes) {
      const cells = await Promise.all(
        HOLDINGS.map(async (h) => {
          const run = async (target: { system: string; code: string }, where: 'inside' | 'outside') => {
            const r = requestFor(route, target);
            let auth: Record<string, string> = as(h.who);
            // Logging out revokes the token: a fresh session for that request alone.
            if (route.path === '/api/auth/logout' && h.who !== 'anonymous') {
              const password = h.who === 'admin' ? ADMIN_PASSWORD : passwordOf(h.who);
              auth = { Authorization: `Bearer ${(await t.request.post('/api/auth/login').send({ username: h.who, password })).body.token}` };
            }
            let req = t.request[route.method](r.path).set({ ...auth, ...r.headers });
            if (r.type) req = req.set('content-type', r.type);
            const res = await (r.body !== undefined ? req.send(r.body) : req);
            const actual = outcomeOf(res.status);
            // What the route's own scope declaration names for this request, as the authorizer will see it.
            const declared = 'permission' in route.access && route.access.scope ? route.access.scope(fakeContext(route, r.path)) : undefined;
            const expected = expectedOutcome(route, h.who, declared === undefined || covers(h.who, declared, route.method));
            if (actual !== expected) mismatches.push(`${route.method.toUpperCase()} ${route.path} as ${h.who} ${where}: ${res.status} ${JSON.stringify(res.body?.error ?? '')}, expected ${expected}`);
            return actual;
          };
          const inside = await run(h.inside, 'inside');
          const outside = h.outside && 'permission' in route.access && route.access.scope ? await run(h.outside, 'outside') : null;
          return { inside, outside };
        }),
      );
      rows.push({ route, cells });
    }
    expect(mismatches).toEqual([]);
    // The harmless writes changed nothing.
    expect(Number((await t.db.knex.raw('select count(*)::int as n from grids')).rows[0].n)).toBe(11);

    const table = matrixMarkdown(rows, HOLDINGS.map((h) => h.who));
    const readme = fs.readFileSync(README, 'utf8');
    const block = `${MATRIX_START}\n${table}\n${MATRIX_END}`;
    if (process.env.WRITE_ACCESS_MATRIX === '1') {
      fs.writeFileSync(README, readme.replace(new RegExp(`${MATRIX_START}[\\s\\S]*?${MATRIX_END}`), block));
    } else {
      expect(readme, 'README matrix is stale: run WRITE_ACCESS_MATRIX=1 npx vitest run service/access').toContain(block);
    }
  });

  it('gives a grid worker nothing of the neighbouring grid: lists, exports, point lookups, statistics, addresses, tiles', async () => {
    const w = as('worker');
    const list = (await t.request.get(`/api/systems/${GOV}/grids`).set(w).expect(200)).body;
    expect(list.features.map((f: { properties: { code: string } }) => f.properties.code)).toEqual(['C1A']);
    const exported = await t.request.get(`/api/systems/${GOV}/export?format=geojson`).set(w).expect(200);
    expect(exported.body.features.map((f: { properties: { code: string } }) => f.properties.code)).toEqual(['C1A']);
    const csv = (await t.request.get(`/api/systems/${GOV}/export?format=csv`).set(w).expect(200)).text;
    expect(csv).toContain('C1A');
    expect(csv).not.toMatch(/C2A|C1B|赵强|13987654321/);
    const here = (await t.request.get(`/api/point?lon=${IN.C1A[0]}&lat=${IN.C1A[1]}&nearest_address=true`).set(w).expect(200)).body;
    expect(here.systems.map((s: { system: string; chain: { code: string }[] }) => [s.system, s.chain.map((l) => l.code)])).toEqual([[GOV, ['C1A']]]);
    expect(here.outside).toEqual([]);
    expect(here.nearestAddress.externalId).toBe('H1');
    const there = (await t.request.get(`/api/point?lon=${IN.C2A[0]}&lat=${IN.C2A[1]}&nearest_address=true`).set(w).expect(200)).body;
    expect(there.systems).toEqual([]);
    expect(there.nearestAddress).toBeNull();
    const stats = (await t.request.get(`/api/systems/${GOV}/stats`).set(w).expect(200)).body;
    expect(stats.grids.map((g: { code: string }) => g.code)).toEqual(['C1A']);
    expect(stats.totals.addresses).toBe(1);
    const addresses = (await t.request.get('/api/addresses').set(w).expect(200)).body;
    expect(addresses.features.map((f: { id: string }) => f.id)).toEqual(['H1']);
    expect(Object.keys(addresses.features[0].properties.grids)).toEqual([GOV]);
    expect(JSON.stringify(addresses)).not.toContain(PHONES[4]!);
    // Outside the own grid: refused, and the neighbour's subtree through a parent too.
    await t.request.get(`/api/systems/${GOV}/grids/C2A`).set(w).expect(403);
    await t.request.get(`/api/addresses?system=${GOV}&grid=C2`).set(w).expect(200).expect((r) => expect(r.body.features).toEqual([]));
    await t.request.get(`/api/systems/${BANK}/grids`).set(w).expect(403);
    await t.request.get(`/tiles/grids.${BANK}/0/0/0.pbf`).set(w).expect(404);
    await t.request.get('/tiles/addresses/0/0/0.pbf').set(w).expect(404);
    const systems = (await t.request.get('/api/systems').set(w).expect(200)).body.systems.map((s: { key: string }) => s.key);
    expect(systems).toEqual([GOV]);
    await t.request.get(`/api/systems/${GOV}/report`).set(w).expect(403);
  });

  it("shows a bank's staff their bank's system only", async () => {
    const b = as('bank');
    expect((await t.request.get('/api/systems').set(b).expect(200)).body.systems.map((s: { key: string }) => s.key)).toEqual([BANK]);
    await t.request.get(`/api/systems/${GOV}/grids`).set(b).expect(403);
    const tile = await t.request.get(`/tiles/grids.${BANK}/14/13485/6203.pbf`).set(b);
    expect([200, 204]).toContain(tile.status);
    expect(tile.headers['cache-control']).toContain('private');
    const point = (await t.request.get(`/api/point?lon=${IN.C2A[0]}&lat=${IN.C2A[1]}`).set(b).expect(200)).body;
    expect(point.systems.map((s: { system: string }) => s.system)).toEqual([BANK]);
    // Other callers never see the bank: not in lists, tiles or the style.
    for (const who of ['anonymous', 'public', 'worker', 'department']) {
      expect((await t.request.get('/api/systems').set(as(who)).expect(200)).body.systems.map((s: { key: string }) => s.key)).not.toContain(BANK);
      await t.request.get(`/tiles/grids.${BANK}/0/0/0.pbf`).set(as(who)).expect(404);
      expect(JSON.stringify((await t.request.get('/style.json').set(as(who)).expect(200)).body)).not.toContain(BANK);
    }
  });

  it('lets the public see no phone or name of a person anywhere, decoded tiles included', async () => {
    const texts: string[] = [];
    const get = async (p: string, status = 200) => texts.push((await t.request.get(p).expect(status)).text);
    await get(`/api/systems/${GOV}/grids`);
    await get(`/api/systems/${GOV}/grids/C1A`);
    await get(`/api/systems/${GOV}/grids/D/subtree`);
    await get(`/api/point?lon=${IN.C1A[0]}&lat=${IN.C1A[1]}`);
    await get('/api/addresses', 401);
    await get(`/api/systems/${GOV}/export`, 401);
    await get(`/api/systems/${GOV}/stats`, 401);
    await get(`/api/point?lon=${IN.C1A[0]}&lat=${IN.C1A[1]}&nearest_address=true`, 403);
    await t.request.get('/tiles/addresses/14/13484/6203.pbf').expect(404);
    for (let x = 13484; x <= 13485; x++) {
      for (let y = 6202; y <= 6204; y++) {
        const res = await t.request.get(`/tiles/grids.${GOV}/14/${x}/${y}.pbf`).buffer(true).parse(binary);
        if (res.status === 204) continue;
        const tile = new VectorTile(new PbfReader(res.body as Buffer));
        for (const layer of Object.values(tile.layers)) for (let i = 0; i < layer.length; i++) texts.push(JSON.stringify(layer.feature(i).properties));
      }
    }
    expect(texts.some((s) => s.includes('C1A'))).toBe(true);
    const all = texts.join('\n');
    for (const phone of PHONES) expect(all).not.toContain(phone);
    expect(all).not.toMatch(/王芳|赵强|刘洋|杨光/);
    expect(all).toContain('138****5678');
  });

  it("masks people in the auditor's export and says so; the auditor reads the audit log, filtered and as CSV", async () => {
    const a = as('auditor');
    const res = await t.request.get(`/api/systems/${GOV}/export?format=geojson`).set(a).expect(200);
    expect(res.headers['x-masked-fields']).toBe('people.name,people.phone');
    expect(res.body.masked).toEqual(['people.name', 'people.phone']);
    expect(JSON.stringify(res.body)).not.toMatch(/13812345678|王芳/);
    const xlsx = await t.request.get(`/api/systems/${GOV}/export?format=csv`).set(a).expect(200);
    expect(xlsx.text).not.toMatch(/13812345678|王芳/);
    await t.request.get('/api/addresses').set(a).expect(403);
    await t.request.put(`/api/systems/${GOV}/grids/C1A`).set(a).send({}).expect(403);
    // The worker's personal reads are in the log, with who, where from and which objects.
    await t.request.get(`/api/systems/${GOV}/grids/C1A`).set(as('worker')).expect(200);
    const log = (await t.request.get('/api/access/audit?username=worker').set(a).expect(200)).body.entries;
    expect(log.length).toBeGreaterThan(0);
    expect(log[0]).toMatchObject({ username: 'worker', method: 'GET', route: '/api/systems/:system/grids/:code', objects: { system: GOV, code: 'C1A' } });
    expect(log[0].ip).toMatch(/127\.0\.0\.1/);
    const denied = (await t.request.get('/api/access/audit?action=denied:forbidden').set(a).expect(200)).body.entries;
    expect(denied.some((e: { username: string; method: string }) => e.username === 'auditor' && e.method === 'PUT')).toBe(true);
    const csv = await t.request.get('/api/access/audit?format=csv&username=worker').set(a).expect(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.text.split('\r\n')[0]).toBe('\uFEFFid,at,username,ip,method,route,path,status,action,objects');
    await t.request.get('/api/access/audit').set(as('worker')).expect(403);
    await t.request.get('/api/access/audit').expect(401);
  });

  it('keeps the audit log append-only in the database', async () => {
    await expect(t.db.knex.raw('update audit_log set username = ?', ['someone'])).rejects.toThrow(/append-only/);
    await expect(t.db.knex.raw('delete from audit_log')).rejects.toThrow(/append-only/);
  });

  it('throttles password guessing per account, shows the lock to admins, and does not unlock on the right password', async () => {
    const login = (password: string) => t.request.post('/api/auth/login').set('X-Forwarded-For', '203.0.113.7').send({ username: 'department', password });
    for (let i = 0; i < 5; i++) await login(`wrong-${i}`).expect(401).expect((r) => expect(r.body.error.code).toBe('invalid_credentials'));
    const locked = await login(passwordOf('department')).expect(429);
    expect(locked.body.error.code).toBe('login_locked');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    const users = (await t.request.get('/api/access/users').set(as('admin')).expect(200)).body.users;
    const department = users.find((u: { username: string }) => u.username === 'department');
    expect(department.failedLogins).toBe(5);
    expect(Date.parse(department.lockedUntil)).toBeGreaterThan(Date.now());
    expect(JSON.stringify(users)).not.toMatch(/scrypt|password/i);
    // An unknown name fails the same way as a wrong password.
    await t.request.post('/api/auth/login').send({ username: 'nobody', password: 'x' }).expect(401).expect((r) => expect(r.body.error.code).toBe('invalid_credentials'));
    await t.request.get('/api/access/users').set(as('auditor')).expect(403);
  });

  it('revokes tokens on logout, accepts API keys, and rejects unknown credentials instead of falling back to public', async () => {
    const fresh = (await t.request.post('/api/auth/login').send({ username: 'street', password: passwordOf('street') }).expect(200)).body;
    expect(fresh.roles).toEqual([{ role: 'street', system: GOV, code: 'C1' }]);
    const bearer = { Authorization: `Bearer ${fresh.token}` };
    await t.request.get(`/api/systems/${GOV}/grids/C1`).set(bearer).expect(200);
    await t.request.post('/api/auth/logout').set(bearer).expect(204);
    await t.request.get(`/api/systems/${GOV}/grids/C1`).set(bearer).expect(401).expect((r) => expect(r.body.error.code).toBe('invalid_token'));
    await t.request.get(`/api/systems/${GOV}/grids`).set('Authorization', 'Bearer not-a-token-at-all-000000').expect(401);
    await t.request.get(`/api/systems/${GOV}/grids`).set('Authorization', 'Basic YWRtaW46YWRtaW4=').expect(401);

    const key = (await t.request.post('/api/access/api-keys').set(as('admin')).send({ username: 'worker', name: 'open311 bridge' }).expect(201)).body;
    const stored = await t.db.knex('api_keys').where({ id: key.id }).first();
    expect(stored.key_hash).not.toContain(key.key);
    const byKey = (await t.request.get(`/api/systems/${GOV}/grids`).set('X-API-Key', key.key).expect(200)).body;
    expect(byKey.features.map((f: { properties: { code: string } }) => f.properties.code)).toEqual(['C1A']);
    await t.request.delete(`/api/access/api-keys/${key.id}`).set(as('admin')).expect(204);
    await t.request.get(`/api/systems/${GOV}/grids`).set('X-API-Key', key.key).expect(401);
  });

  it('sets an HttpOnly SameSite=Strict session cookie and refuses cookie writes without the CSRF header', async () => {
    // A stale cookie does not stand in the way of logging in again.
    const res = await t.request.post('/api/auth/login').set('Cookie', 'gridatlas_session=stale-session-token-0000000').send({ username: 'planner', password: passwordOf('planner') }).expect(200);
    const cookies = res.headers['set-cookie'] as unknown as string[];
    const session = cookies.find((c) => c.startsWith('gridatlas_session='))!;
    expect(session).toMatch(/httponly/i);
    expect(session).toMatch(/samesite=strict/i);
    const jar = cookies.map((c) => c.split(';')[0]).join('; ');
    await t.request.get(`/api/systems/${GOV}/grids/C1`).set('Cookie', jar).expect(200);
    const patch = { properties: { name: '一社区' } };
    await t.request.patch(`/api/systems/${GOV}/grids/C1`).set('Cookie', jar).send(patch).expect(403).expect((r) => expect(r.body.error.code).toBe('csrf_failed'));
    await t.request.patch(`/api/systems/${GOV}/grids/C1`).set('Cookie', jar).set('X-CSRF-Token', 'forged').send(patch).expect(403);
    await t.request.patch(`/api/systems/${GOV}/grids/C1`).set('Cookie', jar).set('X-CSRF-Token', res.body.csrfToken).send(patch).expect(200);
    // In scope for a planner of C1, not next door.
    await t.request.patch(`/api/systems/${GOV}/grids/C2A`).set('Cookie', jar).set('X-CSRF-Token', res.body.csrfToken).send(patch).expect(403);
  });

  it('answers injection and traversal attempts in string parameters with 4xx and no trace of SQL or stack', async () => {
    const nasty = ["' or '1'='1", '1; drop table users; --', '../../../etc/passwd', '%00', '<script>alert(1)</script>', 'C1A\' union select password_hash from users --'];
    for (const s of nasty) {
      const e = encodeURIComponent(s);
      for (const [p, who] of [
        [`/api/systems/${e}/grids`, 'admin'],
        [`/api/systems/${GOV}/grids/${e}`, 'worker'],
        [`/api/systems/${GOV}/grids/${e}`, 'admin'],
        [`/api/addresses?system=${GOV}&grid=${e}`, 'admin'],
        [`/api/addresses?external_id=${e}`, 'worker'],
        [`/api/systems/${GOV}/report?parent=${e}`, 'community'],
        [`/tiles/${e}/0/0/0.pbf`, 'anonymous'],
        [`/web/${e}`, 'anonymous'],
        [`/api/access/audit?username=${e}`, 'auditor'],
      ] as const) {
        const res = await t.request.get(p).set(as(who));
        expect(res.status, `${p} as ${who}`).toBeGreaterThanOrEqual(200);
        expect(res.status, `${p} as ${who}`).toBeLessThan(500);
        // Input may be echoed in a JSON message; stack frames, SQL errors and secrets may not.
        expect(res.text).not.toMatch(/ at \w+ \(|node_modules|syntax error|relation "|scrypt\$/i);
      }
      await t.request.post('/api/auth/login').set('X-Forwarded-For', '198.51.100.9').send({ username: s, password: s }).expect((r) => expect([400, 401, 429]).toContain(r.status));
    }
    expect(Number((await t.db.knex.raw('select count(*)::int as n from users')).rows[0].n)).toBe(ACCOUNTS.length + 1);
    await t.request.post('/api/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD, extra: 1 }).expect(400);
  });

  it('sends security headers with a CSP on pages and errors', async () => {
    for (const p of ['/', '/api/no-such-route']) {
      const res = await t.request.get(p);
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
  });
});
