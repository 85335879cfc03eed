/**
 * Incident tile benchmark (issue #12): 1,000,000 cases in one city, the `incidents` tile layer served by
 * the real app (clusters below zoom 14, one point per case from it) against the plain query a user would
 * otherwise write, ST_AsMVT over the same table and the same tiles (every case in the tile, no clustering).
 * PostGIS server only: the embedded engine has no ST_AsMVT (FACTS.md).
 *
 *   DATABASE_URL=postgres://… npx tsx scripts/bench-incident-tiles.ts [--cases 1000000] [--tiles 12] [--runs 3]
 *
 * The cases are inserted in one set-based statement (clustered around five centres, as a city's reports
 * are), in a scratch database created and dropped here. Per zoom, `--tiles` tiles spread over the city:
 * cold = the first request of a tile over HTTP (tile cache empty: SQL + encoding), warm = the same tile
 * again (cache hit), plain = the ST_AsMVT statement; median per tile over `--runs` passes (cold: one pass,
 * each on a fresh app). Prints a markdown table with the machine and the load average.
 */
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { createApp, createServices } from '../service/app';
import { loadConfig } from '../service/config';
import { ChangeBus } from '../service/db/changes';
import { openDatabase } from '../service/db/engine';
import { scratchDatabase } from './bench-lib';
import { createLogger } from '../service/logger';
import { tilesCovering, type TileCoord } from '../service/tiles/tile-math';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const CASES = Number(args.get('cases') ?? 1_000_000);
const TILES = Number(args.get('tiles') ?? 12);
const RUNS = Number(args.get('runs') ?? 3);
const ZOOMS = [6, 8, 10, 12, 14];
/** The city: about 50 × 55 km around Chengdu's west, where the demo city lies. */
const BBOX: [number, number, number, number] = [103.8, 30.45, 104.32, 30.95];
const log = (s: string) => process.stderr.write(`${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** `n` tiles taken evenly from those covering the city, always the same ones. */
function sample(tiles: TileCoord[], n: number): TileCoord[] {
  if (tiles.length <= n) return tiles;
  return Array.from({ length: n }, (_, i) => tiles[Math.floor(((i + 0.5) * tiles.length) / n)]!);
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('bench-incident-tiles compares with ST_AsMVT on the PostGIS server: set DATABASE_URL');
  const scratch = await scratchDatabase(url, 'incident_tiles');
  const db = await openDatabase({ databaseUrl: scratch.url });
  const changes = new ChangeBus(db);
  await changes.start();
  try {
    let t = performance.now();
    // Five centres with a triangular spread each (the sum of two uniforms), reported over the last year.
    await db.knex.raw(
      `INSERT INTO incidents (case_no, route, status, category, major, severity, priority, source, description, geom, input_point,
         system, chain, grids, unit_code, unit_path, scope_keys, handling_level, handling_unit, reported_at, card, was_overdue, due_at)
       SELECT 'B-' || g, (ARRAY['routine','coordination','urgent','approval'])[1 + g % 4],
         (ARRAY['reported','registered','dispatched','in_progress','fed_back','closed','closed','closed','evaluated','rejected'])[1 + (g / 7) % 10],
         '0101', '01', 'minor', 3, 'patrol', 'bench', ST_SetSRID(ST_MakePoint(x, y), 4326), jsonb_build_object('crs', 'EPSG:4326', 'x', x, 'y', y),
         'gov', '[]'::jsonb, '[]'::jsonb, 'G' || (g % 400), ARRAY['D', 'S' || (g % 6), 'C' || (g % 40), 'G' || (g % 400)], ARRAY['gov:', 'gov:D'], 0, 'G' || (g % 400),
         now() - (g % 365) * interval '1 day', (ARRAY['none','none','none','none','none','none','yellow','red'])[1 + (g / 3) % 8], g % 13 = 0,
         now() + ((g % 97) - 20) * interval '1 hour'
       FROM (SELECT g, c,
               cx[c] + (random() + random() - 1) * 0.12 AS x,
               cy[c] + (random() + random() - 1) * 0.10 AS y
             FROM generate_series(1, ?::int) g,
               LATERAL (SELECT 1 + g % 5 AS c) k,
               (SELECT ARRAY[104.06, 103.92, 104.20, 104.00, 104.15] AS cx, ARRAY[30.66, 30.58, 30.80, 30.85, 30.55] AS cy) centres) p`,
      [CASES],
    );
    await db.knex.raw('vacuum analyze incidents');
    log(`seeded ${CASES} cases in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const services = createServices({ db, changes, logger: createLogger('error') });
    // The incident layer is not public: signed in as an administrator (sees every case, like the command centre).
    await services.access.createUser({ username: 'bench-admin', password: 'bench-password', roles: [{ role: 'admin' }] });
    const auth = `Bearer ${(await services.access.login('bench-admin', 'bench-password', '127.0.0.1')).token}`;
    const serve = async () => {
      const app = createApp({ config: loadConfig({ LOG_LEVEL: 'error' }), db, changes, logger: createLogger('error'), services });
      const server = http.createServer(app.callback());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    };
    const get = async (base: string, tile: TileCoord) => {
      const started = performance.now();
      const res = await fetch(`${base}/tiles/incidents/${tile.z}/${tile.x}/${tile.y}.mvt`, { headers: { 'accept-encoding': 'gzip', authorization: auth } });
      const body = Buffer.from(await res.arrayBuffer());
      const ms = performance.now() - started;
      if (res.status !== 200 && res.status !== 204) throw new Error(`tile ${tile.z}/${tile.x}/${tile.y}: HTTP ${res.status}`);
      // fetch has already inflated a gzip answer: this is the tile's own size.
      return { ms, bytes: body.length };
    };
    const plain = async (tile: TileCoord) => {
      const started = performance.now();
      const { rows } = await db.knex.raw(
        `SELECT length(ST_AsMVT(q, 'incidents', 4096, 'geom')) AS bytes FROM (
           SELECT case_no, category, status, route, card, unit_code,
             ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(?, ?, ?), 4096, 64) AS geom
           FROM incidents WHERE geom && ST_Transform(ST_TileEnvelope(?, ?, ?, margin => 64.0 / 4096), 4326)) q`,
        [tile.z, tile.x, tile.y, tile.z, tile.x, tile.y],
      );
      return { ms: performance.now() - started, bytes: Number(rows[0].bytes ?? 0) };
    };

    const rows: string[] = [];
    for (const z of ZOOMS) {
      const tiles = sample(tilesCovering(BBOX, z), TILES);
      // Cold: a fresh app (empty tile cache) per pass; warm: the same tiles again on that app.
      const cold: number[][] = tiles.map(() => []);
      const warm: number[][] = tiles.map(() => []);
      const bytes: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const app = await serve();
        for (const [i, tile] of tiles.entries()) {
          const first = await get(app.base, tile);
          cold[i]!.push(first.ms);
          bytes[i] = first.bytes;
          warm[i]!.push((await get(app.base, tile)).ms);
        }
        await app.close();
      }
      const plainMs: number[][] = tiles.map(() => []);
      const plainBytes: number[] = [];
      await plain(tiles[0]!); // warm-up
      for (let run = 0; run < RUNS; run++) {
        for (const [i, tile] of tiles.entries()) {
          const r = await plain(tile);
          plainMs[i]!.push(r.ms);
          plainBytes[i] = r.bytes;
        }
      }
      const per = (xs: number[][]) => median(xs.map(median));
      const worst = (xs: number[][]) => Math.max(...xs.map(median));
      const kb = (xs: number[]) => median(xs) / 1024;
      rows.push(
        `| ${z} | ${tiles.length} | ${z < 14 ? 'clusters' : 'points'} | ${fmt(kb(bytes))} (max ${fmt(Math.max(...bytes) / 1024)}) | ${fmt(per(cold))} (max ${fmt(worst(cold))}) | ${fmt(per(warm))} | ${fmt(kb(plainBytes))} (max ${fmt(Math.max(...plainBytes) / 1024)}) | ${fmt(per(plainMs))} (max ${fmt(worst(plainMs))}) |`,
      );
      log(rows.at(-1)!);
    }
    const v = (await db.knex.raw('select version() as pg, postgis_lib_version() as v')).rows[0];
    process.stdout.write(
      [
        `${CASES.toLocaleString('en')} cases; machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores; Node ${process.version}; ${String(v.pg).split(' on ')[0]}, PostGIS ${v.v}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}`,
        `median per tile over ${RUNS} passes; cold = first request on a fresh app (SQL + encoding), warm = tile cache hit; sizes uncompressed`,
        '',
        '| zoom | tiles | gridatlas holds | gridatlas KiB | gridatlas cold ms | gridatlas warm ms | ST_AsMVT KiB | ST_AsMVT ms |',
        '|---:|---:|---|---:|---:|---:|---:|---:|',
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    await changes.stop();
    await db.close();
    await scratch.drop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
