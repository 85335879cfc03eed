/**
 * Load test (issue #16): the real service (its own process, the demo city loaded) on loopback, under a
 * bounded mixed load — vector tiles, point lookups, incident reports (POST /api/incidents: located,
 * routed, numbered) and partition report reads, by concurrent autocannon processes (100 connections in
 * all, 60 s), logged in as the administrator — on the embedded PostGIS or a PostGIS server (a scratch
 * database created and dropped). Prints a markdown table: throughput, p50 and p99 per endpoint, errors.
 *
 *   npx tsx scripts/load.ts [--engine embedded|server] [--seconds 60] [--connections 100]
 *
 * The server engine needs DATABASE_URL (a role that may create databases). Loopback only; every process
 * it starts is stopped at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { withDatabase } from '../service/db/engine';
import { tilesCovering } from '../service/tiles/tile-math';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const engine = args.get('engine') ?? 'embedded';
const seconds = Math.min(Number(args.get('seconds') ?? 60), 300);
const connections = Math.min(Number(args.get('connections') ?? 100), 200);
const root = path.resolve(import.meta.dirname, '..');

/** Share of the connections per endpoint: a map session is mostly tiles. */
const MIX = { tiles: 0.5, point: 0.2, incidents: 0.15, report: 0.15 };
const ADMIN_PASSWORD = 'load-test-admin-password';

/** One request autocannon sends: a GET path, or a POST with its JSON body. */
interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

async function startService(env: Record<string, string>): Promise<{ child: ChildProcess; base: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL' && k !== 'DATA_DIR'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'service/main.ts'], {
    cwd: root,
    env: { ...clean, PORT: '0', HOST: '127.0.0.1', DEMO_CITY: 'auto', LOG_LEVEL: 'info', GRIDATLAS_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /gridatlas is ready: http:\/\/localhost:(\d+)\//.exec(out);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    child.once('exit', (code) => reject(new Error(`the service exited with ${code}`)));
  });
  child.stdout!.resume();
  return { child, base };
}

interface Result {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
  timeouts: number;
  statusCodeStats?: Record<string, { count: number }>;
}

/** autocannon in its own process, so load generation does not share the service's event loop. */
function autocannon(base: string, token: string, requests: LoadRequest[], conns: number, duration: number): Promise<Result> {
  const code = `
    const autocannon = require('autocannon');
    const o = JSON.parse(process.argv[1]);
    const headers = { 'accept-encoding': 'gzip', authorization: 'Bearer ' + o.token, 'content-type': 'application/json' };
    autocannon({ url: o.base, connections: o.conns, duration: o.duration, timeout: 10,
      requests: o.requests.map((r) => ({ ...r, headers })) },
      (err, r) => { if (err) throw err; process.stdout.write(JSON.stringify(r)); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code, JSON.stringify({ base, token, requests, conns, duration })], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.once('error', reject);
    child.once('exit', (status) => (status === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon exited with ${status}`))));
  });
}

// A seeded generator: the same points every run.
let state = 16_2026;
const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

async function main(): Promise<void> {
  let env: Record<string, string>;
  let cleanup = async () => undefined as void;
  if (engine === 'server') {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('--engine server needs DATABASE_URL');
    const name = `gridatlas_load_${process.pid}`;
    const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    await admin.raw(`create database ${name}`);
    env = { DATABASE_URL: withDatabase(url, name) };
    cleanup = async () => {
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    };
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gridatlas-load-'));
    env = { DATA_DIR: dir };
    cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
  }

  const started = performance.now();
  const service = await startService(env);
  try {
    process.stderr.write(`service ready on ${engine} with the demo city in ${Math.round(performance.now() - started)} ms\n`);
    const login = await fetch(`${service.base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
    if (!login.ok) throw new Error(`login answered ${login.status}`);
    const token = ((await login.json()) as { token: string }).token;
    const auth = { authorization: `Bearer ${token}` };
    const system = await (await fetch(`${service.base}/api/systems/governance`, { headers: auth })).json();
    const bbox = system.bbox as [number, number, number, number];
    // No body: a body would be a proposal to validate as a dry run, and no report would be stored.
    const validated = await fetch(`${service.base}/api/systems/governance/validate?mode=sync`, { method: 'POST', headers: auth });
    if (!validated.ok) throw new Error(`validate answered ${validated.status}`);

    const tiles = [12, 13, 14, 15].flatMap((z) => tilesCovering(bbox, z).map((t) => `/tiles/grids.governance/${t.z}/${t.x}/${t.y}.mvt`));
    const points = Array.from({ length: 1000 }, () => {
      const lon = bbox[0] + random() * (bbox[2] - bbox[0]);
      const lat = bbox[1] + random() * (bbox[3] - bbox[1]);
      return `/api/point?lon=${lon.toFixed(6)}&lat=${lat.toFixed(6)}`;
    });
    const reports = ['/api/systems/governance/report'];
    // Citizens' reports from 200 seeded places, a road-surface category (GB/T 30428.2), by the hotline.
    // Only places inside the territory: a report from outside every grid is rightly a 422.
    const incidents: string[] = [];
    while (incidents.length < 200) {
      const x = Number((bbox[0] + random() * (bbox[2] - bbox[0])).toFixed(6));
      const y = Number((bbox[1] + random() * (bbox[3] - bbox[1])).toFixed(6));
      const hit = (await (await fetch(`${service.base}/api/point?lon=${x}&lat=${y}`, { headers: auth })).json()) as { systems?: { system: string }[] };
      if (!hit.systems?.some((s) => s.system === 'governance')) continue;
      incidents.push(JSON.stringify({ category: '0201', point: { x, y }, source: 'hotline', description: `负载测试 ${incidents.length}` }));
    }
    const get = (paths: string[]): LoadRequest[] => paths.map((path) => ({ method: 'GET', path }));
    const groups: Record<keyof typeof MIX, LoadRequest[]> = {
      tiles: get(tiles),
      point: get(points),
      incidents: incidents.map((body) => ({ method: 'POST', path: '/api/incidents', body })),
      report: get(reports),
    };
    const trial = await fetch(`${service.base}/api/incidents`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: incidents[0] });
    if (trial.status !== 201) throw new Error(`POST /api/incidents answered ${trial.status}: ${(await trial.text()).slice(0, 300)}`);

    // Warm-up: every tile once, a few seconds of each endpoint.
    for (const t of tiles) await (await fetch(service.base + t, { headers: auth })).arrayBuffer();
    await Promise.all(Object.values(groups).map((requests) => autocannon(service.base, token, requests, 4, 3)));

    const split = Object.entries(MIX).map(([k, share]) => [k as keyof typeof MIX, Math.max(1, Math.round(share * connections))] as const);
    const results = await Promise.all(split.map(([k, conns]) => autocannon(service.base, token, groups[k], conns, seconds)));

    const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    console.log(`\n${engine}: ${connections} connections for ${seconds} s; ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, Node ${process.version}, load average ${load}\n`);
    console.log('| endpoint | connections | URLs | requests/s | p50 ms | p99 ms | errors |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    split.forEach(([k, conns], i) => {
      const r = results[i]!;
      // autocannon's `errors` already counts the timeouts.
      console.log(`| ${k} | ${conns} | ${groups[k].length} | ${Math.round(r.requests.average)} | ${r.latency.p50} | ${r.latency.p99} | ${r.errors + r.non2xx} |`);
    });
    // What the errors were: statuses other than 2xx/304, connection errors and timeouts.
    split.forEach(([k], i) => {
      const r = results[i]!;
      const odd = Object.entries(r.statusCodeStats ?? {}).filter(([code]) => !/^(2\d\d|304)$/.test(code));
      if (odd.length || r.errors || r.timeouts) console.log(`${k}: statuses ${JSON.stringify(Object.fromEntries(odd.map(([c, v]) => [c, v.count])))}, errors ${r.errors}, timeouts ${r.timeouts}`);
    });
    for (const [k, requests] of Object.entries(groups)) {
      const r = requests[0]!;
      const res = await fetch(service.base + r.path, { method: r.method, headers: { ...auth, 'content-type': 'application/json' }, body: r.body });
      if (!res.ok) console.log(`${k}: ${r.method} ${r.path} answers ${res.status} ${(await res.text()).slice(0, 300)}`);
    }
  } finally {
    service.child.kill('SIGTERM');
    await new Promise((r) => service.child.once('exit', r));
    await cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
