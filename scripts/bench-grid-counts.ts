/**
 * Grid board benchmark (issue #17 item 4): the counts the map page's 网格看板 asks for on every pan —
 * per grid in the viewport, households, people and open/overdue/closed cases — on the demo city with its
 * year of incident history, on a PostGIS server (DATABASE_URL) in a scratch database it creates and drops.
 * Two viewports (one community, the whole city), each: gridatlas's counts (register summed down the tree,
 * cases through their scope keys) against the plain PostGIS SQL a user would write (addresses and cases
 * joined to the grids they fall in, ST_Covers on the GiST indexes); the first call (cold) and the median of
 * the warm runs.
 *
 *   DATABASE_URL=postgres://… npx tsx scripts/bench-grid-counts.ts [--runs 7]
 */
import os from 'node:os';
import { createServices } from '../service/app';
import { createGridCounts, createGridCountsStore } from '../service/boards';
import { ChangeBus } from '../service/db/changes';
import { openDatabase } from '../service/db/engine';
import { scratchDatabase } from './bench-lib';
import { generateCity } from '../service/demo/index';
import { loadCity, loadDemoIncidents } from '../service/demo/seed';
import { createIncidentCounts, OPEN_STATUSES } from '../service/incidents';
import { createLogger } from '../service/logger';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const runs = Number(args.get('runs') ?? 7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
let sink = 0;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  const r = await fn();
  sink += JSON.stringify(r).length;
  return performance.now() - t;
}

async function main() {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('set DATABASE_URL to a PostgreSQL + PostGIS server (the bench creates and drops its own database)');
  const scratch = await scratchDatabase(url, 'grid_counts');
  const db = await openDatabase({ databaseUrl: scratch.url });
  const changes = new ChangeBus(db);
  await changes.start();
  try {
    const city = generateCity({ seed: 1 });
    const services = createServices({ db, changes, logger: createLogger('error') });
    await loadCity(services, city);
    const cases = await loadDemoIncidents(services.incidents, city);
    await db.knex.raw('analyze');
    const closed = ['closed', 'evaluated'];
    const incidentCounts = createIncidentCounts(db.knex);
    const counts = createGridCounts({
      systems: services.systems,
      store: createGridCountsStore(db.knex),
      incidents: (key, codes, at) => incidentCounts.under(key, codes, at),
      filing: (key) => services.overlays.filing(key, 1),
    });
    const system = await services.systems.require('governance');
    const extent = async (code: string | null) => {
      const r = (await db.knex.raw(`select ST_XMin(e) w, ST_YMin(e) s, ST_XMax(e) e, ST_YMax(e) n from (select ST_Extent(geom) e from grids where system_id = ? ${code ? 'and code = ?' : ''}) x`, code ? [system.id, code] : [system.id])).rows[0];
      return [Number(r.w), Number(r.s), Number(r.e), Number(r.n)] as [number, number, number, number];
    };
    const community = (await db.knex('grids').where({ system_id: system.id, level: 'community' }).orderBy('code').first('code')).code as string;
    // What a user would write: every grid meeting the box, the addresses and the cases inside it.
    const plain = (bbox: [number, number, number, number]) =>
      db.knex.raw(
        `select g.code,
           (select coalesce(sum(a.households), 0) from addresses a where a.geom && g.geom and ST_Covers(g.geom, a.geom)) as households,
           (select coalesce(sum(a.population), 0) from addresses a where a.geom && g.geom and ST_Covers(g.geom, a.geom)) as population,
           (select count(*) filter (where i.status = any(?::text[])) from incidents i where i.geom && g.geom and ST_Covers(g.geom, i.geom)) as open,
           (select count(*) filter (where i.status = any(?::text[]) and (i.was_overdue or i.due_at < now())) from incidents i where i.geom && g.geom and ST_Covers(g.geom, i.geom)) as overdue,
           (select count(*) filter (where i.status = any(?::text[])) from incidents i where i.geom && g.geom and ST_Covers(g.geom, i.geom)) as closed
         from grids g where g.system_id = ? and g.geom && ST_MakeEnvelope(?, ?, ?, ?, 4326) order by g.code limit 2000`,
        [[...OPEN_STATUSES], [...OPEN_STATUSES], closed, system.id, ...bbox],
      );
    const rows: string[] = [];
    for (const [label, bbox] of [
      [`one community (${community})`, await extent(community)],
      ['the whole city', await extent(null)],
    ] as const) {
      const ours = () => counts.counts('governance', { bbox, limit: 2000, scope: 'all' });
      const grids = (await ours()).grids.length;
      const coldOurs = await timed(ours);
      const coldPlain = await timed(() => plain(bbox));
      const warmOurs: number[] = [];
      const warmPlain: number[] = [];
      for (let r = 0; r < runs; r++) {
        warmOurs.push(await timed(ours));
        warmPlain.push(await timed(() => plain(bbox)));
      }
      rows.push(`| ${label} | ${grids} | ${coldOurs.toFixed(1)} | ${median(warmOurs).toFixed(1)} | ${coldPlain.toFixed(1)} | ${median(warmPlain).toFixed(1)} | ${(median(warmPlain) / median(warmOurs)).toFixed(1)}× |`);
    }
    const load = os.loadavg().map((l) => l.toFixed(1)).join(' / ');
    process.stdout.write(
      [
        `demo city: 400 grids, ${city.addresses.features.length.toLocaleString('en')} addresses, ${cases.cases.toLocaleString('en')} cases; server engine; ${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}, load ${load}`,
        '',
        '| viewport | grids | gridatlas first ms | gridatlas warm ms | plain SQL first ms | plain SQL warm ms | plain / gridatlas |',
        '|---|--:|--:|--:|--:|--:|--:|',
        ...rows,
        '',
      ].join('\n'),
    );
    if (sink < 0) process.stdout.write('');
  } finally {
    await changes.stop();
    await db.close();
    await scratch.drop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
