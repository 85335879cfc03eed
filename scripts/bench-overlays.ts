/**
 * Cross-system overlay benchmark (issue #13): gridatlas's overlay report (read the grids from PostGIS,
 * arrange, measure, tabulate) vs the plain PostGIS SQL a user would write for the same figures, in the
 * same run on the same database:
 * - "pairwise": per community and bank the union of the bank's grids inside it (ST_Intersection,
 *   ST_Union), blanks as the community's area less the covered area, overlaps as the union of pairwise
 *   intersections between banks; areas geodesic. (ST_Difference of a community and its covered part
 *   returns no rows at all on the embedded PostGIS for the demo city — no error — so the blank is taken
 *   as a difference of areas, which is the same number.)
 * - "polygonize": node all boundaries (ST_Union of ST_Boundary), ST_Polygonize into faces, each face's
 *   depth by the bank grids containing a point on it (the full arrangement, like the report's faces).
 * Data: the demo city (3 banks) and a generated city of ~2,000 communities with 5 banks whose grids are
 * whole communities or some of a community's governance grids.
 * Also, for the same overlay stored (issue #13 item 9): the report read from its stored faces, and the
 * incremental update after one bank grid moves (PATCH through the grid write path; the time from the
 * change to the stored faces written, as the stored overlay records it), against re-arranging it whole.
 *
 *   DATABASE_URL=postgres://… npx tsx scripts/bench-overlays.ts [--grids 400,20000] [--runs 3] [--polygonize 1] [--dump dir]
 *
 * The polygonize SQL takes minutes on the big city: it runs `--polygonize` times (default once, after the
 * warm-up; 0 skips it).
 *
 * Without DATABASE_URL it runs on the embedded PostGIS. Prints a markdown table: medians after a warm-up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Feature, MultiPolygon } from 'geojson';
import { createServices } from '../service/app';
import { ChangeBus } from '../service/db/changes';
import { openDatabase } from '../service/db/engine';
import { generateCityStream, type GridProperties } from '../service/demo/index';
import { createRandom } from '../service/demo/random';
import { createLogger } from '../service/logger';
import { createOverlayService } from '../service/overlays/index';
import { scratchDatabase } from './bench-lib';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const sizes = (args.get('grids') ?? '400,20000').split(',').map(Number);
const runs = Number(args.get('runs') ?? 3);
const polygonizeRuns = Number(args.get('polygonize') ?? 1);
/** A folder to write the cold reports of the first two runs to (JSON), to compare before and after a change. */
const dump = args.get('dump');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The demo city keeps its own three banks; bigger cities get five generated ones. */
const GENERATED_BANKS = 5;

type GridFeature = Feature<MultiPolygon, GridProperties>;

/**
 * Five banks over the city's communities (seeded): each serves about half of them, most as one grid on
 * the community's boundary, some as a few of its governance grids (a part of the community).
 */
function generatedBanks(communities: GridFeature[], grids: GridFeature[]) {
  const random = createRandom(13);
  const children = new Map<string, GridFeature[]>();
  for (const g of grids) children.set(g.properties.parent!, [...(children.get(g.properties.parent!) ?? []), g]);
  return Array.from({ length: GENERATED_BANKS }, (_, b) => {
    const features: unknown[] = [];
    for (const c of communities) {
      if (random() >= 0.5) continue;
      const props = (code: string, name: string) => ({ code, name, level: 'grid', parent: null, people: [{ name: '客户经理', role: 'responsible' }] });
      if (random() < 0.7) features.push({ type: 'Feature', properties: props(`B${b}-${c.properties.code}`, c.properties.name), geometry: c.geometry });
      else {
        const own = children.get(c.properties.code) ?? [];
        own.slice(0, Math.max(1, Math.round(own.length * 0.4))).forEach((g) => features.push({ type: 'Feature', properties: props(`B${b}-${g.properties.code}`, g.properties.name), geometry: g.geometry }));
      }
    }
    return {
      system: { key: `bench-bank-${b + 1}`, name: `银行${b + 1}`, kind: 'bank', levels: [{ key: 'grid', name: '金融服务网格', order: 1 }], overlapPolicy: { maxDepth: 1 }, codeScheme: { type: 'free' } },
      features,
    };
  });
}

const BANKS = (gov: number, banks: number[]) => `select g.geom, g.system_id as bank from grids g where g.system_id in (${banks.join(',')}) and g.level = 'grid'`;
const COMMUNITIES = (gov: number) => `select code, geom from grids where system_id = ${gov} and level = 'community'`;

/** Per community: each bank's covered area, the blank, the overlapped area (pairwise). */
const PAIRWISE = (gov: number, banks: number[]) => `
  with c as (${COMMUNITIES(gov)}), b as (${BANKS(gov, banks)}),
  per_bank as (
    select c.code, b.bank, ST_Union(ST_Intersection(c.geom, b.geom)) as g
    from c join b on c.geom && b.geom and ST_Intersects(c.geom, b.geom) group by c.code, b.bank),
  covered as (select code, ST_Union(g) as g from per_bank group by code),
  overlap as (
    select p.code, ST_Union(ST_Intersection(p.g, q.g)) as g
    from per_bank p join per_bank q on p.code = q.code and p.bank < q.bank group by p.code)
  select c.code, ST_Area(c.geom::geography) as area,
    ST_Area(c.geom::geography) - coalesce(ST_Area(covered.g::geography), 0) as blank,
    coalesce(ST_Area(overlap.g::geography), 0) as overlapped
  from c left join covered using (code) left join overlap using (code)`;

/** All boundaries noded and polygonized into faces, each with its depth (the full arrangement). */
const POLYGONIZE = (gov: number, banks: number[]) => `
  with c as (${COMMUNITIES(gov)}), b as (${BANKS(gov, banks)}),
  edges as (select ST_Union(ST_Boundary(geom)) as g from (select geom from c union all select geom from b) x),
  faces as (select (ST_Dump(ST_Polygonize(g))).geom as f from edges),
  marked as (select f, ST_PointOnSurface(f) as p from faces)
  select depth, count(*) as faces, sum(ST_Area(f::geography)) as area from (
    select m.f, (select count(distinct b.bank) from b where b.geom && m.p and ST_Intersects(b.geom, m.p)) as depth
    from marked m where exists (select 1 from c where c.geom && m.p and ST_Intersects(c.geom, m.p))) d
  group by depth order by depth`;

async function timed(knex: Knex, sql: string): Promise<{ ms: number; rows: unknown[] }> {
  const t = performance.now();
  const rows = (await knex.raw(sql)).rows as unknown[];
  return { ms: performance.now() - t, rows };
}

async function main() {
  // A server database of its own: others' migrations in the shared one are none of this benchmark's business.
  const scratch = process.env.DATABASE_URL ? await scratchDatabase(process.env.DATABASE_URL, 'overlays') : null;
  const db = await openDatabase(scratch ? { databaseUrl: scratch.url } : { dataDir: 'memory://' });
  const changes = new ChangeBus(db);
  const logger = createLogger('error');
  const services = createServices({ db, changes, logger });
  const rows: string[] = [];
  const incremental: string[] = [];
  const phaseRows: string[] = [];
  for (const size of sizes) {
    const city = generateCityStream({ seed: 11, grids: size });
    const gov = city.systems.find((s) => s.system.key === 'governance')!;
    const features = gov.grids.features as GridFeature[];
    const communities = features.filter((f) => f.properties.level === 'community');
    const banks =
      size <= 400
        ? city.systems.filter((s) => s.system.kind === 'bank').map((s) => ({ system: { ...s.system, key: `bench-${s.system.key}` }, features: s.grids.features as unknown[] }))
        : generatedBanks(communities, features.filter((f) => f.properties.level === 'grid'));
    const govKey = `bench-governance-${size}`;
    for (const key of [govKey, ...banks.map((b) => b.system.key)]) await db.knex('grid_systems').where({ key }).delete();
    await services.systems.create({ ...gov.system, key: govKey });
    await services.grids.import(govKey, features, { mode: 'append', repair: false });
    for (const bank of banks) {
      await services.systems.create(bank.system);
      await services.grids.import(bank.system.key, bank.features, { mode: 'append', repair: false });
    }
    // The imports' partition re-checks run in the background: let them finish before timing.
    await services.partition.settled();
    await db.knex.raw('analyze grids');
    const govId = (await db.knex('grid_systems').where({ key: govKey }).first('id')).id as number;
    const bankIds = (await db.knex('grid_systems').whereIn('key', banks.map((b) => b.system.key)).select('id')).map((r: { id: number }) => r.id);
    const district = features.find((f) => f.properties.parent === null)!.properties.code;
    const request = { territory: { system: govKey, code: district }, systems: banks.map((b) => ({ key: b.system.key })), mode: 'sync' as const };

    const ours: number[] = [];
    const bare: number[] = [];
    const warm: number[] = [];
    const pairwise: number[] = [];
    const polygonize: number[] = [];
    let check = '';
    const dumped: unknown[] = [];
    // One bank grid moved back and forth through the grid write path: each cold report follows a change.
    const moved = banks[0]!.features[Math.floor(banks[0]!.features.length / 2)] as GridFeature;
    let moves = 0;
    const move = () => {
      const d = moves++ % 2 === 0 ? 0.0005 : 0;
      const geometry = { type: 'MultiPolygon', coordinates: moved.geometry.coordinates.map((p) => p.map((ring) => ring.map(([x, y]) => [x! + d, y! - d]))) };
      return services.grids.patch(banks[0]!.system.key, moved.properties.code, { geometry }, { repair: false, expectedVersion: null });
    };
    // Each report's phases as the service logs them (service.ts `phaseClock`); the cold ones are kept.
    let lastPhases: Record<string, number> = {};
    const phaseLogger = { ...logger, debug: (fields: Record<string, unknown>) => void (lastPhases = (fields.phases as Record<string, number>) ?? {}) };
    const coldPhases: Record<string, number>[] = [];
    const fresh = () => createOverlayService({ knex: db.knex, jobs: services.jobs, logger: phaseLogger });
    for (let run = 0; run <= runs; run++) {
      await move();
      await services.partition.settled();
      // Cold: the first report after a change, by a service of its own (an empty input cache, as a new process
      // or any process after the change): one bank grid changed since the kept shapes were made.
      const cold = fresh();
      let t = performance.now();
      const result = await cold.report(request, 'all');
      const a = performance.now() - t;
      const coldPhase = lastPhases;
      await cold.settled();
      // Warm: the same service asked the same again; its systems unchanged, it only arranges.
      t = performance.now();
      await cold.report(request, 'all');
      const w = performance.now() - t;
      // Cold with nothing kept (as the first report after its systems were imported): every shape made.
      await db.knex.raw('delete from overlay_grid_shapes');
      const empty = fresh();
      t = performance.now();
      await empty.report(request, 'all');
      const b = performance.now() - t;
      await empty.settled();
      const p = await timed(db.knex, PAIRWISE(govId, bankIds));
      if (run > 0) {
        ours.push(a);
        // "other": the time the bench saw and no phase holds (awaits between them, the reply's promise).
        coldPhases.push({ ...coldPhase, other: a - Object.values(coldPhase).reduce((x, y) => x + y, 0) });
        bare.push(b);
        warm.push(w);
        pairwise.push(p.ms);
        if (run <= polygonizeRuns) polygonize.push((await timed(db.knex, POLYGONIZE(govId, bankIds))).ms);
      }
      if (dump && run < 2) dumped.push(result);
      if (run === 0 && 'report' in result) {
        // Same figures: blank and overlapped area from the report and from the pairwise SQL.
        const sql = p.rows as { blank: number; overlapped: number }[];
        const blank = sql.reduce((s, r) => s + Number(r.blank), 0);
        const overlapped = sql.reduce((s, r) => s + Number(r.overlapped), 0);
        check = `blank ${result.report.summary.blank_m2.toFixed(0)} / ${blank.toFixed(0)} m², overlap ${result.report.summary.overlap_m2.toFixed(0)} / ${overlapped.toFixed(0)} m²; ${result.report.faces.length} faces`;
      }
    }
    if (dump) {
      fs.mkdirSync(dump, { recursive: true });
      fs.writeFileSync(path.join(dump, `${db.engine}-${size}.json`), JSON.stringify(dumped));
    }
    // The stored overlay: its report from the stored faces, and one bank grid moved back and forth.
    const stored = await services.storedOverlays.create(request, 'all');
    const storedReads: number[] = [];
    const wholes: number[] = [];
    const updates: number[] = [];
    let touched = 0;
    for (let run = 0; run <= runs; run++) {
      let t = performance.now();
      await services.storedOverlays.report(stored.id, 'all', true);
      if (run > 0) storedReads.push(performance.now() - t);
      t = performance.now();
      await services.storedOverlays.create(request, 'all');
      if (run > 0) wholes.push(performance.now() - t);
      const before = services.storedOverlays.lastUpdate();
      await move();
      while (services.storedOverlays.lastUpdate() === before) await new Promise((r) => setTimeout(r, 2));
      await services.storedOverlays.settled();
      const update = services.storedOverlays.lastUpdate()!;
      if (run > 0) updates.push(update.ms);
      touched = update.units;
    }
    await services.storedOverlays.remove(stored.id, 'all');
    incremental.push(
      `| ${db.engine} | ${communities.length.toLocaleString('en')} communities | ${median(storedReads).toFixed(0)} ms | ${median(updates).toFixed(0)} ms (${touched} units) | ${median(wholes).toFixed(0)} ms | ${(median(pairwise) / median(storedReads)).toFixed(1)}× |`,
    );

    const names = [...new Set(coldPhases.flatMap((p) => Object.keys(p)))];
    phaseRows.push(`| ${db.engine} | ${communities.length.toLocaleString('en')} communities | ${median(ours).toFixed(2)} ms | ${names.map((n) => `${n} ${median(coldPhases.map((p) => p[n] ?? 0)).toFixed(2)}`).join(', ')} ms |`);
    const bankGrids = banks.reduce((n, b) => n + b.features.length, 0);
    rows.push(
      `| ${db.engine} | ${communities.length.toLocaleString('en')} communities, ${banks.length} banks, ${bankGrids.toLocaleString('en')} bank grids | ${median(ours).toFixed(1)} ms | ${median(warm).toFixed(1)} ms | ${median(bare).toFixed(1)} ms | ${median(pairwise).toFixed(1)} ms | ${polygonize.length ? `${median(polygonize).toFixed(0)} ms` : '—'} | ${(median(pairwise) / median(ours)).toFixed(1)}× / ${(median(pairwise) / median(warm)).toFixed(1)}× / ${(median(pairwise) / median(bare)).toFixed(1)}× | ${polygonize.length ? `${(median(polygonize) / median(ours)).toFixed(1)}×` : '—'} | ${check} |`,
    );
    for (const key of [govKey, ...banks.map((b) => b.system.key)]) await db.knex('grid_systems').where({ key }).delete();
  }
  await services.partition.settled();
  await db.close();
  await scratch?.drop();
  console.log(`\nmachine: ${os.cpus()[0]?.model} × ${os.cpus().length}, Node ${process.version}, ${runs} runs (median, after a warm-up)\n`);
  console.log('| engine | data | report on request, cold after a one-grid change | warm (same again) | cold, nothing kept | plain SQL: pairwise | plain SQL: polygonize | vs pairwise (cold / warm / nothing kept) | vs polygonize (cold) | same figures (ours / pairwise SQL) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('\n| engine | data | stored report (read + tabulate) | one-grid incremental update | whole re-arrangement (store again) | stored report vs plain SQL pairwise |');
  console.log('|---|---|---|---|---|---|');
  for (const r of incremental) console.log(r);
  console.log('\n| engine | data | cold report | its phases (medians; service.ts phaseClock) |');
  console.log('|---|---|---|---|');
  for (const r of phaseRows) console.log(r);
  console.log(`\nload average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
