/**
 * The cost of authorisation on the hot paths (issue #10: aim under 10 % overhead): warm vector tiles and
 * point lookups served by the same app, in the same run, (a) behind a pass-through that admits every
 * request as unrestricted, (b) anonymous through the real authorizer (acts as `public`), (c) with a bearer
 * token of a grid worker (a session lookup and the scope filter per request). The cases alternate request
 * by request, so the load of a shared machine falls on each alike.
 *
 *   npx tsx scripts/bench-access.ts [--grids 30] [--requests 2000] [--rounds 3]
 *   DATABASE_URL=postgres://… npx tsx scripts/bench-access.ts   (the PostGIS server instead of PGlite)
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp, createServices } from '../service/app';
import { createAuthorizer } from '../service/access';
import type { Authorizer } from '../service/http/route';
import { loadConfig } from '../service/config';
import { ChangeBus } from '../service/db/changes';
import { openDatabase } from '../service/db/engine';
import { createLogger } from '../service/logger';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('grids', 30);
const REQUESTS = arg('requests', 2000);
const ROUNDS = arg('rounds', 3);
const X0 = 104.0;
const Y0 = 30.6;
const D = 0.002;

/** Admits everything as an unrestricted caller: the baseline without authentication or scope checks. */
const passThrough: Authorizer = () => (ctx, next) => {
  ctx.state.caller = { user: null, roles: ['admin'], permissions: ['addresses:read', 'partition:read'], scope: 'all', personalData: true };
  return next();
};

/**
 * Wraps an authorizer to time the request's passage through it, without the handler behind it: its cost
 * in wall time, less sensitive to the machine's load than whole-request throughput.
 */
let authorizerMs = 0;
const timed = (inner: Authorizer): Authorizer => (route) => {
  const middleware = inner(route);
  return async (ctx, next) => {
    const t0 = performance.now();
    let inHandler = 0;
    await middleware(ctx, async () => {
      const t1 = performance.now();
      await next();
      inHandler = performance.now() - t1;
    });
    authorizerMs = performance.now() - t0 - inHandler;
  };
};

function lonToTile(lon: number, z: number) {
  return Math.floor(((lon + 180) / 360) * 2 ** z);
}
function latToTile(lat: number, z: number) {
  const r = (lat * Math.PI) / 180;
  return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-access-'));
  const db = await openDatabase(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : { dataDir: dir });
  const changes = new ChangeBus(db);
  await changes.start();
  const logger = createLogger('error');
  const config = loadConfig({ LOG_LEVEL: 'error' });
  const services = createServices({ db, changes, logger });
  const key = `bench-access-${process.pid}`;
  await services.systems.create({ key, name: '授权基准', kind: 'governance', levels: [{ key: 'community', name: '社区', order: 1 }, { key: 'grid', name: '网格', order: 2 }] });
  const features = [];
  for (let i = 0; i < N; i++) {
    const parent = `P${String(i).padStart(3, '0')}`;
    features.push({ type: 'Feature', properties: { code: parent, name: parent, level: 'community', parent: null }, geometry: { type: 'Polygon', coordinates: [[[X0 + i * D, Y0], [X0 + (i + 1) * D, Y0], [X0 + (i + 1) * D, Y0 + N * D], [X0 + i * D, Y0 + N * D], [X0 + i * D, Y0]]] } });
    for (let j = 0; j < N; j++) {
      const ring = [[X0 + i * D, Y0 + j * D], [X0 + (i + 1) * D, Y0 + j * D], [X0 + (i + 1) * D, Y0 + (j + 1) * D], [X0 + i * D, Y0 + (j + 1) * D], [X0 + i * D, Y0 + j * D]];
      features.push({ type: 'Feature', properties: { code: `${parent}-${String(j).padStart(3, '0')}`, name: `${parent}-${j}`, level: 'grid', parent, people: [{ name: '王芳', role: 'responsible', phone: '13812345678' }] }, geometry: { type: 'Polygon', coordinates: [ring] } });
    }
  }
  await services.grids.import(key, features, { mode: 'append', repair: false });
  await services.access.createUser({ username: `worker${process.pid}`, password: 'bench-password', roles: [{ role: 'worker', system: key, code: 'P000-000' }] });
  const token = (await services.access.login(`worker${process.pid}`, 'bench-password', '127.0.0.1')).token;

  const serve = async (authorize?: Authorizer) => {
    const server = http.createServer(createApp({ config, db, changes, logger, services, ...(authorize ? { authorize } : {}) }).callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  };
  const plain = await serve(timed(passThrough));
  const real = await serve(timed(createAuthorizer(services.access)));

  const z = 15;
  const tiles: string[] = [];
  for (let x = lonToTile(X0, z); x <= lonToTile(X0 + N * D, z); x++) for (let y = latToTile(Y0 + N * D, z); y <= latToTile(Y0, z); y++) tiles.push(`/tiles/grids.${key}/${z}/${x}/${y}.pbf`);
  const points = Array.from({ length: 50 }, (_, k) => `/api/point?lon=${X0 + ((k * 7) % N + 0.5) * D}&lat=${Y0 + ((k * 11) % N + 0.5) * D}`);

  /**
   * One round: the cases take turns request by request, so a load swing on the shared machine hits each
   * alike; req/s is requests over the time spent in that case's requests.
   */
  const round = async (cases: readonly (readonly [string, string, Record<string, string>])[], paths: readonly string[]) => {
    const times = cases.map(() => [] as number[]);
    const inAuthorizer = cases.map(() => 0);
    for (let i = 0; i < REQUESTS; i++) {
      for (const [k, [, base, headers]] of cases.entries()) {
        const p = paths[i % paths.length]!;
        const t0 = performance.now();
        const res = await fetch(base + p, { headers });
        await res.arrayBuffer();
        if (res.status >= 400) throw new Error(`${p} answered ${res.status}`);
        times[k]!.push(performance.now() - t0);
        inAuthorizer[k]! += authorizerMs;
      }
    }
    return times.map((ts, k) => {
      const sorted = [...ts].sort((a, b) => a - b);
      const total = ts.reduce((a, b) => a + b, 0);
      return { rps: (REQUESTS * 1000) / total, p99: sorted[Math.floor(sorted.length * 0.99)]!, authMs: inAuthorizer[k]! / REQUESTS, meanMs: total / REQUESTS };
    });
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  process.stdout.write(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model}, ${db.engine}, ${N * N + N} grids, ${REQUESTS} sequential requests per case × ${ROUNDS} rounds, cases interleaved (median); load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
  process.stdout.write('| path | caller | req/s | p99 ms | overhead (req/s) | in the authorizer, ms/req | authorizer / pass-through request time |\n|---|---|--:|--:|--:|--:|--:|\n');
  for (const [name, paths] of [
    ['warm tiles', tiles],
    ['point lookup', points],
  ] as const) {
    const cases = [
      ['pass-through', plain.base, {}],
      ['anonymous (public)', real.base, {}],
      ['worker (bearer)', real.base, { Authorization: `Bearer ${token}` }],
    ] as const;
    await round(cases, paths); // warm-up: caches and JIT
    const results = new Map<string, { rps: number[]; p99: number[]; authMs: number[]; meanMs: number[] }>();
    for (let r = 0; r < ROUNDS; r++) {
      (await round(cases, paths)).forEach((res, k) => {
        const entry = results.get(cases[k]![0]) ?? { rps: [], p99: [], authMs: [], meanMs: [] };
        entry.rps.push(res.rps);
        entry.p99.push(res.p99);
        entry.authMs.push(res.authMs);
        entry.meanMs.push(res.meanMs);
        results.set(cases[k]![0], entry);
      });
    }
    const baseline = median(results.get('pass-through')!.rps);
    const baselineMs = median(results.get('pass-through')!.meanMs);
    for (const [label, r] of results) {
      const rps = median(r.rps);
      const overhead = label === 'pass-through' ? '' : `${(((baseline - rps) / baseline) * 100).toFixed(1)} %`;
      const auth = median(r.authMs);
      process.stdout.write(`| ${name} | ${label} | ${rps.toFixed(0)} | ${median(r.p99).toFixed(2)} | ${overhead} | ${auth.toFixed(3)} | ${((auth / baselineMs) * 100).toFixed(1)} % |\n`);
    }
  }
  plain.server.close();
  real.server.close();
  await services.systems.remove(key);
  await changes.stop();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
