import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app';
import { createLogger } from '../logger';
import { startTestApp, type TestApp } from '../test/app';
import { engines } from '../test/db';
import { gridFeature, rect, smallCity, smallSystem } from '../test/fixtures';
import { tilesCovering } from './tile-math';

const ADMIN_PASSWORD = 'admin-password-for-fast-path';

interface Answer {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

/** A response as sent: status, every header in order (less Date) and the body's bytes. */
function get(base: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(base + path, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const pairs: [string, string][] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]!.toLowerCase() !== 'date') pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
          resolve({ status: res.statusCode!, headers: pairs, body: Buffer.concat(chunks) });
        });
      })
      .on('error', reject);
  });
}

async function listen(handler: http.RequestListener): Promise<{ base: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe.each(engines())('warm tiles answered before Koa (http/fast-path.ts) on %s PostGIS', (engine) => {
  let t: TestApp;
  let fast: { base: string; server: http.Server };
  let koa: { base: string; server: http.Server };
  let koaRequests = 0;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp(engine, {}, { access: 'real' });
    await t.services.access.setupAdmin(ADMIN_PASSWORD);
    tokens.admin = (await t.request.post('/api/auth/login').send({ username: 'admin', password: ADMIN_PASSWORD }).expect(200)).body.token;
    const auth = { Authorization: `Bearer ${tokens.admin}` };
    await t.request.post('/api/systems').set(auth).send(smallSystem).expect(201);
    await t.request.post(`/api/systems/${smallSystem.key}/import`).set(auth).send({ type: 'FeatureCollection', features: smallCity() }).expect(200);
    const other = { ...smallSystem, key: 'fast-other', name: '另一网格' };
    await t.request.post('/api/systems').set(auth).send(other).expect(201);
    await t.request.post('/api/systems/fast-other/import').set(auth).send({ type: 'FeatureCollection', features: [gridFeature('X', 'district', null, rect(105, 31, 105.01, 31.01))] }).expect(200);
    // A street sees part of the system (its tiles, as the system is no bank's) and nothing of the other one.
    await t.request.post('/api/access/users').set(auth).send({ username: 'street', password: 'street-password-1', roles: [{ role: 'street', system: smallSystem.key, code: 'D01' }] }).expect(201);
    tokens.street = (await t.request.post('/api/auth/login').send({ username: 'street', password: 'street-password-1' }).expect(200)).body.token;
    // Two apps over the same services and database: as shipped, and Koa alone.
    const deps = { config: t.config, db: t.db, changes: t.changes, logger: createLogger('error'), services: t.services };
    const withFast = createApp(deps);
    // Counts what reaches Koa: a request the fast path answered never does.
    withFast.middleware.unshift(async (_ctx, next) => {
      koaRequests++;
      await next();
    });
    fast = await listen(withFast.callback());
    koa = await listen(createApp({ ...deps, fastPath: false }).callback());
  });
  afterAll(async () => {
    for (const s of [fast?.server, koa?.server]) if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    await t?.close();
  });

  it('sends the same status, headers and bytes as Koa, and answers warm tiles itself', async () => {
    const [tile] = tilesCovering([104.0, 30.6, 104.02, 30.62], 14);
    const [other] = tilesCovering([105, 31, 105.01, 31.01], 14);
    const path = `/tiles/grids.${smallSystem.key}/14/${tile!.x}/${tile!.y}.mvt`;
    const empty = `/tiles/grids.${smallSystem.key}/14/0/0.pbf`;
    const bearer = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });
    const cases: { name: string; path: string; headers: Record<string, string>; fast: boolean; status: number }[] = [
      { name: 'admin, gzip', path, headers: { ...bearer('admin'), 'accept-encoding': 'gzip' }, fast: true, status: 200 },
      { name: 'admin, identity', path, headers: { ...bearer('admin'), 'accept-encoding': 'identity' }, fast: true, status: 200 },
      { name: 'an empty tile', path: empty, headers: bearer('admin'), fast: true, status: 204 },
      { name: 'part of the system in scope', path, headers: { ...bearer('street'), 'accept-encoding': 'gzip, deflate' }, fast: true, status: 200 },
      { name: 'out of scope', path: `/tiles/grids.fast-other/14/${other!.x}/${other!.y}.mvt`, headers: bearer('street'), fast: false, status: 404 },
      { name: 'anonymous (a published system)', path, headers: { 'accept-encoding': 'gzip' }, fast: true, status: 200 },
      { name: 'an unknown token', path, headers: { authorization: `Bearer ${'x'.repeat(40)}` }, fast: false, status: 401 },
      { name: 'a caller-given request id', path, headers: { ...bearer('admin'), 'x-request-id': 'trace-42' }, fast: true, status: 200 },
      { name: 'a query string (left to the router)', path: `${path}?v=1`, headers: bearer('admin'), fast: false, status: 200 },
      { name: 'HEAD', path, headers: bearer('admin'), fast: false, status: 200 },
    ];
    for (const c of cases) {
      // The first request makes the tile (and, for a part in scope, finds the system no bank's); the second is warm.
      await get(fast.base, c.path, c.headers);
      await get(koa.base, c.path, c.headers);
      const before = koaRequests;
      const [a, b] = c.name === 'HEAD' ? await Promise.all([head(fast.base, c.path, c.headers), head(koa.base, c.path, c.headers)]) : await Promise.all([get(fast.base, c.path, c.headers), get(koa.base, c.path, c.headers)]);
      expect(a.status, c.name).toBe(c.status);
      expect(koaRequests - before, c.name).toBe(c.fast ? 0 : 1);
      // A request id is new per request unless the caller gave one.
      const id = (x: Answer) => x.headers.map(([k, v]): [string, string] => [k, k === 'X-Request-Id' && !c.headers['x-request-id'] ? '(new)' : v]);
      expect(id(a), c.name).toEqual(id(b));
      expect(a.body.equals(b.body), c.name).toBe(true);
    }
    // Revalidation: the ETag sent back gives 304 from both, with the same headers.
    const etag = (await get(fast.base, path, bearer('admin'))).headers.find(([k]) => k === 'ETag')![1];
    const before = koaRequests;
    const [a, b] = await Promise.all([get(fast.base, path, { ...bearer('admin'), 'if-none-match': etag }), get(koa.base, path, { ...bearer('admin'), 'if-none-match': etag })]);
    expect(koaRequests).toBe(before);
    expect([a.status, b.status]).toEqual([304, 304]);
    expect(a.headers.map(([k, v]) => [k, k === 'X-Request-Id' ? '' : v])).toEqual(b.headers.map(([k, v]) => [k, k === 'X-Request-Id' ? '' : v]));
    expect(a.body.length + b.body.length).toBe(0);
  });
});

function head(base: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method: 'HEAD', headers }, (res) => {
      res.resume();
      res.on('end', () => {
        const pairs: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]!.toLowerCase() !== 'date') pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode!, headers: pairs, body: Buffer.alloc(0) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
