/**
 * Big streamed grid import (issue #15): a generated whole-country-class GeoJSON file (default ~300 MB:
 * provinces › cities › districts of dense rings, one empty outline) uploaded over HTTP to the service,
 * spooled and parsed feature by feature into one transaction. Prints the time, the throughput and the
 * process's peak RSS sampled every 50 ms (server, upload client and file writer share the process), and
 * the same file through the plain PostGIS insert a user would write (`--plain`: JSON.parse of the whole
 * file, multi-row `INSERT … ST_GeomFromGeoJSON`, no checks), in the same run.
 *
 *   [DATABASE_URL=postgres://…] npx tsx scripts/bench-import-big.ts [--mb 300] [--plain]
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createAuthorizer } from '../service/access';
import { createApp, createServices } from '../service/app';
import { loadConfig } from '../service/config';
import { ChangeBus } from '../service/db/changes';
import { openDatabase, type Database } from '../service/db/engine';
import { scratchDatabase } from './bench-lib';
import { createLogger } from '../service/logger';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!.replace(/^--/, '');
  if (a === 'plain') args.set(a, '1');
  else args.set(a, process.argv[++i] ?? '');
}
const targetMb = Number(args.get('mb') ?? 300);
const VERTICES = 400;

function ring(cx: number, cy: number, r: number): string {
  const pts: string[] = [];
  for (let i = 0; i < VERTICES; i++) {
    const a = (2 * Math.PI * i) / VERTICES;
    // quantised like the public boundary data (1/1024°-ish), with some wobble
    const rr = r * (1 + 0.05 * Math.sin(7 * a));
    pts.push(`[${(cx + rr * Math.cos(a)).toFixed(6)},${(cy + rr * Math.sin(a)).toFixed(6)}]`);
  }
  return `[[${pts.join(',')},${pts[0]}]]`;
}

/** Streams the file to disk; returns features, vertices and bytes. */
async function generate(file: string): Promise<{ features: number; vertices: number; bytes: number }> {
  const out = fs.createWriteStream(file);
  const write = (s: string) => new Promise<void>((resolve) => (out.write(s) ? resolve() : out.once('drain', resolve)));
  let n = 0;
  let vertices = 0;
  let bytes = 0;
  const feature = async (props: Record<string, string>, coords: string | null) => {
    const geometry = coords === null ? '{"type":"Polygon","coordinates":[]}' : `{"type":"Polygon","coordinates":${coords}}`;
    const text = `${n++ ? ',' : ''}{"type":"Feature","properties":${JSON.stringify(props)},"geometry":${geometry}}\n`;
    bytes += text.length;
    if (coords !== null) vertices += VERTICES + 1;
    await write(text);
  };
  await write('{"type":"FeatureCollection","features":[\n');
  for (let p = 0; bytes < targetMb * 1e6; p++) {
    // 68 provinces a row round the globe: a 1 GB file (~390 provinces) stays within lat 20–48.
    const px = -170 + (p % 68) * 5;
    const py = 20 + Math.floor(p / 68) * 5;
    if (py > 80) throw new Error(`--mb ${targetMb}: more provinces than the generated layout holds`);
    await feature({ code: `P${p}`, name: `省${p}`, level: 'province' }, ring(px, py, 2.4));
    for (let c = 0; c < 16; c++) {
      const cx = px - 1.8 + (c % 4) * 1.2;
      const cy = py - 1.8 + Math.floor(c / 4) * 1.2;
      // one empty outline, as in the public whole-country file (issue #15)
      await feature({ code: `P${p}-${c}`, name: `市${c}`, level: 'city', parent: `P${p}` }, p === 0 && c === 3 ? null : ring(cx, cy, 0.55));
      for (let d = 0; d < 16; d++) {
        await feature({ code: `P${p}-${c}-${d}`, name: `区${d}`, level: 'district', parent: `P${p}-${c}` }, ring(cx - 0.45 + (d % 4) * 0.3, cy - 0.45 + Math.floor(d / 4) * 0.3, 0.14));
      }
    }
  }
  await write(']}\n');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { features: n, vertices, bytes: fs.statSync(file).size };
}

function post(port: number, file: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/systems/bench-big/import', headers: { 'content-type': 'application/geo+json', 'content-length': fs.statSync(file).size } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    fs.createReadStream(file).pipe(req);
  });
}

/**
 * The database to run on: embedded in a temporary directory, or with DATABASE_URL a fresh database on that server
 * (the URL's own database may hold another checkout's migrations), dropped afterwards.
 */
async function benchDatabase(): Promise<{ db: Database; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    // On disk as `npm start` runs it: an in-memory database would count the whole database as RSS.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gridatlas-bench-data-'));
    const db = await openDatabase({ dataDir });
    return { db, drop: async () => (await db.close(), fs.rmSync(dataDir, { recursive: true, force: true })) };
  }
  const scratch = await scratchDatabase(url, 'import');
  const db = await openDatabase({ databaseUrl: scratch.url });
  return { db, drop: async () => (await db.close(), await scratch.drop()) };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gridatlas-bench-import-'));
  const file = path.join(dir, 'country.geojson');
  try {
    let t = performance.now();
    const gen = await generate(file);
    console.error(`generated ${(gen.bytes / 1e6).toFixed(0)} MB, ${gen.features} features, ${gen.vertices} vertices in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const { db, drop } = await benchDatabase();
    const config = loadConfig({ LOG_LEVEL: 'error', DEMO_CITY: 'off' });
    const changes = new ChangeBus(db);
    const logger = createLogger('error');
    const services = createServices({ db, changes, logger });
    // Requests act as an internal administrator, as in the feature tests: this measures the import, not a login.
    const authorize = createAuthorizer(services.access, { anonymousAs: { user: { id: 0, username: 'bench' }, pairs: [{ role: 'admin' }], via: 'internal' } });
    const app = createApp({ db, config, changes, logger, services, authorize });
    const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    await db.knex('grid_systems').where({ key: 'bench-big' }).delete();
    await services.systems.create({ key: 'bench-big', name: 'bench', kind: 'other', levels: [{ key: 'province', name: '省' }, { key: 'city', name: '市' }, { key: 'district', name: '区' }], codeScheme: { type: 'free' } });

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    t = performance.now();
    const res = await post(port, file);
    const ms = performance.now() - t;
    clearInterval(sampler);
    if (res.status !== 200) throw new Error(`import failed: ${res.status} ${res.body.slice(0, 500)}`);
    const result = JSON.parse(res.body) as { inserted: number; empty: unknown[] };

    let plainMs: number | null = null;
    let plainPeak: number | null = null;
    if (args.has('plain')) {
      const systemId = (await db.knex('grid_systems').where({ key: 'bench-big' }).first('id')).id as number;
      await db.knex('grids').where({ system_id: systemId }).delete();
      global.gc?.();
      plainPeak = process.memoryUsage().rss;
      const s = setInterval(() => (plainPeak = Math.max(plainPeak!, process.memoryUsage().rss)), 50);
      t = performance.now();
      try {
        const features = JSON.parse(fs.readFileSync(file, 'utf8')).features as { properties: Record<string, string>; geometry: unknown }[];
        await db.knex.transaction(async (trx) => {
          for (let i = 0; i < features.length; i += 500) {
            const batch = features.slice(i, i + 500);
            await trx.raw(
              `insert into grids (system_id, code, parent_code, level, name, geom) values ${batch.map(() => '(?, ?, ?, ?, ?, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(?), 4326)))').join(',')}`,
              batch.flatMap((f) => [systemId, f.properties.code, f.properties.parent ?? null, f.properties.level, f.properties.name, JSON.stringify(f.geometry)]),
            );
          }
        });
        plainMs = performance.now() - t;
      } catch (err) {
        console.error(`plain insert failed: ${(err as Error).message.slice(0, 200)}`);
      }
      clearInterval(s);
    }
    server.close();
    await services.partition.settled();
    await drop();
    const mb = gen.bytes / 1e6;
    console.log(`\nmachine: ${os.cpus()[0]?.model} × ${os.cpus().length}, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
    console.log('| engine | file | gridatlas import (HTTP, streamed, checked) | throughput | peak RSS (rise) | plain PostGIS insert (JSON.parse + INSERT, no checks) | peak RSS (rise) |');
    console.log('|---|---|---|---|---|---|---|');
    console.log(
      `| ${db.engine} | ${mb.toFixed(0)} MB, ${result.inserted.toLocaleString('en')} grids, ${gen.vertices.toLocaleString('en')} vertices, ${result.empty.length} empty | ${(ms / 1000).toFixed(1)} s | ${(mb / (ms / 1000)).toFixed(1)} MB/s | ${(peak / 2 ** 20).toFixed(0)} MB (+${((peak - rssBefore) / 2 ** 20).toFixed(0)}) | ${plainMs === null ? '—' : `${(plainMs / 1000).toFixed(1)} s`} | ${plainPeak === null ? '—' : `${(plainPeak / 2 ** 20).toFixed(0)} MB`} |`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
