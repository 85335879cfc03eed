/**
 * Boards benchmark (issue #17): the responsibility map with its detail table (网格责任人分布图及明细表) for
 * every street of the demo city and of a larger generated city, on a PostGIS server (DATABASE_URL) in a
 * scratch database it creates and drops. Per city:
 *  - for reference, the whole system's address statistics (what the register export counts from); the
 *    boards count one subtree at a time instead;
 *  - per street, warm: the plain PostGIS SQL a user would write for the same table (the street's grids with
 *    their people and the households and population of the addresses they cover), gridatlas's HTML page
 *    (table + map from geometry), and the XLSX workbook;
 *  - the PDF of every street through the shared headless Chromium (two pages at once), when CHROMIUM_PATH
 *    or /usr/bin/chromium exists; `--pdf-streets N` caps the streets printed on the large city.
 *
 *   DATABASE_URL=postgres://… npx tsx scripts/bench-boards.ts [--grids 400,100000] [--runs 3]
 *     [--addresses 1000000] [--pdf-streets 100]
 *
 * Seeded cities, a warm-up pass, the median of the runs; prints a markdown table with the machine.
 * The large city gets its first `--addresses` addresses only (all 12.5 million would take 12 minutes to
 * import): its statistics still aggregate that many rows.
 */
import fs from 'node:fs';
import os from 'node:os';
import { createServices } from '../service/app';
import { createPdfRenderer } from '../service/boards/renderer';
import { createBoardService } from '../service/boards/service';
import { createBoardStore } from '../service/boards/store';
import { ChangeBus } from '../service/db/changes';
import { openDatabase } from '../service/db/engine';
import { addressFeature } from '../service/demo/addresses';
import { createIncidentCounts } from '../service/incidents';
import { generateCityStream } from '../service/demo/index';
import type { SourceRecord } from '../service/addresses';
import { scratchDatabase } from './bench-lib';
import { createLogger } from '../service/logger';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const sizes = (args.get('grids') ?? '400,100000').split(',').map(Number);
const runs = Number(args.get('runs') ?? 3);
const addressCap = Number(args.get('addresses') ?? 1_000_000);
const pdfCap = Number(args.get('pdf-streets') ?? 100);
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : n >= 10 ? n.toFixed(1) : n.toFixed(2));
let sink = 0;

interface Row {
  city: string;
  streets: number;
  gridsPerStreet: number;
  addresses: number;
  statsMs: number;
  sqlMs: number;
  htmlMs: number;
  xlsxMs: number;
  pdf: { streets: number; totalMs: number; perStreetMs: number; pages: number } | null;
}

/**
 * The plain PostGIS query for one street's table: its grids at the finest level with their people and the
 * households and population of the addresses they cover (spatial join on the GiST indexes).
 */
const PLAIN_SQL = `
  with recursive down(code, level) as (
    select code, level from grids where system_id = ? and code = ?
    union all
    select g.code, g.level from grids g join down on g.parent_code = down.code where g.system_id = ?)
  select g.code, g.name, g.people, coalesce(sum(a.households), 0)::int as households, coalesce(sum(a.population), 0)::int as population
  from down join grids g on g.system_id = ? and g.code = down.code
  left join addresses a on ST_Covers(g.geom, a.geom)
  where down.level = 'grid'
  group by g.code, g.name, g.people order by g.code`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  sink += JSON.stringify((await fn()) ?? '').length;
  return performance.now() - started;
}

async function* addressRecords(city: ReturnType<typeof generateCityStream>, cap: number): AsyncGenerator<SourceRecord> {
  let index = 0;
  for (const record of city.addressRecords()) {
    if (index >= cap) return;
    const { properties, geometry } = addressFeature(record);
    const { grid: _grid, ...values } = properties;
    index++;
    yield { row: index, label: `address ${index}`, values, geometry };
  }
}

async function main() {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('set DATABASE_URL to a PostgreSQL + PostGIS server (the bench creates and drops its own database)');
  const rows: Row[] = [];
  const renderer = fs.existsSync(chromium) ? createPdfRenderer({ executablePath: chromium, maxPages: 2 }) : null;
  for (const grids of sizes) {
    const scratch = await scratchDatabase(url, 'boards');
    const db = await openDatabase({ databaseUrl: scratch.url });
    const changes = new ChangeBus(db);
    await changes.start();
    try {
      const city = generateCityStream({ seed: 1, grids });
      const services = createServices({ db, changes, logger: createLogger('error') });
      // The governance system only: the boards are drawn from it.
      const { system, grids: fc } = city.systems.find((s) => s.system.key === 'governance')!;
      await services.systems.create(system);
      for (let i = 0; i < fc.features.length; i += 20_000) {
        await services.grids.import(system.key, fc.features.slice(i, i + 20_000), { mode: 'append', repair: false });
      }
      const cap = grids <= 400 ? Infinity : addressCap;
      const imported = await services.addresses.import(addressRecords(city, cap), { crs: 'EPSG:4326', atomic: true, nearestM: 200 });
      const addresses = imported.inserted;
      const streets = fc.features.filter((f) => f.properties.level === 'street').map((f) => f.properties.code);
      const leaves = fc.features.filter((f) => f.properties.level === 'grid').length;
      const stored = await services.systems.require(system.key);
      const incidentCounts = createIncidentCounts(db.knex);
      const boards = createBoardService({
        systems: services.systems,
        grids: services.grids,
        store: createBoardStore(db.knex),
        renderer: renderer ?? createPdfRenderer({ executablePath: undefined }),
        incidentCounts: (system, codes) => incidentCounts.under(system, codes),
      });
      const options = { lang: 'zh-CN' as const };
      // The whole system's address statistics, which the register export counts from: what the boards
      // would wait for if they counted the same way.
      const statsMs = await timed(() => services.addresses.registerCounts(system.key));
      await boards.responsibilityHtml(system.key, streets[0]!, options);
      const perStreet = async (fn: (code: string) => Promise<unknown>) => {
        const samples: number[] = [];
        for (let r = 0; r < runs; r++) samples.push(await timed(async () => {
          for (const code of streets) sink += JSON.stringify((await fn(code)) ?? '').length;
        }));
        return median(samples) / streets.length;
      };
      const plain = (code: string) => db.knex.raw(PLAIN_SQL, [stored.id, code, stored.id, stored.id]);
      await plain(streets[0]!);
      const sqlMs = await perStreet(plain);
      const htmlMs = await perStreet((code) => boards.responsibilityHtml(system.key, code, options));
      const xlsxMs = await perStreet((code) => boards.responsibilityXlsx(system.key, code, options));
      let pdf: Row['pdf'] = null;
      if (renderer) {
        const printed = grids <= 400 ? streets : streets.slice(0, pdfCap);
        await boards.responsibilityPdf(system.key, printed[0]!, options);
        let pages = 0;
        const totalMs = await timed(async () => {
          let next = 0;
          // Two streets at once, as the renderer's two pages allow.
          await Promise.all([0, 1].map(async () => {
            while (next < printed.length) {
              const buffer = await boards.responsibilityPdf(system.key, printed[next++]!, options);
              pages += (buffer.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
            }
          }));
        });
        pdf = { streets: printed.length, totalMs, perStreetMs: totalMs / printed.length, pages };
      }
      const label = grids === 400 ? 'demo city (400 grids)' : `${grids.toLocaleString('en')}-grid city`;
      rows.push({ city: label, streets: streets.length, gridsPerStreet: Math.round(leaves / streets.length), addresses, statsMs, sqlMs, htmlMs, xlsxMs, pdf });
    } finally {
      await changes.stop();
      await db.close();
      await scratch.drop();
    }
  }
  await renderer?.close();

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\n## Boards benchmark: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)}; median of ${runs} runs\n`);
  console.log('| city | streets | grids per street | addresses | whole-system statistics (not used) | plain SQL table / street | gridatlas HTML map + table / street | XLSX / street | PDF / street (pages) | every street as PDF |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const pdf = r.pdf ? `${fmt(r.pdf.perStreetMs)} ms (${(r.pdf.pages / r.pdf.streets).toFixed(1)})` : 'no Chromium';
    const all = r.pdf ? `${(((r.pdf.perStreetMs * r.streets) / 1000)).toFixed(1)} s${r.pdf.streets < r.streets ? ` (${r.pdf.streets} printed, extrapolated)` : ''}` : '—';
    console.log(`| ${r.city} | ${r.streets.toLocaleString('en')} | ${r.gridsPerStreet} | ${r.addresses.toLocaleString('en')} | ${fmt(r.statsMs)} ms | ${fmt(r.sqlMs)} ms | ${fmt(r.htmlMs)} ms | ${fmt(r.xlsxMs)} ms | ${pdf} | ${all} |`);
  }
  if (sink < 0) console.log(sink);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
