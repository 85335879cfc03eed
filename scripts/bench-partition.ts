/**
 * Partition validation benchmark (issue #3): the same checks as one plain PostGIS SQL script (validity,
 * sibling overlaps, gaps = parent − union of children, children outside their parent) vs gridatlas
 * (load the grids from PostGIS + validate), on the demo city and a 50,000-grid city, in the same run on
 * the same database; plus the incremental re-check after a single-grid edit.
 *
 *   DATABASE_URL=postgres://… npx tsx scripts/bench-partition.ts [--grids 400,50000] [--runs 3]
 *
 * Without DATABASE_URL it runs on the embedded PostGIS. Prints a markdown table: medians after a warm-up.
 */
import os from 'node:os';
import { createServices } from '../service/app';
import { ChangeBus } from '../service/db/changes';
import { openDatabase } from '../service/db/engine';
import { generateCityStream } from '../service/demo/index';
import { createLogger } from '../service/logger';
import { timePlain } from './partition-sql';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const sizes = (args.get('grids') ?? '400,50000').split(',').map(Number);
const runs = Number(args.get('runs') ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const db = await openDatabase(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : { dataDir: 'memory://' });
  const changes = new ChangeBus(db);
  const services = createServices({ db, changes, logger: createLogger('error') });
  const rows: string[] = [];
  for (const size of sizes) {
    const city = generateCityStream({ seed: 11, grids: size, defects: true });
    const gov = city.systems.find((s) => s.system.key === 'governance')!;
    const key = `bench-partition-${size}`;
    await db.knex('grid_systems').where({ key }).delete();
    await services.systems.create({ ...gov.system, key });
    await services.grids.import(key, gov.grids.features, { mode: 'append', repair: false });
    const systemId = (await db.knex('grid_systems').where({ key }).first('id')).id as number;
    await db.knex.raw('analyze grids');
    const ours: number[] = [];
    const plain: number[] = [];
    let issues = 0;
    for (let run = 0; run <= runs; run++) {
      // From scratch each run (a fresh service): a service's next validation of unchanged grids reuses
      // what the last one decoded and checked (`ValidationReuse`); bench-partition-real.ts measures that.
      const fresh = createServices({ db, changes, logger: createLogger('error') });
      const t = performance.now();
      const result = await fresh.partition.validate(key, { options: {}, mode: 'sync' });
      const a = performance.now() - t;
      if ('report' in result) issues = result.report.issues.length;
      const { ms: b, lost } = await timePlain(db.knex, systemId);
      if (lost > 0) throw new Error(`the plain SQL lost ${lost} statement(s) on the ${db.engine} engine: no baseline to compare with`);
      if (run > 0) {
        ours.push(a);
        plain.push(b);
      }
    }
    // single-grid re-check: move one vertex of one finest grid, the stored report follows
    const victim = gov.grids.features.find((f) => f.properties.level === 'grid')!;
    const recheck: number[] = [];
    const editToReport: number[] = [];
    for (let run = 0; run <= runs; run++) {
      const ring = victim.geometry.coordinates[0]![0]!;
      const dx = run % 2 === 0 ? 0.0002 : 0;
      const moved = ring.map(([x, y], i) => (i === 0 || i === ring.length - 1 ? [x! + dx, y!] : [x!, y!]));
      const t = performance.now();
      await services.grids.patch(key, victim.properties.code, { geometry: { type: 'Polygon', coordinates: [moved] } }, { repair: false, expectedVersion: null });
      const report = await services.partition.report(key, null);
      if (run > 0) {
        recheck.push(report.durationMs);
        editToReport.push(performance.now() - t);
      }
    }
    const vertices = gov.grids.features.reduce((n, f) => n + f.geometry.coordinates.flat(2).length, 0);
    rows.push(
      `| ${db.engine} | ${gov.grids.features.length.toLocaleString('en')} grids, ${vertices.toLocaleString('en')} vertices | ${median(ours).toFixed(0)} ms | ${median(plain).toFixed(0)} ms | ${(median(plain) / median(ours)).toFixed(1)}× | ${median(recheck).toFixed(1)} ms | ${median(editToReport).toFixed(0)} ms | ${issues} |`,
    );
    await db.knex('grid_systems').where({ key }).delete();
  }
  await services.partition.settled();
  await db.close();
  console.log(`\nmachine: ${os.cpus()[0]?.model} × ${os.cpus().length}, Node ${process.version}, ${runs} runs (median, after a warm-up)\n`);
  console.log('| engine | data | gridatlas (load + validate + store) | plain PostGIS SQL | speed-up | single-grid re-check | edit → stored report | issues found |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
