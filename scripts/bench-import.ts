/**
 * Bulk import benchmark (issue #2): gridatlas's import (checks every feature, flags invalid geometries,
 * one transaction) vs a plain PostGIS insert of the same features (multi-row INSERT … ST_GeomFromGeoJSON),
 * on the demo city and on a larger generated city, in the same run and on the same database.
 *
 *   npx tsx scripts/bench-import.ts [--grids 400,100000] [--runs 3] [--engine server|embedded]
 *
 * The server engine needs DATABASE_URL. Prints a markdown table: median of the runs after one warm-up.
 */
import os from 'node:os';
import type { Knex } from 'knex';
import { ChangeBus } from '../service/db/changes';
import { openDatabase, type Database } from '../service/db/engine';
import { createServices } from '../service/app';
import { generateCityStream } from '../service/demo/index';
import { createLogger } from '../service/logger';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const sizes = (args.get('grids') ?? '400,100000').split(',').map(Number);
const runs = Number(args.get('runs') ?? 3);
const engine = args.get('engine') ?? (process.env.DATABASE_URL ? 'server' : 'embedded');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function plainInsert(knex: Knex, systemId: number, features: GeoJSON.Feature[]): Promise<void> {
  await knex.transaction(async (trx) => {
    for (let i = 0; i < features.length; i += 500) {
      const batch = features.slice(i, i + 500);
      const values = batch.map(() => '(?, ?, ?, ?, ?, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(?), 4326)))').join(',');
      await trx.raw(
        `insert into grids (system_id, code, parent_code, level, name, geom) values ${values}`,
        batch.flatMap((f) => [systemId, f.properties!.code, f.properties!.parent ?? null, f.properties!.level, f.properties!.name, JSON.stringify(f.geometry)]),
      );
    }
  });
}

async function main() {
  const db: Database = await openDatabase(engine === 'server' ? { databaseUrl: process.env.DATABASE_URL } : { dataDir: 'memory://' });
  const changes = new ChangeBus(db);
  const { systems, grids } = createServices({ db, changes, logger: createLogger('error') });
  const rows: string[] = [];
  for (const size of sizes) {
    const city = generateCityStream({ seed: 7, grids: size });
    const gov = city.systems.find((s) => s.system.kind === 'governance')!;
    const features = gov.grids.features;
    const vertices = features.reduce((n, f) => n + f.geometry.coordinates.flat(2).length, 0);
    const ours: number[] = [];
    const plain: number[] = [];
    for (let run = 0; run <= runs; run++) {
      await db.knex('grid_systems').where('key', 'like', 'bench-%').delete();
      await systems.create({ ...gov.system, key: 'bench-ours' });
      let t = performance.now();
      await grids.import('bench-ours', features, { mode: 'append', repair: false });
      const a = performance.now() - t;
      await systems.create({ ...gov.system, key: 'bench-plain' });
      const id = (await db.knex('grid_systems').where({ key: 'bench-plain' }).first('id')).id as number;
      t = performance.now();
      await plainInsert(db.knex, id, features);
      const b = performance.now() - t;
      if (run > 0) {
        ours.push(a);
        plain.push(b);
      }
    }
    await db.knex('grid_systems').where('key', 'like', 'bench-%').delete();
    rows.push(
      `| ${db.engine} | ${features.length.toLocaleString('en')} grids, ${vertices.toLocaleString('en')} vertices | ${median(ours).toFixed(0)} ms | ${median(plain).toFixed(0)} ms | ${(median(ours) / median(plain)).toFixed(2)}× | ${Math.round(features.length / (median(ours) / 1000)).toLocaleString('en')} grids/s |`,
    );
  }
  await db.close();
  console.log(`\nmachine: ${os.cpus()[0]?.model} × ${os.cpus().length}, Node ${process.version}, runs: ${runs} (median, after a warm-up)\n`);
  console.log('| engine | data | gridatlas import | plain PostGIS insert | ratio | gridatlas throughput |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
