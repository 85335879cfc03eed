/**
 * Vector tile benchmark (issue #4), on the demo city and a larger generated city in the same run, on a
 * PostGIS server (DATABASE_URL) in a scratch database it creates and drops:
 *  1. generation per tile of the governance grid system: gridatlas in memory (grid-index.ts cuts each
 *     tile from the prepared grids, mvt.ts encodes; cold = the first pass over the tiles after loading
 *     the system, warm = the second pass) vs one plain ST_AsMVT query per tile, for the same tiles,
 *     spread over the city and in one block of neighbours (as a map asks); and the encoder alone,
 *     mvt.ts vs vt-pbf (on geojson-vt's tiles of the same features);
 *  2. served throughput and latency over HTTP with a warm tile cache: autocannon in a child process
 *     (its own core) against the app listening on loopback, 100 connections, every tile URL in turn;
 *     then the same app without its fast path for warm tiles (every tile through Koa's chain), and a
 *     bare Node HTTP server sending the bytes the app sent (headers and bodies recorded), the ceiling
 *     that the machine and the load generator leave, measured the same way.
 *
 *   npx tsx scripts/bench-tiles.ts [--grids 400,100000] [--runs 3] [--seconds 10] [--connections 100] [--zooms 0-16] [--generation 0]
 *
 * Seeded cities, a warm-up pass before every timed one, the median of the runs. Prints markdown tables.
 */
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import knexFactory from 'knex';
import GeoJSONVT from 'geojson-vt';
import vtpbf from 'vt-pbf';
import { createApp, createServices } from '../service/app';
import { loadConfig } from '../service/config';
import { ChangeBus } from '../service/db/changes';
import { openDatabase, type Database, withDatabase } from '../service/db/engine';
import { generateCityStream } from '../service/demo/index';
import { createLogger } from '../service/logger';
import { createGridTileQueries, type TileSystem } from '../service/tiles/grid-store';
import { MemoryGridSource } from '../service/tiles/memory-grid-source';
import { encodeTile, type MvtPolygon } from '../service/tiles/mvt';
import { PostgisGridSource } from '../service/tiles/postgis-grid-source';
import { tilesCovering, type TileCoord } from '../service/tiles/tile-math';
import { header, median, ms, options, ratio, table } from './bench-lib';

/** `--generation 0` skips part 1 (generation per tile) and measures only tiles served over HTTP. */
const opts = options({ grids: '400,100000', runs: 3, seconds: 10, connections: 100, zooms: '0-16', generation: 1 });
const sizes = opts.grids.split(',').map(Number);
const { runs, seconds, connections } = opts;
/** `--zooms 0-16` (issue #15: cold tiles ≥ 3× ST_AsMVT at every zoom 0–16) or a list, e.g. `12,14,16`. */
const ZOOMS = opts.zooms.split(',').flatMap((part) => {
  const [from, to = from] = part.split('-').map(Number) as [number, number?];
  return Array.from({ length: to! - from + 1 }, (_, i) => from + i);
});
/** Tiles per zoom at most, taken evenly from the tiles covering the city (always the same ones). */
const MAX_TILES = 400;

let sink = 0;
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface GenerationRow {
  city: string;
  zoom: number;
  set: 'spread' | 'block';
  tiles: number;
  features: number;
  stAsMvt: number;
  cold: number;
  warm: number;
  mvtTs: number;
  vtPbf: number;
}

interface HttpRow {
  city: string;
  urls: number;
  tilesPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time of the server's process per tile served (the load generator runs in its own process). */
  cpuUs: number;
  /** The same with autocannon decoding every body (as shipped), one run. */
  decoding: { tilesPerSecond: number; p99: number };
  /** A bare Node HTTP server sending the same bytes (headers and gzip bodies recorded from the app): the ceiling the machine and load generator allow. */
  bare: { tilesPerSecond: number; p99: number; cpuUs: number };
  /** The app without its fast path for warm tiles (http/fast-path.ts): every tile through Koa's chain. */
  koa: { tilesPerSecond: number; p99: number; cpuUs: number };
}

async function timePerTile(tiles: TileCoord[], make: (t: TileCoord) => Promise<Uint8Array | null>): Promise<number> {
  const started = performance.now();
  for (const t of tiles) sink += (await make(t))?.length ?? 0;
  return (performance.now() - started) / tiles.length;
}

/** Tiles spread evenly over the city: every one in a different shard, the worst case for a cold index. */
function sample(tiles: TileCoord[]): TileCoord[] {
  if (tiles.length <= MAX_TILES) return tiles;
  const step = tiles.length / MAX_TILES;
  return Array.from({ length: MAX_TILES }, (_, i) => tiles[Math.floor(i * step)]!);
}

/** A square block of neighbouring tiles in the middle of the city, as a map client pans over it. */
function block(tiles: TileCoord[]): TileCoord[] {
  if (tiles.length <= MAX_TILES) return tiles;
  const xs = tiles.map((t) => t.x);
  const ys = tiles.map((t) => t.y);
  const side = Math.floor(Math.sqrt(MAX_TILES));
  const x0 = Math.floor((Math.min(...xs) + Math.max(...xs) - side) / 2);
  const y0 = Math.floor((Math.min(...ys) + Math.max(...ys) - side) / 2);
  return tiles.filter((t) => t.x >= x0 && t.x < x0 + side && t.y >= y0 && t.y < y0 + side);
}

async function generation(city: string, db: Database, system: TileSystem, bbox: [number, number, number, number]): Promise<GenerationRow[]> {
  const queries = createGridTileQueries(db.knex);
  const postgis = new PostgisGridSource(system, db.knex);
  const rows: GenerationRow[] = [];
  // geojson-vt's index of the whole system, for the encoder columns: built once per city, not per zoom.
  let vt: GeoJSONVT | null = null;
  for (const [zoom, set] of ZOOMS.flatMap((z) => [[z, 'spread'], [z, 'block']] as const)) {
    const covering = tilesCovering(bbox, zoom);
    if (set === 'block' && covering.length <= MAX_TILES) continue;
    const tiles = set === 'spread' ? sample(covering) : block(covering);
    await timePerTile(tiles, (t) => postgis.getTile(t));
    const stAsMvt = median(await sequential(runs, () => timePerTile(tiles, (t) => postgis.getTile(t))));
    const cold: number[] = [];
    const warm: number[] = [];
    // The first source only warms the JIT up.
    for (let r = -1; r < runs; r++) {
      const memory = new MemoryGridSource(system, queries);
      await memory.info();
      const c = await timePerTile(tiles, (t) => memory.getTile(t));
      const w = await timePerTile(tiles, (t) => memory.getTile(t));
      if (r >= 0) cold.push(c);
      if (r >= 0) warm.push(w);
    }
    vt ??= await vtIndex(db, system);
    const { features, mvtTs, vtPbf } = encoders(vt, tiles);
    rows.push({ city, zoom, set, tiles: tiles.length, features, stAsMvt, cold: median(cold), warm: median(warm), mvtTs, vtPbf });
  }
  return rows;
}

/** The encoders alone on the same features: geojson-vt's tiles of the whole system, as mvt.ts and vt-pbf take them. */
async function vtIndex(db: Database, system: TileSystem): Promise<GeoJSONVT> {
  const rows = await createGridTileQueries(db.knex).grids(system.id);
  return new GeoJSONVT(
    { type: 'FeatureCollection', features: rows.map((r) => ({ type: 'Feature', id: r.id, geometry: JSON.parse(r.geojson), properties: { code: r.code, name: r.name, level: r.level, parent: r.parent } })) },
    { maxZoom: 18, indexMaxZoom: 0 },
  );
}

function encoders(index: GeoJSONVT, tiles: TileCoord[]) {
  const raw = tiles.map((t) => index.getTileRaw(t.z, t.x, t.y)?.features ?? []);
  const legacy = tiles.map((t) => index.getTile(t.z, t.x, t.y) ?? { features: [] });
  const asPolygons = raw.map((fs) => fs.flatMap((f): MvtPolygon[] => (f.type === 3 ? [{ id: f.id as number, rings: f.geometry, properties: f.tags as MvtPolygon['properties'] }] : [])));
  // Each timed repetition loops over the tiles for at least 200 ms, after one untimed pass.
  const time = (fn: (i: number) => number) => {
    for (let i = 0; i < tiles.length; i++) sink += fn(i);
    return median(
      Array.from({ length: runs }, () => {
        const started = performance.now();
        let n = 0;
        do {
          for (let i = 0; i < tiles.length; i++) sink += fn(i);
          n += tiles.length;
        } while (performance.now() - started < 200);
        return (performance.now() - started) / n;
      }),
    );
  };
  return {
    features: Math.round(raw.reduce((n, fs) => n + fs.length, 0) / tiles.length),
    mvtTs: time((i) => encodeTile([{ name: 'grids', extent: 4096, features: asPolygons[i]! }]).length),
    vtPbf: time((i) => vtpbf.fromGeojsonVt({ grids: legacy[i]! }, { version: 2 }).length),
  };
}

async function sequential<T>(n: number, fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

/**
 * autocannon in a child process, so the load generator and the server each have a core. autocannon 9
 * appends every response body to a string (`req.body += data`, pipelinedRequestsQueue.js), a UTF-8
 * decode of binary tiles that costs it more CPU than the server spends on a warm tile (half its profile
 * on the 100,000-grid city, whose zoom-12 tiles are 11 KB gzipped): on two cores the load generator,
 * not the server, set the figure. Nothing here reads the bodies (no verifyBody/expectBody), so the
 * decode is turned off unless `decode` asks for autocannon as shipped.
 */
function autocannon(base: string, paths: string[], decode = false): Promise<{ requests: { average: number; total: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number }> {
  const code = `
    const autocannon = require('autocannon');
    const o = JSON.parse(process.argv[1]);
    if (!o.decode) require('autocannon/lib/pipelinedRequestsQueue').prototype.addBody = function () {};
    autocannon({ url: o.base, connections: o.connections, duration: o.seconds,
      requests: o.paths.map((path) => ({ method: 'GET', path, headers: { 'accept-encoding': 'gzip' } })) },
      (err, r) => { if (err) throw err; process.stdout.write(JSON.stringify(r)); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code, JSON.stringify({ base, paths, seconds, connections, decode })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.once('error', reject);
    child.once('exit', (status) => (status === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon exited with ${status}`))));
  });
}

/** A response as sent: status, headers (less those Node adds itself) and body bytes. */
interface Recorded {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

function record(url: string): Promise<Recorded> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: [string, string][] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            if (!/^(date|connection|keep-alive|transfer-encoding)$/i.test(res.rawHeaders[i]!)) headers.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
          }
          resolve({ status: res.statusCode!, headers, body: Buffer.concat(chunks) });
        });
      })
      .on('error', reject);
  });
}

async function listen(handler: http.RequestListener): Promise<{ base: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** `runs` timed autocannon runs: the median run and the server's CPU per request (median). */
async function cannonade(base: string, paths: string[]) {
  await autocannon(base, paths.slice(0, 50)).catch(() => undefined);
  const cpu: number[] = [];
  const results = await sequential(runs, async () => {
    const before = process.cpuUsage();
    const r = await autocannon(base, paths);
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / r.requests.total);
    return r;
  });
  const middle = median(results.map((r) => r.requests.average));
  const mid = results.reduce((a, r) => (Math.abs(r.requests.average - middle) < Math.abs(a.requests.average - middle) ? r : a));
  return { mid, cpuUs: median(cpu) };
}

async function served(city: string, db: Database, changes: ChangeBus, systemKey: string, bbox: [number, number, number, number]): Promise<HttpRow> {
  const app = createApp({ config: loadConfig({ LOG_LEVEL: 'error' }), db, changes, logger: createLogger('error') });
  const server = await listen(app.callback());
  const paths = ZOOMS.flatMap((z) => sample(tilesCovering(bbox, z)).map((t) => `/tiles/grids.${systemKey}/${t.z}/${t.x}/${t.y}.mvt`));
  const sent = new Map<string, Recorded>();
  for (const path of paths) sent.set(path, await record(server.base + path));
  const { mid, cpuUs } = await cannonade(server.base, paths);
  const decoding = await autocannon(server.base, paths, true);
  // The same app without the fast path, its cache warmed the same way; the same bytes (checked).
  const koaApp = createApp({ config: loadConfig({ LOG_LEVEL: 'error' }), db, changes, logger: createLogger('error'), fastPath: false });
  const koaServer = await listen(koaApp.callback());
  // Twice: while a fresh service loads the system's index, its first tiles may come from ST_AsMVT.
  for (const path of paths) await record(koaServer.base + path);
  const warm = new Map<string, Recorded>();
  for (const path of paths) warm.set(path, await record(koaServer.base + path));
  const again = new Map<string, Recorded>();
  for (const path of paths) again.set(path, await record(server.base + path));
  const differing = paths.filter((path) => warm.get(path)!.status !== again.get(path)!.status || !warm.get(path)!.body.equals(again.get(path)!.body));
  // Two fresh services give the same bytes: features go into a tile in grid-id order on both paths (the
  // memory index and ST_AsMVT). Before that, hundreds of tiles differed in feature order.
  if (differing.length > 0) console.log(`${city}: ${differing.length} of ${paths.length} tiles differ in bytes between the two services (e.g. ${differing[0]})`);
  await server.close();
  const koaOnly = await cannonade(koaServer.base, paths);
  await koaServer.close();
  // The same bytes from a server that does nothing else: what is left above it is the service's own cost.
  const bare = await listen((req, res) => {
    const r = sent.get(req.url!)!;
    res.writeHead(r.status, r.headers.flat());
    res.end(r.body);
  });
  const floor = await cannonade(bare.base, paths);
  await bare.close();
  return {
    city,
    urls: paths.length,
    tilesPerSecond: mid.requests.average,
    p50: mid.latency.p50,
    p99: mid.latency.p99,
    errors: mid.errors + mid.non2xx,
    cpuUs,
    decoding: { tilesPerSecond: decoding.requests.average, p99: decoding.latency.p99 },
    bare: { tilesPerSecond: floor.mid.requests.average, p99: floor.mid.latency.p99, cpuUs: floor.cpuUs },
    koa: { tilesPerSecond: koaOnly.mid.requests.average, p99: koaOnly.mid.latency.p99, cpuUs: koaOnly.cpuUs },
  };
}

async function main() {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('bench-tiles compares with ST_AsMVT on the PostGIS server: set DATABASE_URL');
  const admin = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  const generationRows: GenerationRow[] = [];
  const httpRows: HttpRow[] = [];
  const loads: string[] = [];
  for (const grids of sizes) {
    const name = `gridatlas_bench_tiles_${process.pid}`;
    await admin.raw(`drop database if exists ${name} with (force)`);
    await admin.raw(`create database ${name}`);
    const db = await openDatabase({ databaseUrl: withDatabase(url, name) });
    const changes = new ChangeBus(db);
    await changes.start();
    try {
      const city = generateCityStream({ seed: 1, grids });
      const services = createServices({ db, changes, logger: createLogger('error') });
      let started = performance.now();
      for (const { system, grids: fc } of city.systems) {
        await services.systems.create(system);
        // In parts, parents first: one import of 100,000 grids exceeds PostgreSQL's 65,535 bind parameters
        // in the import's code look-up (reported with issue #4).
        for (let i = 0; i < fc.features.length; i += 20_000) {
          await services.grids.import(system.key, fc.features.slice(i, i + 20_000), { mode: 'append', repair: false });
        }
      }
      const label = grids === 400 ? 'demo city (400 grids)' : `${grids.toLocaleString('en')}-grid city`;
      const system = (await createGridTileQueries(db.knex).systems()).find((s) => s.kind === 'governance')!;
      const b = (await db.knex.raw(`select ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 from (select ST_Extent(geom)::geometry e from grids where system_id = ?) t`, [system.id])).rows[0];
      const bbox: [number, number, number, number] = [b.x0, b.y0, b.x1, b.y1];
      const loadMs = performance.now() - started;
      started = performance.now();
      let memory: MemoryGridSource | null = new MemoryGridSource(system, createGridTileQueries(db.knex));
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      await memory.info();
      const indexMs = performance.now() - started;
      gc();
      const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
      sink += (await memory.info()).levels.length;
      // Only the app's own index stays in the heap while it serves: this copy (158 MB on the 100,000-grid
      // city) doubled the heap the served run's collections walk, which a service never has.
      memory = null;
      loads.push(
        `${label}: governance system "${system.key}" ${system.grids.toLocaleString('en')} grids, ${system.vertices.toLocaleString('en')} vertices; ` +
          `import of all systems ${(loadMs / 1000).toFixed(1)} s; in-memory load + index ${ms(indexMs)} ms, about ${heapMb.toFixed(0)} MB of heap (${((heapMb * 2 ** 20) / system.vertices).toFixed(0)} B per vertex)`,
      );
      if (opts.generation) generationRows.push(...(await generation(label, db, system, bbox)));
      httpRows.push(await served(label, db, changes, system.key, bbox));
    } finally {
      await changes.stop();
      await db.close();
      await admin.raw(`drop database if exists ${name} with (force)`);
    }
  }
  await admin.destroy();

  const pg = url.replace(/\/\/[^@]*@/, '//');
  console.log(`\n## Tile benchmark: ${header(`PostGIS server at ${pg}`)}; median of ${runs} runs\n`);
  for (const line of loads) console.log(`- ${line}`);
  console.log('\n### Generation per tile, governance system (ms per tile)\n');
  console.log(
    table(
      ['city', 'zoom', 'tiles', 'features/tile', 'ST_AsMVT query', 'gridatlas cold', 'gridatlas warm', 'speed-up (cold / warm)', 'encode: mvt.ts', 'encode: vt-pbf'],
      generationRows.map((r) => [r.city, r.zoom, `${r.tiles} ${r.set}`, r.features, ms(r.stAsMvt), ms(r.cold), ms(r.warm), `${ratio(r.stAsMvt, r.cold)} / ${ratio(r.stAsMvt, r.warm)}`, ms(r.mvtTs), ms(r.vtPbf)]),
      [2, 3, 4, 5, 6, 7, 8, 9],
    ),
  );
  console.log(`\n### Served over HTTP, warm cache, ${connections} connections, ${seconds} s, gzip\n`);
  console.log(
    table(
      ['city', 'tile URLs', 'tiles/s', 'p50 ms', 'p99 ms', 'errors', 'server CPU µs/tile', 'without the fast path (Koa): tiles/s, p99 ms, CPU µs', 'bare Node server, same bytes: tiles/s, p99 ms, CPU µs', 'autocannon decoding bodies: tiles/s, p99 ms'],
      httpRows.map((r) => [
        r.city,
        r.urls,
        Math.round(r.tilesPerSecond).toLocaleString('en'),
        r.p50,
        r.p99,
        r.errors,
        Math.round(r.cpuUs),
        `${Math.round(r.koa.tilesPerSecond).toLocaleString('en')}, ${r.koa.p99}, ${Math.round(r.koa.cpuUs)}`,
        `${Math.round(r.bare.tilesPerSecond).toLocaleString('en')}, ${r.bare.p99}, ${Math.round(r.bare.cpuUs)}`,
        `${Math.round(r.decoding.tilesPerSecond).toLocaleString('en')}, ${r.decoding.p99}`,
      ]),
      [1, 2, 3, 4, 5, 6],
    ),
  );
  console.log(`\nload average at the end: ${header()}`);
  if (sink < 0) console.log(sink);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
