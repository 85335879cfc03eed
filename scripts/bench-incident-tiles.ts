/**
 * Incident tile benchmark (issue #12): a city of 1,000,000 cases, the `incidents` tile layer served by the
 * real app (clusters summed from the pre-summed cells of migration 036 below zoom 14, one point per case
 * from it) against the plain query a user would otherwise write, ST_AsMVT over the same table and tiles
 * (every case in the tile, no clustering). PostGIS server only: the embedded engine has no ST_AsMVT.
 *
 *   DATABASE_URL=postgres://… npx tsx scripts/bench-incident-tiles.ts [--cases 1000000] [--tiles 12] [--runs 3]
 *     [--seconds 10] [--connections 100]
 *
 * `--cases 100000 --runs 2 --seconds 5` is a quick run. The cases are inserted in one set-based statement
 * (five centres, a year of reports; the overdue scan current but for a backlog of one case in 1,000) in a
 * scratch database created and dropped here. Printed as markdown, with the machine and the load average:
 *  1. cold tiles per zoom: `--tiles` tiles spread over the city, each requested once on a fresh app (tile
 *     cache empty: SQL + encoding) in each of `--runs` passes; median and p99 (nearest rank, so the worst
 *     sample when there are fewer than 100) and tiles/s one after another; the plain ST_AsMVT statement for
 *     the same tiles as many times;
 *  2. warm tiles over HTTP: autocannon in a child process (its own core), `--connections` connections for
 *     `--seconds`, every sampled tile of every zoom in turn on the app with its cache filled; and, on the
 *     point-zoom tiles alone (the only ones a plain server answers in well under a second), the app against
 *     a plain server running the ST_AsMVT statement per request;
 *  3. what keeping the cells costs a write: a 10,000-case update in the overdue scan's shape and an open
 *     case's closing, with the cells' triggers and without, each in a rolled-back transaction, median.
 */
import http from 'node:http';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import knexFactory from 'knex';
import { createApp, createServices } from '../service/app';
import { loadConfig } from '../service/config';
import { ChangeBus } from '../service/db/changes';
import { openDatabase } from '../service/db/engine';
import { OPEN_STATUSES } from '../service/incidents';
import { createLogger } from '../service/logger';
import { tilesCovering, type TileCoord } from '../service/tiles/tile-math';
import { header, median, ms, options, percentile, scratchDatabase, table } from './bench-lib';

const opts = options({ cases: 1_000_000, tiles: 12, runs: 3, seconds: 10, connections: 100 });
const { cases: CASES, tiles: TILES, runs: RUNS, seconds: SECONDS, connections: CONNECTIONS } = opts;
const ZOOMS = [6, 8, 10, 12, 14];
const POINT_ZOOM = 14;
/** The city: about 50 × 55 km around Chengdu's west, where the demo city lies. */
const BBOX: [number, number, number, number] = [103.8, 30.45, 104.32, 30.95];
const log = (s: string) => process.stderr.write(`${s}\n`);
const kib = (bytes: number) => ms(bytes / 1024);
const PLAIN_SQL = `SELECT ST_AsMVT(q, 'incidents', 4096, 'geom') AS tile FROM (
    SELECT case_no, category, status, route, card, unit_code,
      ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(?, ?, ?), 4096, 64) AS geom
    FROM incidents WHERE geom && ST_Transform(ST_TileEnvelope(?, ?, ?, margin => 64.0 / 4096), 4326)) q`;

/** `n` tiles taken evenly from those covering the city, always the same ones. */
function sample(tiles: TileCoord[], n: number): TileCoord[] {
  if (tiles.length <= n) return tiles;
  return Array.from({ length: n }, (_, i) => tiles[Math.floor(((i + 0.5) * tiles.length) / n)]!);
}

interface Load {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** autocannon in a child process, so the load generator and the server each have a core. */
function autocannon(base: string, paths: string[], headers: Record<string, string>, seconds: number): Promise<Load> {
  const code = `
    const autocannon = require('autocannon');
    const o = JSON.parse(process.argv[1]);
    autocannon({ url: o.base, connections: o.connections, duration: o.seconds, timeout: 30,
      requests: o.paths.map((path) => ({ method: 'GET', path, headers: o.headers })) },
      (err, r) => { if (err) throw err; process.stdout.write(JSON.stringify(r)); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code, JSON.stringify({ base, paths, headers, seconds, connections: CONNECTIONS })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.once('error', reject);
    child.once('exit', (status) => (status === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon exited with ${status}`))));
  });
}

async function listen(handler: http.RequestListener): Promise<{ base: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('bench-incident-tiles compares with ST_AsMVT on the PostGIS server: set DATABASE_URL');
  const scratch = await scratchDatabase(url, 'incident_tiles');
  const db = await openDatabase({ databaseUrl: scratch.url });
  const changes = new ChangeBus(db);
  await changes.start();
  // The plain server's own pool, as a user's tile server would have.
  const plainKnex = knexFactory({ client: 'pg', connection: scratch.url, pool: { min: 0, max: 10 } });
  try {
    let t = performance.now();
    // Five centres with a triangular spread each (the sum of two uniforms), reported over the last year. The
    // overdue scan is taken as current (a passed deadline is flagged and red-carded) except for a backlog
    // of one case in 1,000, whose deadline passed an hour ago and which the scan has not reached yet.
    await db.knex.raw(
      `INSERT INTO incidents (case_no, route, status, category, major, severity, priority, source, description, geom, input_point,
         system, chain, grids, unit_code, unit_path, scope_keys, handling_level, handling_unit, reported_at, card, was_overdue, due_at)
       SELECT 'B-' || g, (ARRAY['routine','coordination','urgent','approval'])[1 + g % 4], status,
         '0101', '01', 'minor', 3, 'patrol', 'bench', ST_SetSRID(ST_MakePoint(x, y), 4326), jsonb_build_object('crs', 'EPSG:4326', 'x', x, 'y', y),
         'gov', '[]'::jsonb, '[]'::jsonb, 'G' || (g % 400), ARRAY['D', 'S' || (g % 6), 'C' || (g % 40), 'G' || (g % 400)], ARRAY['gov:', 'gov:D'], 0, 'G' || (g % 400),
         now() - (g % 365) * interval '1 day',
         CASE WHEN flagged AND (late OR (g / 3) % 8 = 7) THEN 'red' WHEN (g / 3) % 8 = 6 THEN 'yellow' ELSE 'none' END, flagged,
         CASE WHEN open THEN now() + CASE WHEN g % 1000 = 0 THEN interval '-1 hour' ELSE ((g % 97) - 20) * interval '1 hour' END END
       FROM (SELECT g, x, y, status, open, late, g % 13 = 0 OR (late AND g % 1000 <> 0) AS flagged
             FROM (SELECT g, x, y, status, open, open AND (g % 1000 = 0 OR g % 97 < 20) AS late
                   FROM (SELECT g, x, y, status, status = ANY(?::text[]) AS open
                         FROM (SELECT g,
                                 cx[c] + (random() + random() - 1) * 0.12 AS x,
                                 cy[c] + (random() + random() - 1) * 0.10 AS y,
                                 (ARRAY['reported','registered','dispatched','in_progress','fed_back','closed','closed','closed','evaluated','rejected'])[1 + (g / 7) % 10] AS status
                               FROM generate_series(1, ?::int) g,
                                 LATERAL (SELECT 1 + g % 5 AS c) k,
                                 (SELECT ARRAY[104.06, 103.92, 104.20, 104.00, 104.15] AS cx, ARRAY[30.66, 30.58, 30.80, 30.85, 30.55] AS cy) centres) a) b) c) p`,
      [[...OPEN_STATUSES], CASES],
    );
    await db.knex.raw('vacuum analyze incidents');
    await db.knex.raw('vacuum analyze incident_cluster_cells');
    const cells = Number((await db.knex.raw('SELECT count(*) AS n FROM incident_cluster_cells')).rows[0].n);
    log(`seeded ${CASES} cases (${cells} cluster cells) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const services = createServices({ db, changes, logger: createLogger('error') });
    // The incident layer is not public: signed in as an administrator (sees every case, like the command centre).
    await services.access.createUser({ username: 'bench-admin', password: 'bench-password', roles: [{ role: 'admin' }] });
    const auth = `Bearer ${(await services.access.login('bench-admin', 'bench-password', '127.0.0.1')).token}`;
    const serve = () => listen(createApp({ config: loadConfig({ LOG_LEVEL: 'error' }), db, changes, logger: createLogger('error'), services }).callback());
    const tilePath = (tile: TileCoord) => `/tiles/incidents/${tile.z}/${tile.x}/${tile.y}.mvt`;
    const get = async (base: string, tile: TileCoord) => {
      const started = performance.now();
      const res = await fetch(base + tilePath(tile), { headers: { 'accept-encoding': 'gzip', authorization: auth } });
      const body = Buffer.from(await res.arrayBuffer());
      const took = performance.now() - started;
      if (res.status !== 200 && res.status !== 204) throw new Error(`tile ${tile.z}/${tile.x}/${tile.y}: HTTP ${res.status}`);
      // fetch has already inflated a gzip answer: this is the tile's own size.
      return { ms: took, bytes: body.length };
    };
    const plain = async (tile: TileCoord) => {
      const started = performance.now();
      const { rows } = await plainKnex.raw(PLAIN_SQL, [tile.z, tile.x, tile.y, tile.z, tile.x, tile.y]);
      return { ms: performance.now() - started, bytes: (rows[0]?.tile as Buffer | null)?.length ?? 0 };
    };

    // 1. Cold tiles per zoom.
    const tilesByZoom = new Map(ZOOMS.map((z) => [z, sample(tilesCovering(BBOX, z), TILES)]));
    const coldRows: string[][] = [];
    for (const z of ZOOMS) {
      const tiles = tilesByZoom.get(z)!;
      const cold: number[] = [];
      const bytes: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const app = await serve();
        // The app's first request finds the tile sources; cold here means the tile cache, not the app.
        await fetch(`${app.base}/tiles/incidents.json`, { headers: { authorization: auth } }).then((r) => r.arrayBuffer());
        for (const tile of tiles) {
          const r = await get(app.base, tile);
          cold.push(r.ms);
          bytes.push(r.bytes);
        }
        await app.close();
      }
      const plainMs: number[] = [];
      const plainBytes: number[] = [];
      await plain(tiles[0]!); // warm-up
      for (let run = 0; run < RUNS; run++) {
        for (const tile of tiles) {
          const r = await plain(tile);
          plainMs.push(r.ms);
          plainBytes.push(r.bytes);
        }
      }
      const perSecond = (xs: number[]) => ms((1000 * xs.length) / xs.reduce((a, b) => a + b, 0));
      coldRows.push([
        String(z), String(tiles.length), z < POINT_ZOOM ? 'clusters' : 'points', `${kib(median(bytes))} (max ${kib(Math.max(...bytes))})`,
        ms(median(cold)), ms(percentile(cold, 99)), perSecond(cold),
        `${kib(median(plainBytes))} (max ${kib(Math.max(...plainBytes))})`, ms(median(plainMs)), ms(percentile(plainMs, 99)), perSecond(plainMs),
        `${(median(plainMs) / median(cold)).toFixed(1)}×`,
      ]);
      log(coldRows.at(-1)!.join(' | '));
    }

    // 2. Warm tiles over HTTP.
    const headers = { 'accept-encoding': 'gzip', authorization: auth };
    const warmRows: string[][] = [];
    const loadRow = (what: string, urls: number, r: Load) => [what, String(urls), Math.round(r.requests.average).toLocaleString('en'), ms(r.latency.p50), ms(r.latency.p99), String(r.errors + r.non2xx), String(r.timeouts)];
    const app = await serve();
    const allPaths = ZOOMS.flatMap((z) => tilesByZoom.get(z)!.map(tilePath));
    const pointPaths = tilesByZoom.get(POINT_ZOOM)!.map(tilePath);
    for (const z of ZOOMS) for (const tile of tilesByZoom.get(z)!) await get(app.base, tile);
    await autocannon(app.base, allPaths, headers, 2); // warm-up
    warmRows.push(loadRow(`gridatlas, zooms ${ZOOMS.join(', ')} (cache warm)`, allPaths.length, await autocannon(app.base, allPaths, headers, SECONDS)));
    log(warmRows.at(-1)!.join(' | '));
    warmRows.push(loadRow(`gridatlas, zoom ${POINT_ZOOM} (cache warm)`, pointPaths.length, await autocannon(app.base, pointPaths, headers, SECONDS)));
    log(warmRows.at(-1)!.join(' | '));
    await app.close();
    const plainServer = await listen((req, res) => {
      const m = /^\/tiles\/incidents\/(\d+)\/(\d+)\/(\d+)\.mvt$/.exec(req.url ?? '');
      if (!m) return void res.writeHead(404).end();
      const [z, x, y] = m.slice(1).map(Number) as [number, number, number];
      plainKnex.raw(PLAIN_SQL, [z, x, y, z, x, y]).then(
        ({ rows }) => {
          const tile = rows[0]?.tile as Buffer | null;
          if (!tile || tile.length === 0) return void res.writeHead(204).end();
          res.writeHead(200, { 'content-type': 'application/vnd.mapbox-vector-tile' }).end(tile);
        },
        () => void res.writeHead(500).end(),
      );
    });
    warmRows.push(loadRow(`plain ST_AsMVT per request, zoom ${POINT_ZOOM}`, pointPaths.length, await autocannon(plainServer.base, pointPaths, {}, SECONDS)));
    log(warmRows.at(-1)!.join(' | '));
    await plainServer.close();

    // 3. What the cells cost a write, with and without their triggers (session_replication_role = replica
    // skips them without the DDL that would make every later statement re-plan), rolled back each time.
    const timed = async (sql: string, bindings: unknown[], triggers: boolean) => {
      let took = 0;
      await db.knex
        .transaction(async (trx) => {
          await trx.raw(`SET LOCAL session_replication_role = ${triggers ? 'origin' : 'replica'}`);
          const started = performance.now();
          await trx.raw(sql, bindings as never[]);
          took = performance.now() - started;
          throw new Error('rollback');
        })
        .catch((err: Error) => {
          if (err.message !== 'rollback') throw err;
        });
      return took;
    };
    // The scan cards on incident_clocks (migration 033), whose trigger keeps the cells (037). Closing a case
    // writes the case row, copied to incident_clocks by 033's trigger, which `replica` skips as well.
    const bulk = `UPDATE incident_clocks SET card = 'red', red_at = now()
      WHERE id IN (SELECT id FROM incident_clocks WHERE card <> 'red' AND NOT was_overdue AND id % 7 = 3 LIMIT 10000)`;
    const one = `UPDATE incidents SET status = 'closed', due_at = NULL, version = version + 1, updated_at = now() WHERE id = ?`;
    const writeRows: string[][] = [];
    for (const [what, sql, n] of [['10,000 cases carded red (the overdue scan\'s shape)', bulk, 2], ['one open case closed', one, 40]] as const) {
      // Open cases only (status cycles with g / 7; 'reported' at 0–6), so every closing moves a count.
      const bindings = (i: number) => (sql === one ? [70 * (i + 1) + 1] : []);
      const samples = { on: [] as number[], off: [] as number[] };
      for (const triggers of [false, true, false, true]) {
        for (let i = 0; i < n; i++) samples[triggers ? 'on' : 'off'].push(await timed(sql, bindings(i), triggers));
      }
      writeRows.push([what, ms(median(samples.off)), ms(median(samples.on)), ms(median(samples.on) - median(samples.off))]);
      log(writeRows.at(-1)!.join(' | '));
    }

    const v = (await db.knex.raw('select version() as pg, postgis_lib_version() as v')).rows[0];
    process.stdout.write(
      [
        `${CASES.toLocaleString('en')} cases, ${cells.toLocaleString('en')} cluster cells; ${header(`${String(v.pg).split(' on ')[0]}, PostGIS ${v.v}`)}`,
        '',
        `Cold: first request of a tile on a fresh app (SQL + encoding), ${RUNS} passes; tiles/s one after another; sizes uncompressed.`,
        '',
        table(
          ['zoom', 'tiles', 'gridatlas holds', 'gridatlas KiB', 'cold median ms', 'cold p99 ms', 'cold tiles/s', 'ST_AsMVT KiB', 'ST_AsMVT median ms', 'ST_AsMVT p99 ms', 'ST_AsMVT tiles/s', 'median ratio'],
          coldRows,
          [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        ),
        '',
        `Warm: autocannon, ${CONNECTIONS} connections, ${SECONDS} s, every URL in turn.`,
        '',
        table(['server', 'URLs', 'tiles/s', 'p50 ms', 'p99 ms', 'errors', 'timeouts'], warmRows, [1, 2, 3, 4, 5, 6]),
        '',
        'Keeping the cells: one UPDATE statement in a rolled-back transaction, median.',
        '',
        table(['write', 'without the cells ms', 'with the cells ms', 'cells cost ms'], writeRows, [1, 2, 3]),
        '',
      ].join('\n'),
    );
  } finally {
    await plainKnex.destroy();
    await changes.stop();
    await db.close();
    await scratch.drop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
