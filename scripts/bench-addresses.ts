/**
 * Address benchmark (issue #5), in one run:
 * - assigning N generated addresses (default 1 000 000) to the finest grids of the demo city's governance
 *   system (default 100 000 grids) by gridatlas (grids read from PostGIS into an R-tree per level, then
 *   point-in-polygon in memory) against a PostGIS spatial join (ST_Covers, GiST indexes on both tables);
 * - importing the same addresses as a CSV file through POST /api/addresses/import (all six systems
 *   assigned), as rows/s and peak memory of the server process, for N rows and for N/10 rows, and a
 *   re-import of the same file (a no-op).
 * Seeded data, one warm-up, repetitions, median and min; prints a markdown table with the machine.
 *
 * Usage: DATABASE_URL=postgres://user:pass@host/db npx tsx scripts/bench-addresses.ts
 *          [--grids 100000] [--addresses 1000000] [--reps 5] [--import-reps 3] [--seed 1]
 *        npx tsx scripts/bench-addresses.ts --engine embedded --grids 10000 --addresses 100000 --import-reps 0
 * On the server it works in a database of its own (<db>_bench_addresses), created afresh and dropped at
 * the end; the embedded engine runs in memory. `--import-reps 0` skips the import measures and loads the
 * addresses with one plain INSERT per 50,000 (the assignment runs only need them stored).
 */
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import knexFactory from 'knex';
import { createAuthorizer } from '../service/access';
import { createApp, createServices } from '../service/app';
import { loadConfig } from '../service/config';
import { ChangeBus } from '../service/db/changes';
import { openDatabase, type Database } from '../service/db/engine';
import { transactor } from '../service/db/tx';
import { createAddressQueries } from '../service/addresses/store';
import { pgArray } from '../service/addresses/sql-values';
import { createSystemQueries } from '../service/systems/store';
import { addressFeature } from '../service/demo/addresses';
import { generateCityStream, type AddressRecord } from '../service/demo/index';
import { GridIndex } from '../service/addresses/grid-index';
import { toCsv } from '../service/formats/csv';
import { createLogger } from '../service/logger';
import { header, loadAverage, median, options, table as markdownTable } from './bench-lib';

const args = process.argv.slice(2);

interface Measure {
  name: string;
  samples: number[];
  unit: 'ms' | 'MB';
  note?: string;
}


async function main(): Promise<void> {
  if (args[0] === '--child-import') return childImport(args[1]!, args[2]!);
  const { seed, grids: gridCount, addresses: addressCount, reps, 'import-reps': importReps, engine } = options({ seed: 1, grids: 100_000, addresses: 1_000_000, reps: 5, 'import-reps': 3, engine: 'server' });
  const embedded = engine === 'embedded';
  const url = process.env.DATABASE_URL;
  if (!url && !embedded) throw new Error('set DATABASE_URL to a PostGIS server, or pass --engine embedded');
  if (embedded && importReps > 0) throw new Error('the import measures run the server engine in child processes: pass --import-reps 0 with --engine embedded');

  const benchUrl = new URL(url ?? 'postgres://embedded/');
  const dbName = `${benchUrl.pathname.slice(1) || 'postgres'}_bench_addresses`;
  benchUrl.pathname = `/${dbName}`;
  const admin = embedded ? null : knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  await admin?.raw(`drop database if exists ${dbName} with (force)`);
  await admin?.raw(`create database ${dbName}`);
  const db = await openDatabase(embedded ? { dataDir: 'memory://bench-addresses' } : { databaseUrl: benchUrl.toString() });
  const measures: Measure[] = [];
  const context: string[] = [];
  try {
    const log = (s: string) => process.stderr.write(`${s}\n`);
    let t = performance.now();
    // The generated city (GeoJSON of every system) lives only while it is loaded and sampled: kept, the
    // collection of its heap would be charged to gridatlas's timed runs in this process, not to the join's.
    let city: ReturnType<typeof generateCityStream> | null = generateCityStream({ seed, grids: gridCount });
    const changes = new ChangeBus(db);
    const services = createServices({ db, changes, logger: createLogger('error') });
    for (const { system, grids } of city.systems) {
      await services.systems.create(system);
      // In slices, parents first: one import of 100 000 grids passes PostgreSQL's 65 535 bound parameters.
      for (let i = 0; i < grids.features.length; i += 20_000) {
        await services.grids.import(system.key, grids.features.slice(i, i + 20_000), { mode: 'append', repair: false });
      }
    }
    const gridsPerSystem = city.systems.map((s) => `${s.system.key} ${s.grids.features.length}`).join(', ');
    context.push(`city: seed ${seed}, ${gridsPerSystem} grids, loaded in ${Math.round((performance.now() - t) / 1000)} s`);
    log(context[0]!);

    // Every k-th address of the generated register, so the sample covers the whole city.
    t = performance.now();
    const dir = path.resolve('.tmp/bench');
    fs.mkdirSync(dir, { recursive: true });
    const full = path.join(dir, `addresses-${addressCount}.csv`);
    const tenth = path.join(dir, `addresses-${addressCount / 10}.csv`);
    const points = await writeSample(city.addressRecords, addressCount, full, tenth);
    context.push(`addresses: ${points.length} sampled evenly from the generated register, CSV ${Math.round(fs.statSync(full).size / 1e6)} MB, written in ${Math.round((performance.now() - t) / 1000)} s`);
    log(context[1]!);
    const governanceGrids = city.systems[0]!.grids.features.length;
    log(`heap in use with the generated city: ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB`);
    city = null;

    // Import: each run in a fresh server process, so its peak memory is the import's own.
    const truncate = () => db.knex.raw('truncate addresses restart identity');
    const importMs: number[] = [];
    const importRss: number[] = [];
    const tenthRss: number[] = [];
    const noopMs: number[] = [];
    await truncate();
    if (importReps === 0) await insertPlain(db, points);
    else await runChild(tenth, benchUrl.toString()); // warm-up: caches, JIT, table and index pages
    for (let r = 0; r < importReps; r++) {
      await truncate();
      const small = await runChild(tenth, benchUrl.toString());
      tenthRss.push(small.maxRssMB);
      await truncate();
      const run = await runChild(full, benchUrl.toString());
      if (run.report.inserted !== points.length) throw new Error(`import stored ${run.report.inserted} of ${points.length} rows: ${JSON.stringify(run.report).slice(0, 500)}`);
      importMs.push(run.ms);
      importRss.push(run.maxRssMB);
      const again = await runChild(full, benchUrl.toString());
      if (again.report.unchanged !== points.length) throw new Error(`re-import changed rows: ${JSON.stringify(again.report).slice(0, 500)}`);
      noopMs.push(again.ms);
      log(`import ${r + 1}/${importReps}: ${Math.round(run.ms)} ms, peak ${run.maxRssMB} MB (N/10: ${small.maxRssMB} MB); re-import ${Math.round(again.ms)} ms`);
    }
    if (importReps > 0) {
      measures.push({ name: `import ${points.length} rows (CSV over HTTP, 6 systems assigned)`, samples: importMs, unit: 'ms', note: `${Math.round(points.length / (median(importMs) / 1000))} rows/s` });
      measures.push({ name: `re-import the same ${points.length} rows (no-op)`, samples: noopMs, unit: 'ms', note: `${Math.round(points.length / (median(noopMs) / 1000))} rows/s` });
      measures.push({ name: `peak RSS of the server process, import of ${points.length} rows`, samples: importRss, unit: 'MB', note: `V8 heap capped at ${HEAP_CAP_MB} MB` });
      measures.push({ name: `peak RSS of the server process, import of ${points.length / 10} rows`, samples: tenthRss, unit: 'MB' });
    }

    // Assignment: the addresses are stored; compare on the governance system's finest level.
    const system = (await createSystemQueries(db.knex).get('governance'))!;
    const finest = [...system.levels].sort((a, b) => b.order - a.order)[0]!;
    const levelOrder = new Map(system.levels.map((l) => [l.key, l.order]));
    await db.knex.raw('analyze addresses');
    await db.knex.raw('analyze grids');
    const joinMs: number[] = [];
    const loadMs: number[] = [];
    const assignMs: number[] = [];
    const hookMs: number[] = [];
    let joined = 0;
    let assigned = 0;
    const q = createAddressQueries(db.knex);
    for (let r = 0; r <= reps; r++) {
      await db.knex.raw('drop table if exists bench_join');
      t = performance.now();
      await db.knex.raw(
        `create unlogged table bench_join as
         select a.id, g.code from addresses a join grids g on ST_Covers(g.geom, a.geom)
         where g.system_id = ? and g.level = ?`,
        [system.id, finest.key],
      );
      const join = performance.now() - t;
      joined = Number((await db.knex('bench_join').count({ n: '*' }).first())!.n);

      t = performance.now();
      const index = new GridIndex(await q.indexGrids(system.id, levelOrder, null));
      const load = performance.now() - t;
      t = performance.now();
      assigned = 0;
      // The warm-up keeps its answers for the check against the join; the timed runs keep none.
      const answers: (string | null)[] | null = r === 0 ? [] : null;
      for (let i = 0; i < points.length; i += 50_000) {
        for (const a of index.assignAll(points.slice(i, i + 50_000))) {
          if (a) assigned++;
          answers?.push(a?.code ?? null);
        }
      }
      const assign = performance.now() - t;
      if (answers) await sameAsJoin(db, answers, new Set(await db.knex('grids').where({ system_id: system.id, level: finest.key }).pluck('code')));

      t = performance.now();
      await transactor(db.knex)((tx) => services.addresses.onGridChange(tx, system, null, []));
      const hook = performance.now() - t;
      if (r > 0) {
        joinMs.push(join);
        loadMs.push(load);
        assignMs.push(assign);
        hookMs.push(hook);
      }
      log(`assignment ${r === 0 ? 'warm-up' : `${r}/${reps}`}: join ${Math.round(join)} ms, load+index ${Math.round(load)} ms, assign ${Math.round(assign)} ms, system re-assignment ${Math.round(hook)} ms`);
    }
    await db.knex.raw('drop table if exists bench_join');
    const total = loadMs.map((l, i) => l + assignMs[i]!);
    const faster = (ms: number[]) => `${(median(joinMs) / median(ms)).toFixed(1)}× the join's speed`;
    measures.unshift(
      { name: `PostGIS join: ${points.length} addresses × ${finest.key} grids, ST_Covers with GiST → table`, samples: joinMs, unit: 'ms', note: `${joined} pairs` },
      { name: `gridatlas: assign ${points.length} addresses with the system's index in memory`, samples: assignMs, unit: 'ms', note: `${assigned} assigned; ${faster(assignMs)}` },
      { name: 'gridatlas: read the system\'s grids from PostGIS and build the index (once per grid change)', samples: loadMs, unit: 'ms', note: `${governanceGrids} grids, all levels` },
      { name: 'gridatlas: read grids, build the index and assign (cold)', samples: total, unit: 'ms', note: faster(total) },
      { name: 'gridatlas: re-assign the whole system from the database (read, assign, compare; nothing changed)', samples: hookMs, unit: 'ms' },
    );

    const postgis = (await db.knex.raw('select postgis_lib_version() as v, version() as pg')).rows[0];
    process.stdout.write(table(measures, [
      `machine: ${header(`${String(postgis.pg).split(' on ')[0]}, PostGIS ${postgis.v}`)}`,
      ...context,
      `runs: median and min of ${reps} repetitions after a warm-up (import: ${importReps}, each into an empty register in a fresh server process); load average at the end ${loadAverage()}`,
    ]));
  } finally {
    await db.close();
    await admin?.raw(`drop database if exists ${dbName} with (force)`);
    await admin?.destroy();
  }
}

/**
 * Checks gridatlas's answers against the join's pairs (bench_join; address ids are the points' order + 1):
 * where the join found finest grids, the answer is the lowest of their codes by code point (a point on a
 * shared boundary is in both); where it found none, the answer is no finest grid.
 * @throws Error with the first differences
 */
async function sameAsJoin(db: Database, answers: (string | null)[], finest: Set<string>): Promise<void> {
  const lowest = new Map<number, string>();
  const pairs: { id: number | string; code: string }[] = (await db.knex.raw('select id, code from bench_join')).rows;
  for (const { id, code } of pairs) {
    const prev = lowest.get(Number(id));
    if (prev === undefined || code < prev) lowest.set(Number(id), code);
  }
  const wrong: string[] = [];
  answers.forEach((answer, i) => {
    const expected = lowest.get(i + 1) ?? null;
    const ok = expected !== null ? answer === expected : answer === null || !finest.has(answer);
    if (!ok && wrong.length < 5) wrong.push(`address ${i + 1}: join ${expected}, gridatlas ${answer}`);
  });
  if (wrong.length > 0) throw new Error(`the assignment differs from the PostGIS join: ${wrong.join('; ')}`);
}

/** The addresses as plain rows, unassigned, 50,000 per INSERT (for the assignment runs only). */
async function insertPlain(db: Database, points: { lon: number; lat: number }[]): Promise<void> {
  for (let i = 0; i < points.length; i += 50_000) {
    const slice = points.slice(i, i + 50_000);
    await db.knex.raw(
      `insert into addresses (external_id, kind, geom, content_hash)
       select 'A' || n, 'residential', ST_SetSRID(ST_MakePoint(x, y), 4326), '' from unnest(?::int[], ?::float8[], ?::float8[]) as t(n, x, y)`,
      [pgArray(slice.map((_, k) => i + k)), pgArray(slice.map((p) => p.lon)), pgArray(slice.map((p) => p.lat))],
    );
  }
}

/**
 * Writes every k-th address of the generated register to CSV, and the first tenth of them to a second
 * file; keeps the points for the assignment runs. Two passes over the generator: count, then sample.
 */
async function writeSample(records: () => Iterable<AddressRecord>, count: number, file: string, tenthFile: string) {
  let total = 0;
  for (const _ of records()) total++;
  const stride = total / count;
  const header = ['external_id', 'kind', 'door', 'street', 'building', 'households', 'population', 'lon', 'lat'];
  const headerLength = toCsv(header, [], { bom: false }).length;
  const lines = (rows: unknown[][]) => toCsv(header, rows, { bom: false }).slice(headerLength);
  const out = fs.createWriteStream(file);
  const tenth = fs.createWriteStream(tenthFile);
  out.write(toCsv(header, []));
  tenth.write(toCsv(header, []));
  const points: { lon: number; lat: number; nearestM: null }[] = [];
  let pending: unknown[][] = [];
  let pendingTenth: unknown[][] = [];
  const flush = async (stream: fs.WriteStream, rows: unknown[][]) => {
    if (!stream.write(lines(rows))) await new Promise<void>((r) => stream.once('drain', () => r()));
  };
  let next = 0;
  let i = 0;
  for (const record of records()) {
    if (i++ !== Math.floor(next * stride) || next >= count) continue;
    const f = addressFeature(record);
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates as [number, number];
    const line = [p.external_id, p.kind, p.door, p.street, p.building, p.households, p.population, lon, lat];
    pending.push(line);
    if (next < count / 10) pendingTenth.push(line);
    points.push({ lon, lat, nearestM: null });
    next++;
    if (pending.length === 10_000) {
      await flush(out, pending);
      await flush(tenth, pendingTenth);
      pending = [];
      pendingTenth = [];
    }
  }
  await flush(out, pending);
  await flush(tenth, pendingTenth);
  await Promise.all([new Promise<void>((r) => out.end(() => r())), new Promise<void>((r) => tenth.end(() => r()))]);
  return points;
}

const HEAP_CAP_MB = 512;

interface ChildResult {
  ms: number;
  maxRssMB: number;
  report: { inserted: number; unchanged: number };
}

function runChild(file: string, url: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    // The heap is capped: an import that held its rows would fail here rather than look fine.
    const child = spawn(process.execPath, [...process.execArgv, `--max-old-space-size=${HEAP_CAP_MB}`, process.argv[1]!, '--child-import', file, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ChildResult) : reject(new Error(`import child exited with ${code}: ${out}`))));
  });
}

/** One import through the real app over loopback HTTP; prints its time, report and peak RSS. */
async function childImport(file: string, url: string): Promise<void> {
  const db: Database = await openDatabase({ databaseUrl: url, migrate: false });
  const changes = new ChangeBus(db);
  const logger = createLogger('error');
  const services = createServices({ db, changes, logger });
  // The import route needs addresses:import since access control (issue #10): the benchmark acts as an admin.
  const authorize = createAuthorizer(services.access, { anonymousAs: { user: { id: 0, username: 'bench' }, pairs: [{ role: 'admin' }], via: 'internal' } });
  const app = createApp({ config: loadConfig({ LOG_LEVEL: 'error', BODY_LIMIT_MB: '1000' }), db, changes, logger, services, authorize });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const t = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/api/addresses/import?format=csv&nearest=200`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv' },
    body: Readable.toWeb(fs.createReadStream(file)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const report = await res.json();
  const ms = performance.now() - t;
  if (!res.ok) throw new Error(`import failed: ${JSON.stringify(report).slice(0, 1000)}`);
  server.close();
  await db.close();
  process.stdout.write(JSON.stringify({ ms, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), report: { ...report, errors: report.errors.slice(0, 3) } }));
}

function table(measures: Measure[], notes: string[]): string {
  const fmt = (v: number, unit: Measure['unit']) => (unit === 'ms' ? (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`) : `${Math.round(v)} MB`);
  const rows = measures.map((m) => [m.name, fmt(median(m.samples), m.unit), fmt(Math.min(...m.samples), m.unit), m.samples.length, m.note ?? '']);
  return [...notes.map((n) => `- ${n}`), '', markdownTable(['measure', 'median', 'min', 'runs', 'note'], rows, [1, 2, 3]), ''].join('\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
