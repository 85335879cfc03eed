/**
 * Incident benchmark (issue #11), side by side with the plain PostGIS SQL a user would otherwise write:
 * 1. creating N incidents over HTTP (located in every system, routed, numbered, deadline in working time,
 *    duplicates checked, logged) against one plain INSERT with an ST_Covers sub-select for the grid;
 * 2. the statistics of a district (per street, every indicator, p90 included) over M incidents against the
 *    plain aggregate with a spatial join to the street polygons;
 * 3. the overdue scan over K open cases all past their deadline (carded, escalated where the policy says,
 *    logged) against a plain UPDATE that only sets the card; and the scan when nothing is due.
 * Seeded data, a warm-up, repetitions, median and min; prints a markdown table with the machine.
 *
 * Usage: [DATABASE_URL=postgres://user:pass@host/db] npx tsx scripts/bench-incidents.ts
 *          [--create 10000] [--stats-cases 300000] [--open 100000] [--reps 5] [--concurrency 8] [--keep] [--small]
 * `--create 0` or `--open 0` leaves that part out; `--small` is a quick run on little data (create 200,
 * stats over 20,000 cases, scan of 5,000, 3 repetitions), any of them still overridable. With DATABASE_URL it works in a database of its own
 * (scratchDatabase: gridatlas_bench_incidents_<pid>), dropped at the end unless `--keep` (to profile it afterwards); without, in an
 * in-memory embedded PostGIS.
 */
import http from 'node:http';
import os from 'node:os';
import request from 'supertest';
import { createApp, createServices } from '../service/app';
import { loadConfig } from '../service/config';
import { ChangeBus } from '../service/db/changes';
import { openDatabase } from '../service/db/engine';
import { incidentHistory } from '../service/demo/incidents';
import { generateCity } from '../service/demo/index';
import { createRandom } from '../service/demo/random';
import { createLogger } from '../service/logger';
import { scratchDatabase } from './bench-lib';

const args = process.argv.slice(2);
const small = args.includes('--small');
const option = (name: string, fallback: number, smallValue = fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : small ? smallValue : fallback;
};
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Measure {
  name: string;
  samples: number[];
  note?: string;
}

async function timed(reps: number, run: () => Promise<unknown>, before?: () => Promise<unknown>): Promise<number[]> {
  if (before) await before();
  await run(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    if (before) await before();
    const t = performance.now();
    await run();
    out.push(performance.now() - t);
  }
  return out;
}

async function pool<T>(items: T[], concurrency: number, work: (item: T, i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

async function main(): Promise<void> {
  const createN = option('create', 10_000, 200);
  const statsN = option('stats-cases', 300_000, 20_000);
  const openN = option('open', 100_000, 5_000);
  const reps = option('reps', 5, 3);
  const loadAtStart = load();
  const concurrency = option('concurrency', 8);
  const url = process.env.DATABASE_URL;
  const scratch = url ? await scratchDatabase(url, 'incidents') : null;
  const target: { databaseUrl?: string; dataDir?: string } = scratch ? { databaseUrl: scratch.url } : { dataDir: 'memory://' };
  const db = await openDatabase(target);
  const measures: Measure[] = [];
  try {
    const changes = new ChangeBus(db);
    await changes.start();
    const services = createServices({ db, changes, logger: createLogger('error') });
    const { incidents } = services;
    const city = generateCity({ seed: 1 });
    for (const { system, grids } of city.systems) {
      await services.systems.create(system);
      await services.grids.import(system.key, grids.features, { mode: 'append', repair: false });
    }
    const governance = city.systems[0]!.system;
    const finest = governance.levels[governance.levels.length - 1]!.key;
    const district = city.systems[0]!.grids.features.find((f) => f.properties.parent === null || f.properties.parent === undefined)!.properties.code as string;
    const points = city.addresses.features.map((f) => f.geometry.coordinates as [number, number]);
    const random = createRandom(11);
    log(`city loaded: ${city.systems.length} systems, district ${district}`);

    // 1. Creating incidents over HTTP, as a signed-in administrator (every API route needs credentials).
    const app = createApp({ config: loadConfig({ LOG_LEVEL: 'error' }), db, changes, logger: createLogger('error'), services });
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await services.access.createUser({ username: 'bench-admin', password: 'bench-password', roles: [{ role: 'admin' }] });
    const auth = `Bearer ${(await services.access.login('bench-admin', 'bench-password', '127.0.0.1')).token}`;
    const agent = request(server);
    const categories = incidents.classification.doc.classes.flatMap((c) => c.minor.map((m) => m.code));
    const bodies = Array.from({ length: createN }, () => {
      const [x, y] = points[Math.floor(random() * points.length)]!;
      return { category: categories[Math.floor(random() * categories.length)]!, point: { x, y }, source: 'api', description: 'bench' };
    });
    const warm = bodies.slice(0, Math.min(200, createN));
    const govId = (await db.knex('grid_systems').where({ key: governance.key }).first('id')).id as number;
    if (createN > 0) {
    await pool(warm, concurrency, (b) => agent.post('/api/incidents').set('Authorization', auth).send(b).expect(201));
    let t = performance.now();
    await pool(bodies, concurrency, (b) => agent.post('/api/incidents').set('Authorization', auth).send(b).expect(201));
    const httpMs = performance.now() - t;

    await db.knex.raw('create unlogged table bench_plain (id bigserial primary key, category text, geom geometry(Point, 4326), grid text, reported_at timestamptz default now())');
    const plainInsert = (b: (typeof bodies)[number]) =>
      db.knex.raw(
        `insert into bench_plain (category, geom, grid)
         select ?, p, (select code from grids g where g.system_id = ? and g.level = ? and ST_Covers(g.geom, p) order by code limit 1)
         from (select ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326) as p) q`,
        [b.category, govId, finest, b.point.x, b.point.y],
      );
    await pool(warm, concurrency, plainInsert);
    t = performance.now();
    await pool(bodies, concurrency, plainInsert);
    const plainMs = performance.now() - t;
    measures.push({ name: `create ${createN} incidents over HTTP, ${concurrency} at a time (total)`, samples: [httpMs], note: `${(httpMs / createN).toFixed(2)} ms per case` });
    measures.push({ name: `plain SQL: ${createN} INSERTs with an ST_Covers sub-select (total)`, samples: [plainMs], note: `${(plainMs / createN).toFixed(2)} ms per row` });
    log('create done');
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));

    // 2. Statistics of the district over many incidents: a year of realistic history, replicated in SQL.
    const now = incidents.now();
    const history = incidentHistory(1, points, 400, incidents.classification.doc, incidents.calendar, now);
    await incidents.importHistory(history);
    const have = Number((await db.knex('incidents').count({ n: '*' }).first())!.n);
    const copies = Math.max(0, Math.ceil((statsN - have) / history.length));
    const cols = (await db.knex.raw(`select string_agg(quote_ident(column_name), ', ' order by ordinal_position) as c from information_schema.columns where table_name = 'incidents' and column_name not in ('id', 'case_no', 'idempotency_key')`)).rows[0].c as string;
    for (let k = 1; k <= copies; k++) {
      await db.knex.raw(`insert into incidents (case_no, ${cols}) select case_no || '-c' || ?::text, ${cols} from incidents where case_no not like '%-c%' and source <> 'api'`, [k]);
    }
    // As autovacuum keeps a table: statistics read an index-only scan, which needs the visibility map.
    await db.knex.raw('vacuum analyze incidents');
    const total = Number((await db.knex('incidents').count({ n: '*' }).first())!.n);
    const year = { from: new Date(+now - 366 * 86_400_000), to: now, scope: 'all' as const };
    const statsMs = await timed(reps, () => incidents.stats({ ...year, unit: district, by: 'unit' }));
    // The same answer in one pass over the period's cases (the covering index of migration 031), as before the day table.
    const rawMs = await timed(reps, () => incidents.stats({ ...year, unit: district, by: 'unit', method: 'raw' }));
    const same = JSON.stringify(await incidents.stats({ ...year, unit: district, by: 'unit' })) === JSON.stringify(await incidents.stats({ ...year, unit: district, by: 'unit', method: 'raw' }));
    const wholeDays = { ...year, from: new Date(Math.ceil((+year.from + 8 * 3_600_000) / 86_400_000) * 86_400_000 - 8 * 3_600_000) };
    const daysOnlyMs = await timed(reps, () => incidents.stats({ ...wholeDays, to: new Date(Math.floor((+now + 8 * 3_600_000) / 86_400_000) * 86_400_000 - 8 * 3_600_000), unit: district, by: 'unit' }));
    const street = governance.levels[1]!.key;
    const plainStats = () =>
      db.knex.raw(
        `select s.code, count(*) as reported, count(i.registered_at), count(i.dispatched_at), count(i.closed_at),
           count(*) filter (where i.closed_at is not null and not i.was_overdue), count(*) filter (where i.reworks > 0),
           count(*) filter (where i.postponements > 0), count(*) filter (where i.was_overdue or i.due_at < now()),
           count(i.yellow_at), count(i.red_at), avg(i.handling_working_ms),
           percentile_cont(0.9) within group (order by i.handling_working_ms)
         from incidents i join grids s on s.system_id = ? and s.level = ? and ST_Covers(s.geom, i.geom)
         where i.reported_at >= ? and i.reported_at < ?
         group by s.code`,
        [govId, street, year.from, year.to],
      );
    const plainStatsMs = await timed(reps, plainStats);
    measures.push({ name: `statistics of district ${district} per street over ${total} incidents, a year ending now (day table + partial days)`, samples: statsMs, note: `aim < 200 ms on the server; equal to the one pass: ${same}` });
    measures.push({ name: 'the same statistics, whole Beijing days only (day table, no partial days)', samples: daysOnlyMs });
    measures.push({ name: 'the same statistics in one pass over the period\'s cases (before: covering index of migration 031 + card join)', samples: rawMs });
    measures.push({ name: 'plain SQL: the same aggregate with a spatial join to the streets', samples: plainStatsMs });
    log('stats done');

    // 3. The overdue scan over K open cases, all past their deadline.
    if (openN > 0) {
    await db.knex.raw(`create table bench_open as select id from incidents where status not in ('closed', 'evaluated', 'rejected') limit 0`);
    const openIds = (await db.knex.raw(`select id from incidents order by id limit ?`, [openN])).rows.map((r: { id: number }) => r.id);
    await db.knex.raw(`insert into bench_open select unnest(?::bigint[])`, [openIds]);
    await db.knex.raw(`update incidents set stage_limit = null, due_at = null, warn_at = null where id not in (select id from bench_open)`);
    const resetWide = () =>
      db.knex.raw(
        `update incidents i set status = 'in_progress', card = 'none', yellow_at = null, red_at = null, was_overdue = false,
           handling_level = i.handling_level - i.escalations, escalations = 0,
           handling_unit = i.chain -> (i.handling_level - i.escalations) ->> 'code',
           stage_limit = '{"type":"working_hours","amount":2}', due_at = ? , warn_at = ?
         from bench_open b where b.id = i.id`,
        [new Date(+now - 3_600_000), new Date(+now - 7_200_000)],
      );
    // The scan writes only incident_clocks (and the log): after one reset of the case rows, each repetition
    // resets the cards and raised levels there.
    const resetClocks = () =>
      db.knex.raw(
        `update incident_clocks k set card = 'none', yellow_at = null, red_at = null, handling_level = i.handling_level, raised = false
         from bench_open b join incidents i on i.id = b.id where k.id = b.id`,
      );
    await resetWide();
    const reset = async () => {
      await resetClocks();
      await db.knex.raw('vacuum analyze incident_clocks');
    };
    let carded = 0;
    const scanMs = await timed(
      reps,
      async () => {
        const r = await incidents.scanOverdue({ at: now });
        carded = r.red + r.yellow;
      },
      reset,
    );
    // The same scan without the cluster cells' trigger on incident_clocks (migration 037): what keeping the
    // tile layer's cells current costs the scan. The cells go stale here; nothing after this reads them.
    await db.knex.raw('ALTER TABLE incident_clocks DISABLE TRIGGER incident_cluster_cells_update');
    const noCellsMs = await timed(reps, () => incidents.scanOverdue({ at: now }), reset);
    await db.knex.raw('ALTER TABLE incident_clocks ENABLE TRIGGER incident_cluster_cells_update');
    const plainScanMs = await timed(
      reps,
      () => db.knex.raw(`update incidents set card = case when due_at <= ? then 'red' else 'yellow' end where (card = 'none' and warn_at <= ?) or (card <> 'red' and due_at <= ?)`, [now, now, now]),
      async () => {
        await resetWide();
        await db.knex.raw('vacuum analyze incidents');
      },
    );
    const plainSlimMs = await timed(
      reps,
      () => db.knex.raw(`update incident_clocks set card = case when due_at <= ? then 'red' else 'yellow' end where (card = 'none' and warn_at <= ?) or (card <> 'red' and due_at <= ?)`, [now, now, now]),
      reset,
    );
    // One pass's usual share: 1 % of the open cases came due since the last pass (a minute apart).
    const resetShare = async () => {
      await db.knex.raw(
        `update incidents i set
           due_at = case when i.id % 100 = 0 then ?::timestamptz else ?::timestamptz end,
           warn_at = case when i.id % 100 = 0 then ?::timestamptz else ?::timestamptz end
         from bench_open b where b.id = i.id`,
        [new Date(+now - 3_600_000), new Date(+now + 7_200_000), new Date(+now - 7_200_000), new Date(+now + 3_600_000)],
      );
      await reset();
    };
    let shareCarded = 0;
    const shareMs = await timed(
      reps,
      async () => {
        const r = await incidents.scanOverdue({ at: now });
        shareCarded = r.red + r.yellow;
      },
      resetShare,
    );
    // Steady state: nothing due, the table vacuumed as autovacuum would keep it.
    const idleMs = await timed(reps, () => incidents.scanOverdue({ at: now }), () => db.knex.raw('vacuum analyze incident_clocks'));
    measures.push({ name: `overdue scan: ${openN} open cases past deadline (card, escalate, log)`, samples: scanMs, note: `${carded} carded per run; aim < 1 s on the server` });
    measures.push({ name: 'the same scan without the cluster cells\' trigger (migration 037)', samples: noCellsMs });
    measures.push({ name: 'plain SQL: one UPDATE setting the card only on the case rows (no log, no escalation)', samples: plainScanMs });
    measures.push({ name: 'plain SQL: the same UPDATE on incident_clocks (no log, no escalation)', samples: plainSlimMs });
    measures.push({ name: `overdue scan: 1 % of ${openN} open cases came due (one pass's usual share)`, samples: shareMs, note: `${shareCarded} carded per run` });
    measures.push({ name: 'overdue scan when nothing is due (steady state)', samples: idleMs });
    }

    const v = (await db.knex.raw('select version() as pg, postgis_lib_version() as v')).rows[0];
    const lines = [
      `engine: ${db.engine}; machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${String(v.pg).split(' on ')[0]}, PostGIS ${v.v}`,
      `runs: median and min of ${reps} repetitions after a warm-up (creation: one timed run of ${createN} after ${warm.length} warm-up requests); load average ${loadAtStart} at start, ${load()} at end`,
      '',
      '| measure | median ms | min ms | note |',
      '|---|---:|---:|---|',
      ...measures.map((m) => `| ${m.name} | ${median(m.samples).toFixed(1)} | ${Math.min(...m.samples).toFixed(1)} | ${m.note ?? ''} |`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    await changes.stop();
  } finally {
    await db.close();
    if (scratch && args.includes('--keep')) log(`kept database ${new URL(scratch.url).pathname.slice(1)}`);
    else if (scratch) await scratch.drop();
  }
}

main().then(
  // The admin connection of a kept database stays open: do not wait for its pool.
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
