/**
 * Does heavy work block the service? (issue #15 item 4: "tile p99 while a 100k-grid validation runs stays
 * under 50 ms"). On a PostGIS server (DATABASE_URL, a scratch database of its own): the governance system
 * of a generated city is imported, the app listens on loopback, and autocannon (its own process) asks for
 * grid tiles — first alone, then while the whole system is validated back to back in the same service
 * process (read from PostGIS, proved in the worker thread, report stored; alternating with a copy of the
 * system, so no validation reuses the last one's work) — with the worker thread at
 * nice 19 as shipped, and once more at the HTTP thread's priority for comparison (Linux, CAP_SYS_NICE).
 * Tiles are asked for cold and warm alike: a third of the URLs are new to the cache in each phase, so the
 * service cuts tiles too.
 *
 *   DATABASE_URL=… npx tsx scripts/bench-responsive.ts [--grids 100000] [--seconds 20] [--connections 20,100] [--nice0 0] [--fast 0]
 *
 * Prints a markdown table: per connection count, tile p50/p99/max and throughput without and with the
 * validation running, how many validations completed in the window, the event loop's delay (p99 and
 * longest: the loop blocked by its own work) and the HTTP thread's time on a CPU and waiting for one
 * (Linux schedstat: starved by other threads and processes).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createApp, createServices } from '../service/app';
import { loadConfig } from '../service/config';
import { ChangeBus } from '../service/db/changes';
import { openDatabase } from '../service/db/engine';
import { generateCityStream } from '../service/demo/index';
import { createLogger } from '../service/logger';
import { tilesCovering } from '../service/tiles/tile-math';
import { header, median, options, scratchDatabase, table } from './bench-lib';

/**
 * `--nice0 0` skips the comparison phase with the worker at the HTTP thread's priority; `--fast 0` serves
 * every tile through Koa (no fast path for warm tiles, http/fast-path.ts), for a comparison; `--helpers 19`
 * (an experiment, Linux) lowers every other thread of the process but the HTTP thread to that nice value
 * before the phases: V8's platform threads (both isolates' GC helpers) and libuv's pool.
 */
const opts = options({ grids: 100_000, seconds: 20, connections: '20,100', nice0: 1, fast: 1, helpers: 0 });
const AIM_P99_MS = 50;

interface Cannon {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  errors: number;
  non2xx: number;
}

/** autocannon in a child process, so the load generator does not share the service's event loop. */
function autocannon(base: string, paths: string[], connections: number): Promise<Cannon> {
  const code = `
    const autocannon = require('autocannon');
    const o = JSON.parse(process.argv[1]);
    autocannon({ url: o.base, connections: o.connections, duration: o.seconds,
      requests: o.paths.map((path) => ({ method: 'GET', path, headers: { 'accept-encoding': 'gzip' } })) },
      (err, r) => { if (err) throw err; process.stdout.write(JSON.stringify(r)); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code, JSON.stringify({ base, paths, seconds: opts.seconds, connections })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.once('error', reject);
    child.once('exit', (status) => (status === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon exited with ${status}`))));
  });
}

/** This process's threads at the given nice value (Linux: /proc/self/task/<tid>/stat, field 19). */
function niceThreads(nice: number): number[] {
  if (process.platform !== 'linux') return [];
  return fs.readdirSync('/proc/self/task').filter((tid) => {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) === nice;
  }).map(Number);
}

/**
 * The main (HTTP) thread's time on a CPU and waiting for one, in ms (Linux schedstat): waiting is CPU
 * starvation (other threads or processes ran), as opposed to the event loop blocked by its own work.
 */
function mainThreadSched(): { cpu: number; waiting: number } {
  if (process.platform !== 'linux') return { cpu: NaN, waiting: NaN };
  const [cpu, waiting] = fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
  return { cpu: cpu! / 1e6, waiting: waiting! / 1e6 };
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('bench-responsive runs on the PostGIS server: set DATABASE_URL');
  const scratch = await scratchDatabase(url, 'responsive');
  const db = await openDatabase({ databaseUrl: scratch.url });
  const changes = new ChangeBus(db);
  await changes.start();
  const logger = createLogger('error');
  const rows: (string | number)[][] = [];
  try {
    const city = generateCityStream({ seed: 1, grids: opts.grids });
    const services = createServices({ db, changes, logger });
    const { system, grids: fc } = city.systems.find((s) => s.system.key === 'governance')!;
    await services.systems.create(system);
    // A second copy of the system: validations alternate between the two, so each one reads, sends and
    // checks every grid (a validation of unchanged stored grids reuses the last one's work, issue #15).
    const copy = `${system.key}-copy`;
    await services.systems.create({ ...system, key: copy, name: `${system.name} (copy)` });
    for (const key of [system.key, copy]) {
      for (let i = 0; i < fc.features.length; i += 20_000) await services.grids.import(key, fc.features.slice(i, i + 20_000), { mode: 'append', repair: false });
    }
    const grids = fc.features.length;
    const b = (await db.knex.raw('select ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 from (select ST_Extent(geom)::geometry e from grids) t')).rows[0];
    const bbox: [number, number, number, number] = [b.x0, b.y0, b.x1, b.y1];

    const app = createApp({ config: loadConfig({ LOG_LEVEL: 'error' }), db, changes, logger, services, fastPath: opts.fast === 1 });
    const server = http.createServer(app.callback());
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Zooms 14–16 over the whole city; each phase gets warm URLs (asked before) and cold ones (never asked).
    const all = [14, 15, 16].flatMap((z) => tilesCovering(bbox, z).map((t) => `/tiles/grids.${system.key}/${t.z}/${t.x}/${t.y}.mvt`));
    const step = Math.max(1, Math.floor(all.length / 6000));
    const pool = all.filter((_, i) => i % step === 0);
    const warm = pool.slice(0, 600);
    for (const path of warm) await fetch(base + path, { headers: { 'accept-encoding': 'gzip' } }).then((r) => r.arrayBuffer());
    // The first validations load the worker and the JIT; not timed.
    for (const key of [system.key, copy]) await services.partition.validate(key, { options: {}, mode: 'sync' });
    let turn = 0;
    let next = warm.length;
    const phase = (connections: number) => {
      const cold = pool.slice(next, next + 300);
      next += 300;
      return autocannon(base, [...warm, ...cold], connections);
    };

    // The validation worker runs at nice 19 (validate-worker-entry.mjs). For a same-run comparison, one more
    // phase puts it back at the HTTP thread's priority (needs CAP_SYS_NICE; skipped without it).
    const background = niceThreads(19);
    const atPriority = (nice: number) => background.forEach((tid) => os.setPriority(tid, nice));
    let comparable = background.length > 0;
    try {
      atPriority(0);
      atPriority(19);
    } catch {
      comparable = false;
    }

    if (opts.helpers && process.platform === 'linux') {
      for (const tid of fs.readdirSync('/proc/self/task').map(Number)) if (tid !== process.pid) os.setPriority(tid, opts.helpers);
    }
    const errors = (r: Cannon) => r.errors + r.non2xx;
    for (const connections of opts.connections.split(',').map(Number)) {
      const sched0 = mainThreadSched();
      const alone = await phase(connections);
      const sched1 = mainThreadSched();
      rows.push([connections, 'alone', Math.round(alone.requests.average), alone.latency.p50, alone.latency.p99, alone.latency.max, errors(alone), '—', '—', `${Math.round(sched1.cpu - sched0.cpu)} / ${Math.round(sched1.waiting - sched0.waiting)}`]);
      for (const nice of comparable && opts.nice0 ? [19, 0] : [19]) {
        atPriority(nice);
        // The longest the event loop was late (a blocking step, a long turn of requests, or the thread descheduled).
        const delay = monitorEventLoopDelay({ resolution: 10 });
        delay.enable();
        const sched0 = mainThreadSched();
        let running = true;
        const durations: number[] = [];
        const validations = (async () => {
          while (running) {
            const started = performance.now();
            await services.partition.validate(turn++ % 2 === 0 ? system.key : copy, { options: {}, mode: 'sync' });
            durations.push(performance.now() - started);
          }
        })();
        const during = await phase(connections);
        running = false;
        await validations;
        delay.disable();
        const sched1 = mainThreadSched();
        const label = `${grids.toLocaleString('en')}-grid validations from scratch running, worker at nice ${nice}${nice === 19 ? ' (as shipped)' : ''}`;
        rows.push([connections, label, Math.round(during.requests.average), during.latency.p50, during.latency.p99, during.latency.max, errors(during), `${durations.length} (median ${(median(durations) / 1000).toFixed(1)} s)`, `${Math.round(delay.percentile(99) / 1e6)} / ${Math.round(delay.max / 1e6)}`, `${Math.round(sched1.cpu - sched0.cpu)} / ${Math.round(sched1.waiting - sched0.waiting)}`]);
        const verdict = during.latency.p99 < AIM_P99_MS ? 'met' : 'NOT met';
        console.log(`${connections} connections, worker at nice ${nice}: tile p99 ${during.latency.p99} ms during validation (aim < ${AIM_P99_MS} ms: ${verdict})`);
      }
      atPriority(19);
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await services.partition.stop();
  } finally {
    await changes.stop();
    await db.close();
    await scratch.drop();
  }
  console.log(`\n## Tiles while validating: ${header(url.replace(/\/\/[^@]*@/, '//'))}; ${opts.seconds} s per phase\n`);
  console.log(table(['connections', 'phase', 'tiles/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'validations (median)', 'event-loop delay p99 / max ms', 'HTTP thread on CPU / waiting for a CPU, ms'], rows, [0, 2, 3, 4, 5, 6, 8, 9]));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
