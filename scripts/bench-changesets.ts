/**
 * Changeset benchmark (issue #14), side by side with the plain PostGIS SQL a planner would otherwise run.
 * On a generated city (governance system and its addresses), three realistic changesets:
 * - move a shared boundary: a 40 m strip of one grid along the boundary it shares with a sibling goes to
 *   the sibling (redraw of both);
 * - a street's worth: 25 such boundaries of neighbouring families in one changeset (50 grids, the issue's
 *   "changeset touching 50 grids"), against the 50 updates and the check of every family they touch;
 * - split one grid into three bands (one part keeps the code, two get new codes).
 * gridatlas: the proof and impact (POST a draft: partition of the touched families, addresses and open
 * incidents that move, areas, size rules) and the apply (one transaction: grids, address re-assignment,
 * history, incident re-routing). Plain SQL: the ST_Union/ST_Difference updates (or the inserts and the
 * delete of a split) and a manual overlap-and-gap query over the family, rolled back so each repetition
 * starts from the same data. Each repetition uses another pair or grid; a warm-up first; median and min.
 * Then point lookups at 500 addresses, on today's grids and `asOf` over the grid history, now and as of the
 * load (before the changesets), interleaved point by point.
 *
 * Usage: [DATABASE_URL=postgres://user:pass@host/db] npx tsx scripts/bench-changesets.ts
 *          [--grids 4000] [--addresses 200000] [--reps 5]
 * With DATABASE_URL it works in a database of its own (gridatlas_bench_changesets_<pid>), dropped at the end;
 * without, in an in-memory embedded PostGIS.
 */
import os from 'node:os';
import type { Knex } from 'knex';
import type { SourceRecord } from '../service/addresses';
import { createServices } from '../service/app';
import { ChangeBus } from '../service/db/changes';
import { openDatabase, type Database } from '../service/db/engine';
import { addressFeature } from '../service/demo/addresses';
import { generateCityStream } from '../service/demo/index';
import { createLogger } from '../service/logger';
import { scratchDatabase } from './bench-lib';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const gridsN = Number(args.get('grids') ?? 4000);
const addressCap = Number(args.get('addresses') ?? 200_000);
const reps = Number(args.get('reps') ?? 5);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const log = (s: string) => process.stderr.write(`${s}\n`);

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

/** Pairs of sibling leaf grids sharing a boundary, with the 40 m strip of the second along it. */
const PAIRS_SQL = `
  with pairs as (
    select a.code as a, b.code as b, a.parent_code as parent, a.geom as ga, b.geom as gb
    from grids a join grids b on a.system_id = b.system_id and a.parent_code = b.parent_code and a.code < b.code and a.geom && b.geom
    where a.system_id = ? and a.level = 'grid' and ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))::geography) > 200
    order by a.code limit ?)
  select a, b, parent,
    ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SnapToGrid(ST_Union(ga, s), 1e-9)), 3)), 9) as new_a,
    ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SnapToGrid(ST_Difference(gb, s), 1e-9)), 3)), 9) as new_b,
    ST_AsGeoJSON(s, 9) as strip
  from (select *, ST_Multi(ST_CollectionExtract(ST_Intersection(gb, ST_Buffer(ST_Intersection(ga, gb)::geography, 40)::geometry), 3)) as s from pairs) p`;

/** Grids cut into three vertical bands of their bounding box, one per family (each repetition its own). */
const SPLIT_SQL = `
  select distinct on (parent_code) code, parent_code as parent,
    (select max(c.code) from grids c where c.system_id = g.system_id and c.parent_code = g.parent_code) as last_sibling,
    array(select ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SnapToGrid(ST_Intersection(g.geom,
        ST_MakeEnvelope(ST_XMin(g.geom) + i * (ST_XMax(g.geom) - ST_XMin(g.geom)) / 3, ST_YMin(g.geom) - 1e-6,
                        ST_XMin(g.geom) + (i + 1) * (ST_XMax(g.geom) - ST_XMin(g.geom)) / 3, ST_YMax(g.geom) + 1e-6, 4326)), 1e-9)), 3)), 9)
      from generate_series(0, 2) i) as parts
  from grids g where system_id = ? and level = 'grid' order by parent_code, code limit ?`;

/** The manual check a planner runs after editing: overlaps between siblings and the gap left in the parent. */
const CHECK_SQL = `
  with kids as (select code, geom from grids where system_id = ? and parent_code = ?)
  select
    (select coalesce(sum(ST_Area(ST_Intersection(x.geom, y.geom)::geography)), 0) from kids x join kids y on x.code < y.code and x.geom && y.geom
      where ST_Relate(x.geom, y.geom, '2********')) as overlap_m2,
    (select ST_Area(ST_Difference(p.geom, (select ST_Union(geom) from kids))::geography) from grids p where p.system_id = ? and p.code = ?) as gap_m2`;

/** Pairs of the 50-grid changeset. */
const STREET_PAIRS = 25;

interface Row {
  engine: string;
  change: string;
  proof: number[];
  apply: number[];
  sql: number[];
  moved: number;
}

interface LookupRow {
  engine: string;
  current: number[];
  asOf: number[];
  /** As of the load, before the changesets. */
  past: number[];
}
const lookupRows: LookupRow[] = [];

async function bench(db: Database, engine: string): Promise<Row[]> {
  const changes = new ChangeBus(db);
  await changes.start();
  try {
    const services = createServices({ db, changes, logger: createLogger('error') });
    const city = generateCityStream({ seed: 1, grids: gridsN });
    const { system, grids: fc } = city.systems.find((s) => s.system.key === 'governance')!;
    await services.systems.create(system);
    for (let i = 0; i < fc.features.length; i += 20_000) await services.grids.import(system.key, fc.features.slice(i, i + 20_000), { mode: 'append', repair: false });
    const imported = await services.addresses.import(addressRecords(city, addressCap), { crs: 'EPSG:4326', atomic: true, nearestM: 200 });
    log(`${engine}: ${fc.features.length} grids, ${imported.inserted} addresses loaded`);
    const stored = await services.systems.require(system.key);
    // The instant the city was loaded: as-of lookups there read the versions the changesets below close.
    const loadedAt = (await db.knex.raw('select now() as t')).rows[0].t.toISOString() as string;
    const knex = db.knex;
    const by = 'bench';
    const feature = (code: string, geojson: string) => ({ type: 'Feature' as const, properties: { code }, geometry: JSON.parse(geojson) });
    const approve = async (id: number) => {
      await services.changesets.submit(system.key, id, by);
      const c = await services.changesets.get(system.key, id);
      await services.changesets.approve(system.key, id, by, { accept: (c.proof?.findings ?? []).map((f) => f.id) });
    };
    const time = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
      const t = performance.now();
      const r = await fn();
      return [performance.now() - t, r];
    };
    const plain = async (work: (tx: Knex.Transaction, parent: string) => Promise<void>, parent: string) => {
      const t = performance.now();
      await knex
        .transaction(async (tx) => {
          await work(tx, parent);
          await tx.raw(CHECK_SQL, [stored.id, parent, stored.id, parent]);
          throw new Error('rollback');
        })
        .catch((err: Error) => {
          if (err.message !== 'rollback') throw err;
        });
      return performance.now() - t;
    };

    const rows: Row[] = [];
    // Move a shared boundary. Pairs are disjoint from each other so every repetition starts from stored grids.
    const pairs: { a: string; b: string; parent: string; new_a: string; new_b: string; strip: string }[] = (await knex.raw(PAIRS_SQL, [stored.id, 8 * (reps + 1)])).rows;
    const used = new Set<string>();
    const chosen = pairs.filter((p) => (used.has(p.a) || used.has(p.b) ? false : (used.add(p.a), used.add(p.b), true))).slice(0, reps + 1);
    const move: Row = { engine, change: 'move a shared boundary (2 grids)', proof: [], apply: [], sql: [], moved: 0 };
    for (const [i, p] of chosen.entries()) {
      const sqlMs = await plain(async (tx) => {
        await tx.raw(`update grids set geom = ST_Multi(ST_CollectionExtract(ST_Union(geom, ST_GeomFromGeoJSON(?)), 3)) where system_id = ? and code = ?`, [p.strip, stored.id, p.a]);
        await tx.raw(`update grids set geom = ST_Multi(ST_CollectionExtract(ST_Difference(geom, ST_GeomFromGeoJSON(?)), 3)) where system_id = ? and code = ?`, [p.strip, stored.id, p.b]);
      }, p.parent);
      const [proofMs, cs] = await time(() => services.changesets.create(system.key, { reason: 'bench: move a boundary', operations: [{ op: 'redraw', grids: [feature(p.a, p.new_a), feature(p.b, p.new_b)] }] }, by));
      await approve(cs.id);
      const [applyMs] = await time(() => services.changesets.apply(system.key, cs.id, by));
      if (i === 0) continue; // warm-up
      move.sql.push(sqlMs);
      move.proof.push(proofMs);
      move.apply.push(applyMs);
      move.moved = Math.max(move.moved, cs.proof?.impact.addresses.moved ?? 0);
    }
    rows.push(move);

    // Move 25 shared boundaries of neighbouring families at once (50 grids, a street's worth): one redraw of
    // every pair, against the same 50 updates and the check of every family they touch. Each repetition takes
    // the next 25 pairs, so it starts from stored grids.
    const streetPairs: typeof pairs = (await knex.raw(PAIRS_SQL, [stored.id, 100 * (reps + 1)])).rows;
    const taken = new Set<string>(used);
    const wide = streetPairs.filter((p) => (taken.has(p.a) || taken.has(p.b) ? false : (taken.add(p.a), taken.add(p.b), true)));
    const street: Row = { engine, change: 'move 25 shared boundaries (50 grids)', proof: [], apply: [], sql: [], moved: 0 };
    for (let i = 0; i <= reps && (i + 1) * STREET_PAIRS <= wide.length; i++) {
      const batch = wide.slice(i * STREET_PAIRS, (i + 1) * STREET_PAIRS);
      const families = [...new Set(batch.map((p) => p.parent))];
      const t = performance.now();
      await knex
        .transaction(async (tx) => {
          for (const p of batch) {
            await tx.raw(`update grids set geom = ST_Multi(ST_CollectionExtract(ST_Union(geom, ST_GeomFromGeoJSON(?)), 3)) where system_id = ? and code = ?`, [p.strip, stored.id, p.a]);
            await tx.raw(`update grids set geom = ST_Multi(ST_CollectionExtract(ST_Difference(geom, ST_GeomFromGeoJSON(?)), 3)) where system_id = ? and code = ?`, [p.strip, stored.id, p.b]);
          }
          for (const parent of families) await tx.raw(CHECK_SQL, [stored.id, parent, stored.id, parent]);
          throw new Error('rollback');
        })
        .catch((err: Error) => {
          if (err.message !== 'rollback') throw err;
        });
      const sqlMs = performance.now() - t;
      const [proofMs, cs] = await time(() =>
        services.changesets.create(system.key, { reason: 'bench: a street redrawn', operations: [{ op: 'redraw', grids: batch.flatMap((p) => [feature(p.a, p.new_a), feature(p.b, p.new_b)]) }] }, by),
      );
      await approve(cs.id);
      const [applyMs] = await time(() => services.changesets.apply(system.key, cs.id, by));
      log(`${engine}: 50 grids in ${families.length} families: proof ${proofMs.toFixed(0)} ms, apply ${applyMs.toFixed(0)} ms, SQL ${sqlMs.toFixed(0)} ms`);
      if (i === 0) continue;
      street.sql.push(sqlMs);
      street.proof.push(proofMs);
      street.apply.push(applyMs);
      street.moved = Math.max(street.moved, cs.proof?.impact.addresses.moved ?? 0);
    }
    if (street.proof.length > 0) rows.push(street);

    // Split one grid into three bands.
    const splits: { code: string; parent: string; last_sibling: string; parts: string[] }[] = (await knex.raw(SPLIT_SQL, [stored.id, 4 * (reps + 1)])).rows;
    const parents = new Set<string>();
    const targets = splits.filter((s) => (parents.has(s.parent) ? false : (parents.add(s.parent), true))).slice(0, reps + 1);
    const split: Row = { engine, change: 'split one grid into 3', proof: [], apply: [], sql: [], moved: 0 };
    for (const [i, s] of targets.entries()) {
      const seq = Number(s.last_sibling.slice(-3));
      const codes = [s.code, `${s.parent}${String(seq + 1).padStart(3, '0')}`, `${s.parent}${String(seq + 2).padStart(3, '0')}`];
      const sqlMs = await plain(async (tx) => {
        await tx.raw(`update grids set geom = ST_GeomFromGeoJSON(?) where system_id = ? and code = ?`, [s.parts[0], stored.id, s.code]);
        for (const k of [1, 2]) {
          await tx.raw(
            `insert into grids (system_id, code, parent_code, level, name, geom) values (?, ?, ?, 'grid', ?, ST_SetSRID(ST_GeomFromGeoJSON(?), 4326))`,
            [stored.id, codes[k], s.parent, codes[k], s.parts[k]],
          );
        }
      }, s.parent);
      const [proofMs, cs] = await time(() =>
        services.changesets.create(system.key, { reason: 'bench: split', operations: [{ op: 'split', code: s.code, into: codes.map((c, k) => feature(c, s.parts[k]!)) }] }, by),
      );
      await approve(cs.id);
      const [applyMs] = await time(() => services.changesets.apply(system.key, cs.id, by));
      if (i === 0) continue;
      split.sql.push(sqlMs);
      split.proof.push(proofMs);
      split.apply.push(applyMs);
      split.moved = Math.max(split.moved, cs.proof?.impact.addresses.moved ?? 0);
    }
    rows.push(split);

    // Point lookups at 500 addresses' positions: today's grids against the history as of now (after every
    // change) and as of the load (before them). Interleaved point by point, so a change of the machine's load
    // weighs on all three alike.
    const points: { x: number; y: number }[] = (await knex.raw('select ST_X(geom) as x, ST_Y(geom) as y from addresses order by id limit 500')).rows;
    const asOf = (await knex.raw('select now() as t')).rows[0].t.toISOString() as string;
    const lookups = async () => {
      const sums = [0, 0, 0];
      for (const p of points) {
        for (const [k, at] of ([undefined, asOf, loadedAt] as const).entries()) {
          const t = performance.now();
          await services.point.lookup(p.x, p.y, 'all', at);
          sums[k] += performance.now() - t;
        }
      }
      return sums.map((ms) => ms / points.length);
    };
    const lookup: LookupRow = { engine, current: [], asOf: [], past: [] };
    await lookups();
    for (let r = 0; r < reps; r++) {
      const [current, now, past] = await lookups();
      lookup.current.push(current!);
      lookup.asOf.push(now!);
      lookup.past.push(past!);
    }
    lookupRows.push(lookup);
    return rows;
  } finally {
    await changes.stop();
  }
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  let rows: Row[];
  if (url) {
    const scratch = await scratchDatabase(url, 'changesets');
    const db = await openDatabase({ databaseUrl: scratch.url });
    try {
      rows = await bench(db, 'server (PostGIS 3.3)');
    } finally {
      await db.close();
      await scratch.drop();
    }
  } else {
    const db = await openDatabase({ dataDir: 'memory://' });
    try {
      rows = await bench(db, 'embedded (PGlite)');
    } finally {
      await db.close();
    }
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\n## Changesets: ${gridsN.toLocaleString('en')}-grid city, ${addressCap.toLocaleString('en')} addresses at most; ${os.cpus().length} × ${cpu}, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)}; median (min) of ${reps}\n`);
  console.log('| engine | changeset | addresses moved | gridatlas proof + impact | gridatlas apply | plain SQL update + overlap/gap check | (proof + apply) / SQL |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const cell = (xs: number[]) => `${fmt(median(xs))} ms (${fmt(Math.min(...xs))})`;
    console.log(`| ${r.engine} | ${r.change} | ${r.moved} | ${cell(r.proof)} | ${cell(r.apply)} | ${cell(r.sql)} | ${((median(r.proof) + median(r.apply)) / median(r.sql)).toFixed(1)}× |`);
  }
  console.log('\n| engine | point lookup, current grids | `?asOf=` now (grid history) | `?asOf=` the load (before the changesets) | as-of / current |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of lookupRows) {
    const ratio = (xs: number[]) => (median(xs) / median(r.current)).toFixed(2);
    console.log(`| ${r.engine} | ${fmt(median(r.current))} ms | ${fmt(median(r.asOf))} ms | ${fmt(median(r.past))} ms | ${ratio(r.asOf)}× / ${ratio(r.past)}× |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
