/**
 * Partition validation on real-world boundaries (issue #15): gridatlas (read the system from PostGIS,
 * validate, store the report and its findings) vs the plain PostGIS SQL a user would write
 * (validity; overlaps, gaps and outside parts on ST_MakeValid input; `partition-sql.ts`), in the same
 * run on the same database. The data are installed from the npm registry at run time (`real-data.ts`).
 *
 *   [DATABASE_URL=postgres://…] npx tsx scripts/bench-partition-real.ts [--data china,us]
 *       [--provinces guang3_dong1,guang3_xi1] [--runs 3] [--repair default|structure]
 *
 * Cold is the first validation right after the import (the validation worker started and warmed up at
 * service start, as main.ts does); warm the median of the runs after it, which reuse what the one before
 * decoded and checked of the unchanged grids (`ValidationReuse`). Two more medians say what that reuse is
 * worth: after one grid of the largest family changed, and from scratch (a fresh service, nothing to
 * reuse, the worker as warm). Besides
 * the times it prints how the verdicts compare with PostGIS: grids flagged invalid by each, and each
 * parent's gap and overlap area (the union of pairwise overlaps: area covered twice or more) against
 * ST_MakeValid(g, 'method=structure').
 */
import type { Knex } from 'knex';
import { createServices } from '../service/app';
import { ChangeBus } from '../service/db/changes';
import { openDatabase, type Database } from '../service/db/engine';
import { createLogger } from '../service/logger';
import { keepValidationWorkerReady, validationWorkerReady } from '../service/partition';
import { header, loadAverage, median, options, scratchDatabase } from './bench-lib';
import { timePlain } from './partition-sql';
import { type RealDataset, installDataPackages, loadChina, loadUs } from './real-data';

const args = options({ data: 'china,us', provinces: 'guang3_dong1,guang3_xi1', runs: 3, repair: 'default' });
// The plain SQL's repair: `default` (ST_MakeValid as a user writes it) or `structure` (as gridatlas repairs).
const repair = args.repair === 'structure' ? 'structure' : 'default';
const datasets = args.data.split(',');
const provinces = args.provinces.split(',').filter(Boolean);
const runs = args.runs;

/** Grids PostGIS calls invalid, and each parent's gap and overlap area with the structure repair. */
async function postgisVerdict(knex: Knex, systemId: number) {
  const invalid: { code: string }[] = (await knex.raw(`select code from grids where system_id = ? and not ST_IsValid(geom)`, [systemId])).rows;
  // null when the engine loses the statement (the embedded one does on US counties: lost-result.ts).
  const areas: { code: string; gap: number; overlap: number }[] | null = await knex
    .raw(
      `with g as (select code, parent_code, ST_MakeValid(geom, 'method=structure') as geom from grids where system_id = ?)
       select p.code,
              coalesce((select ST_Area(ST_Difference(p.geom, ST_Union(c.geom))::geography) from g c where c.parent_code = p.code), 0)::float8 as gap,
              coalesce((select ST_Area(ST_Union(ST_Intersection(a.geom, b.geom))::geography) from g a join g b
                          on a.parent_code = p.code and b.parent_code = p.code and a.code < b.code and a.geom && b.geom
                        where ST_Relate(a.geom, b.geom, '2********')), 0)::float8 as overlap
       from g p where exists (select 1 from g c where c.parent_code = p.code)`,
      [systemId],
    )
    .then(
      (r) => r.rows,
      (err) => {
        if (err.code === 'statement_lost') return null;
        throw err;
      },
    );
  return { invalid: new Set(invalid.map((r) => r.code)), areas };
}

/** The database to run on: embedded in memory, or with DATABASE_URL a scratch database on that server. */
async function benchDatabase(): Promise<{ db: Database; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = await openDatabase({ dataDir: 'memory://' });
    return { db, drop: async () => db.close() };
  }
  const scratch = await scratchDatabase(url, 'real');
  const db = await openDatabase({ databaseUrl: scratch.url });
  return {
    db,
    drop: async () => {
      await db.close();
      await scratch.drop();
    },
  };
}

async function main() {
  const modules = installDataPackages();
  const { db, drop } = await benchDatabase();
  const changes = new ChangeBus(db);
  const services = createServices({ db, changes, logger: createLogger('error') });
  // As the service does at start (main.ts): the validation worker is started and warmed up before any
  // validation. A service validates an import long after its start, so the run waits for the warm-up:
  // under load it could outlast the import and the cold run measured the warm-up instead.
  let t = performance.now();
  keepValidationWorkerReady();
  await validationWorkerReady();
  const workerReadyMs = performance.now() - t;
  const rows: string[] = [];
  const audits: string[] = [];
  const loads: string[] = [];
  for (const which of datasets) {
    const data: RealDataset = which === 'us' ? loadUs(modules) : loadChina(modules, provinces);
    const key = `bench-real-${which}`;
    await db.knex('grid_systems').where({ key }).delete();
    const levels = data.system.levels.map((l) => ({ ...l, name: l.key }));
    await services.systems.create({ key, name: data.name, kind: 'other', levels, overlapPolicy: data.system.overlapPolicy });
    const features = data.grids.map((g) => ({ type: 'Feature', properties: { code: g.code, name: g.name, level: g.level, parent: g.parentCode }, geometry: g.geometry }));
    t = performance.now();
    await services.grids.import(key, features as never, { mode: 'append', repair: false });
    const importMs = performance.now() - t;
    const systemId = (await db.knex('grid_systems').where({ key }).first('id')).id as number;
    await db.knex.raw('analyze grids');

    const ours: number[] = [];
    const plain: number[] = [];
    let lost = 0;
    let report: { summary: { counts: Record<string, number> }; parents: { parent: string | null; gap_m2: number; overlap_m2: number }[]; issues: { kind: string; grids: string[] }[] } | null = null;
    for (let run = 0; run <= runs; run++) {
      t = performance.now();
      const result = await services.partition.validate(key, { options: {}, mode: 'sync' });
      ours.push(performance.now() - t);
      if (!('report' in result)) throw new Error('validation queued as a job');
      const sql = await timePlain(db.knex, systemId, repair);
      plain.push(sql.ms);
      lost = Math.max(lost, sql.lost);
    }
    // After one grid changed: its row rewritten (a new xmin, as any edit gives it) in the largest family,
    // so that grid is read and inspected again and its family checked again; the rest is reused.
    const sizes = new Map<string, string[]>();
    for (const g of data.grids) if (g.parentCode) sizes.set(g.parentCode, [...(sizes.get(g.parentCode) ?? []), g.code]);
    const largest = [...sizes.values()].sort((a, b) => b.length - a.length)[0]!;
    const edited: number[] = [];
    // The validator from scratch (no reuse): a fresh partition service each run, the worker as warm as above.
    for (let run = 0; run < runs; run++) {
      await db.knex.raw('update grids set name = name where system_id = ? and code = ?', [systemId, largest[run % largest.length]]);
      t = performance.now();
      await services.partition.validate(key, { options: {}, mode: 'sync' });
      edited.push(performance.now() - t);
    }
    // (After the edits: a fresh service's validation replaces what the worker holds.)
    const recomputed: number[] = [];
    for (let run = 0; run < runs; run++) {
      const fresh = createServices({ db, changes, logger: createLogger('error') });
      t = performance.now();
      await fresh.partition.validate(key, { options: {}, mode: 'sync' });
      recomputed.push(performance.now() - t);
      await fresh.partition.settled();
    }
    const warmOurs = runs > 0 ? median(ours.slice(1)) : NaN;
    const warmPlain = runs > 0 ? median(plain.slice(1)) : NaN;
    loads.push(`${data.name}: ${loadAverage()}`);
    // A plain SQL that lost statements stopped part-way: its time counts only the work done until then, a
    // lower bound of what completing it would take, so the ratio is one too.
    const aim = (ratio: number) => `${lost > 0 ? '≥ ' : ''}${ratio.toFixed(2)}×${ratio >= 4 ? '' : ' (aim 4×: not met)'}`;
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    if (lost > 0) loads.push(`${data.name}: the plain SQL (${repair} repair) lost ${lost} of 4 statements on this engine (ratios marked ≥ are lower bounds)`);
    rows.push(
      `| ${db.engine} | ${data.name}: ${data.grids.length.toLocaleString('en')} grids, ${data.vertices.toLocaleString('en')} vertices | ${(importMs / 1000).toFixed(1)} s | ${s(ours[0]!)} | ${s(plain[0]!)} | ${aim(plain[0]! / ours[0]!)} | ${s(warmOurs)} | ${s(warmPlain)} | ${aim(warmPlain / warmOurs)} | ${s(median(edited))} (${aim(warmPlain / median(edited))}) | ${s(median(recomputed))} (${aim(warmPlain / median(recomputed))}) |`,
    );

    // Every finding, not the report's first 200 per kind.
    report = (await services.partition.report(key, null, { full: true })) as unknown as typeof report;
    const verdict = await postgisVerdict(db.knex, systemId);
    const ourInvalid = new Set(report!.issues.filter((i) => i.kind === 'invalid').flatMap((i) => i.grids));
    const both = [...ourInvalid].filter((c) => verdict.invalid.has(c)).length;
    let worstGap = 0;
    let worstOverlap = 0;
    for (const a of verdict.areas ?? []) {
      const p = report!.parents.find((x) => x.parent === a.code);
      if (!p) continue;
      worstGap = Math.max(worstGap, Math.abs(p.gap_m2 - a.gap) / Math.max(1, a.gap));
      worstOverlap = Math.max(worstOverlap, Math.abs(p.overlap_m2 - a.overlap) / Math.max(1, a.overlap));
    }
    const c = report!.summary.counts;
    audits.push(
      `| ${db.engine} | ${data.name} | ${ourInvalid.size} | ${verdict.invalid.size} | ${both} | ${c['repeated-vertices']} | ${c.overlap} / ${c.gap} / ${c.sliver} / ${c.outside} | ${verdict.areas ? `${(worstGap * 100).toFixed(3)} %` : '— (PostGIS loses the statement here)'} | ${verdict.areas ? `${(worstOverlap * 100).toFixed(3)} %` : '—'} |`,
    );
    await db.knex('grid_systems').where({ key }).delete();
  }
  await services.partition.settled();
  await drop();
  console.log(`\n${header(db.engine)}; cold = first run after the import, warm = median of ${runs} more; validation worker ready (started and warmed up) after ${Math.round(workerReadyMs)} ms; load average after each data set: ${loads.join('; ')}\n`);
  console.log('| engine | data | import | gridatlas cold (read + validate + store) | plain PostGIS SQL cold | ratio cold | gridatlas warm (unchanged grids reused) | plain SQL warm | ratio warm | one grid changed (ratio to plain warm) | from scratch, no reuse (ratio) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('\n| engine | data | grids invalid (gridatlas) | grids invalid (PostGIS ST_IsValid) | both | repeated-vertices warnings | overlaps / gaps / slivers / outside | worst parent gap area vs PostGIS structure | worst parent overlap area vs PostGIS |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const a of audits) console.log(a);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
