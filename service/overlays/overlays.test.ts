import type { MultiPolygon } from 'geojson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity } from '../demo/index';
import { createJobQueries, createJobs } from '../jobs';
import { createLogger } from '../logger';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { createOverlayService } from './service';

const city = generateCity({ seed: 1 });
const gov = city.systems.find((s) => s.system.key === 'governance')!;
const district = gov.grids.features.find((f) => f.properties.level === 'district')!.properties.code;
const banks = city.systems.filter((s) => s.system.kind === 'bank').map((s) => s.system.key);
/** The oracle's tolerance (issue #13): 0.5 %, or 1 m² where the area itself is near zero. */
const agrees = (ours: number, postgis: number) => Math.abs(ours - postgis) <= Math.max(1, 0.005 * Math.abs(postgis));

type Report = {
  summary: { area_m2: number; blank_m2: number; overlap_m2: number; depth_m2: Record<string, number> };
  units: { code: string; area_m2: number; shares: Record<string, number>; uncoveredShare: number; flags: string[] }[];
  faces: { id: string; depth: number }[];
  blanks: { unit: string; area_m2: number }[];
  overlaps: { systems: string[]; area_m2: number }[];
};

describe.each(engines())('cross-system overlays through the API on %s PostGIS', (engine) => {
  let t: TestApp;
  let report: Report;
  beforeAll(async () => {
    t = await startTestApp(engine);
    for (const s of city.systems) {
      await t.request.post('/api/systems').send(s.system).expect(201);
      await t.request.post(`/api/systems/${s.system.key}/import`).send(s.grids).expect(200);
    }
    report = (await t.request.post('/api/overlays/report').send({ territory: { system: 'governance', code: district }, systems: banks }).expect(200)).body;
  });
  afterAll(async () => t?.close());

  const bankGrids = `select g.geom, s.key from grids g join grid_systems s on s.id = g.system_id where s.kind = 'bank' and g.level = 'grid'`;
  /** The district's blank and overlapped area by plain PostGIS (ST_Difference, ST_Union of ST_Intersection, geography). */
  async function postgisFigures(): Promise<{ blank: number; overlap: number }> {
    const k = t.db.knex;
    const territory = `(select geom from grids g join grid_systems s on s.id = g.system_id where s.key = 'governance' and g.code = '${district}')`;
    const { rows: blank } = await k.raw(`select ST_Area(ST_Difference(${territory}, (select ST_Union(geom) from (${bankGrids}) b))::geography)::float8 as a`);
    const { rows: overlap } = await k.raw(
      `select coalesce(ST_Area(ST_Union(ST_Intersection(a.geom, b.geom))::geography), 0)::float8 as a
       from (${bankGrids}) a join (${bankGrids}) b on a.key < b.key and a.geom && b.geom and ST_Intersects(a.geom, b.geom)`,
    );
    return { blank: blank[0].a, overlap: overlap[0].a };
  }

  it('agrees with PostGIS (ST_Union / ST_Intersection / ST_Difference, geography) on blanks, overlaps and every community share within 0.5 %', async () => {
    const k = t.db.knex;
    const { blank, overlap } = await postgisFigures();
    expect(agrees(report.summary.blank_m2, blank), `blank ${report.summary.blank_m2} vs PostGIS ${blank}`).toBe(true);
    expect(agrees(report.summary.overlap_m2, overlap), `overlap ${report.summary.overlap_m2} vs PostGIS ${overlap}`).toBe(true);

    const { rows: shares } = await k.raw(
      `with c as (select g.code, g.geom from grids g join grid_systems s on s.id = g.system_id where s.key = 'governance' and g.level = 'community'),
            u as (select key, ST_Union(geom) as geom from (${bankGrids}) b group by key)
       select c.code, u.key, ST_Area(c.geom::geography)::float8 as area, ST_Area(ST_Intersection(c.geom, u.geom)::geography)::float8 as covered
       from c cross join u`,
    );
    expect(shares.length).toBe(report.units.length * banks.length);
    for (const row of shares as { code: string; key: string; area: number; covered: number }[]) {
      const unit = report.units.find((u) => u.code === row.code)!;
      expect(agrees(unit.area_m2, row.area), `${row.code} area`).toBe(true);
      expect(Math.abs(unit.shares[row.key] - row.covered / row.area), `${row.code} share of ${row.key}`).toBeLessThan(0.005);
    }
  });

  it('shows on the demo city blanks, allowed and excessive urban overlap and rural overlap', () => {
    expect(report.summary.blank_m2).toBeGreaterThan(0);
    const flagged = (flag: string) => report.units.filter((u) => u.flags.includes(flag));
    expect(flagged('no-coverage').length).toBeGreaterThan(0);
    expect(flagged('overlap').filter((u) => !u.flags.some((f) => f.startsWith('excess'))).length, 'allowed overlap').toBeGreaterThan(0);
    expect(flagged('excess-share').length).toBeGreaterThan(0);
    expect(flagged('excess-depth').filter((u) => !u.flags.includes('rural-overlap')).length, 'urban depth > 2').toBeGreaterThan(0);
    expect(flagged('rural-overlap').length).toBeGreaterThan(0);
  });

  it('answers stable JSON: depths sum to the territory, faces numbered, every overlap names its systems', () => {
    const sum = Object.values(report.summary.depth_m2).reduce((s, a) => s + a, 0);
    expect(Math.abs(sum - report.summary.area_m2)).toBeLessThan(0.1);
    expect(report.faces.map((f) => f.id)).toEqual(report.faces.map((_, k) => `f${k + 1}`));
    for (const o of report.overlaps) expect(o.systems.length).toBeGreaterThanOrEqual(2);
  });

  it('serves the faces as GeoJSON and the regulator table as CSV', async () => {
    const body = { territory: { system: 'governance', code: district }, systems: banks };
    const geojson = await t.request.post('/api/overlays/report?format=geojson').send(body).expect(200);
    expect(geojson.type).toBe('application/geo+json');
    expect(geojson.body.features).toHaveLength(report.faces.length);
    expect(geojson.body.features[0].properties).toMatchObject({ id: 'f1', depth: report.faces[0].depth });
    const csv = await t.request.post('/api/overlays/report?format=csv').send(body).expect(200);
    const lines = csv.text.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toContain(`share:${banks[0]}`);
    expect(lines).toHaveLength(1 + report.units.length + banks.length);
  });

  it('rejects bad input with a stable code naming the field', async () => {
    const base = { territory: { system: 'governance', code: district }, systems: banks };
    const unknownField = await t.request.post('/api/overlays/report').send({ ...base, extra: 1 }).expect(400);
    expect(unknownField.body.error.code).toBe('invalid_request');
    expect(unknownField.body.error.message).toContain('extra');
    expect((await t.request.post('/api/overlays/report').send({ ...base, systems: ['nope'] }).expect(404)).body.error.code).toBe('system_not_found');
    const level = await t.request.post('/api/overlays/report').send({ ...base, systems: [{ key: banks[0], level: 'street' }] }).expect(400);
    expect(level.body.error).toMatchObject({ code: 'unknown_level' });
    expect(level.body.error.message).toContain('systems[0].level');
    expect((await t.request.post('/api/overlays/report').send({ ...base, territory: { system: 'governance', code: 'NOPE' } }).expect(404)).body.error.code).toBe('grid_not_found');
    expect((await t.request.get('/api/overlays/alignment?a=health&b=governance&threshold=2').expect(400)).body.error.code).toBe('invalid_request');
  });

  it('aligns health grids against communities: shares sum to one, straddling grids below the threshold', async () => {
    const alignment = (await t.request.get('/api/overlays/alignment?a=health&b=governance').expect(200)).body;
    expect(alignment.summary.grids).toBe(city.systems.find((s) => s.system.key === 'health')!.grids.features.filter((f) => f.properties.level === 'grid').length);
    expect(alignment.straddling.length).toBeGreaterThan(0);
    for (const g of alignment.grids) {
      expect(g.shares.reduce((s: number, x: { share: number }) => s + x.share, 0)).toBeCloseTo(1, 4);
      expect(alignment.straddling.includes(g.code)).toBe(g.maxShare < 0.95);
    }
    const csv = (await t.request.get('/api/overlays/alignment?a=health&b=governance&format=csv').expect(200)).text;
    expect(csv.trim().split('\r\n').length).toBe(1 + alignment.grids.reduce((n: number, g: { shares: unknown[] }) => n + Math.max(1, g.shares.length), 0));
  });

  it('checks one bank: its partition, nesting in communities and a worker per grid', async () => {
    const check = (await t.request.get(`/api/overlays/banks/${banks[0]}/check?units=governance`).expect(200)).body;
    expect(check.partition.issues).toEqual([]);
    expect(check.withoutWorker).toEqual([]);
    expect(check.nestLevel).toBe('grid');
    expect((await t.request.get(`/api/overlays/banks/${banks[0]}/check?nestLevel=nope`).expect(400)).body.error.code).toBe('unknown_level');
  });

  it('imports a filing ledger and reports filing rates against the targets; a bad ledger stores nothing', async () => {
    const bank = city.systems.find((s) => s.system.key === banks[0])!;
    const [first, second] = bank.grids.features.filter((f) => f.properties.level === 'grid');
    const bad = await t.request.post(`/api/overlays/banks/${banks[0]}/ledger`).type('text/csv').send(`网格编码,类别,已建档,总数\n${first.properties.code},城镇居民,10,100\nNOPE,商户,1,2\n`).expect(422);
    expect(bad.body.error.code).toBe('invalid_rows');
    expect(bad.body.error.details.errors).toEqual([{ row: 3, field: 'grid', message: 'grid "NOPE" is not a grid of this bank' }]);
    expect((await t.db.knex('filing_ledger').count({ n: '*' }).first())!.n).toBe(0);

    const csv = `grid,category,filed,total\n${first.properties.code},urban-residents,10,100\n${second.properties.code},urban-residents,90,100\n`;
    expect((await t.request.post(`/api/overlays/banks/${banks[0]}/ledger`).type('text/csv').send(csv).expect(200)).body).toEqual({ rows: 2 });
    const filing = (await t.request.get(`/api/overlays/banks/${banks[0]}/filing?year=1`).expect(200)).body;
    const rate = (code: string) => filing.grids.find((g: { code: string }) => g.code === code).categories['urban-residents'];
    expect(rate(first.properties.code)).toMatchObject({ filed: 10, total: 100, rate: 0.1, met: false, source: 'ledger' });
    expect(rate(second.properties.code)).toMatchObject({ rate: 0.9, met: true });
    expect(filing.belowTarget.map((b: { code: string }) => b.code)).toContain(first.properties.code);
    const lenient = (await t.request.get(`/api/overlays/banks/${banks[0]}/filing?year=1&urbanResidents=0.05`).expect(200)).body;
    expect(lenient.belowTarget.map((b: { code: string }) => b.code)).not.toContain(first.properties.code);
    const text = (await t.request.get(`/api/overlays/banks/${banks[0]}/filing?format=csv`).expect(200)).text;
    expect(text).toContain(`${first.properties.code},`);
  });

  it('stores a bank\'s outlets and equipment and lists outlets missing or outside their grid', async () => {
    const own = city.outlets.features.filter((f) => f.properties.bank === banks[0]);
    expect((await t.request.post(`/api/overlays/banks/${banks[0]}/points`).send({ type: 'FeatureCollection', features: own }).expect(200)).body).toEqual({ points: own.length });
    const clean = (await t.request.get(`/api/overlays/banks/${banks[0]}/check`).expect(200)).body;
    expect(clean.outlets).toEqual({ missing: [], outside: [] });

    const [outlet, ...rest] = own.filter((f) => f.properties.kind === 'outlet');
    const moved = { ...outlet, geometry: { type: 'Point', coordinates: [outlet.geometry.coordinates[0] + 1, outlet.geometry.coordinates[1]] } };
    const bad = await t.request.post(`/api/overlays/banks/${banks[0]}/points`).send({ type: 'FeatureCollection', features: [moved, ...rest, { ...outlet, properties: { ...outlet.properties, kind: 'kiosk' } }] }).expect(422);
    expect(bad.body.error.details.errors).toEqual([{ index: rest.length + 1, field: 'kind', message: 'kind "kiosk" is not one of outlet, atm, equipment (网点, 自助银行, 设备)' }]);
    expect((await t.request.get(`/api/overlays/banks/${banks[0]}/check`).expect(200)).body.outlets).toEqual({ missing: [], outside: [] });

    await t.request.post(`/api/overlays/banks/${banks[0]}/points`).send({ type: 'FeatureCollection', features: [moved, ...rest] }).expect(200);
    const check = (await t.request.get(`/api/overlays/banks/${banks[0]}/check`).expect(200)).body;
    expect(check.outlets.outside.map((o: { grid: string }) => o.grid)).toEqual([outlet.properties.grid]);
    expect(check.outlets.missing).toEqual([]);
  });

  it('runs as a job on request, and filters by the caller\'s area scope', async () => {
    const res = await t.request.post('/api/overlays/report?mode=job').send({ territory: { system: 'governance', code: district }, systems: banks }).expect(202);
    let job;
    for (let i = 0; i < 200; i++) {
      job = (await t.request.get(`/api/jobs/${res.body.job}`).expect(200)).body;
      if (job.status === 'done' || job.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(job.status).toBe('done');
    expect(job.result.summary).toEqual(report.summary);

    const logger = createLogger('silent');
    const overlays = createOverlayService({ knex: t.db.knex, jobs: createJobs(createJobQueries(t.db.knex), logger), logger });
    const community = report.units[0].code;
    const request = { territory: { system: 'governance', code: district }, systems: banks.map((key) => ({ key })), mode: 'sync' as const };
    // An officer of the community sees the banks inside it (issue #10): the table is cut to the community.
    const scoped = await overlays.report(request, [{ system: 'governance', code: community }]);
    if (!('report' in scoped)) throw new Error('expected a report');
    expect(scoped.report.units.map((u) => u.code)).toEqual([community]);
    expect(scoped.report.summary.area_m2).toBeCloseTo(report.units[0].area_m2, 0);
    await expect(overlays.report(request, [{ system: 'fire' }])).rejects.toMatchObject({ status: 403, code: 'out_of_scope' });
  });
  it('arranges a repeated request from its cached input, and an edit to a bank grid between two reports changes the second', async () => {
    const logger = createLogger('silent');
    // Services of their own, hearing no change bus: like another process, they learn of writes only from the database.
    const service = () => createOverlayService({ knex: t.db.knex, jobs: createJobs(createJobQueries(t.db.knex), logger), logger });
    const overlays = service();
    const request = { territory: { system: 'governance', code: district }, systems: banks.map((key) => ({ key })), mode: 'sync' as const };
    const reportOf = async (s: ReturnType<typeof service>) => {
      const result = await s.report(request, 'all');
      if (!('report' in result)) throw new Error('expected a report');
      return JSON.parse(JSON.stringify(result.report));
    };
    let statements = 0;
    const count = () => void statements++;
    t.db.knex.on('query', count);
    const first = await reportOf(overlays);
    t.db.knex.off('query', count);
    expect(first).toEqual(report);
    expect(statements, 'a first request reads systems, versions and its input in one statement').toBe(1);
    // The shapes the first request made are written after it answered.
    await overlays.settled();
    statements = 0;
    t.db.knex.on('query', count);
    expect(await reportOf(overlays)).toEqual(first);
    t.db.knex.off('query', count);
    expect(statements, 'a repeated request reads only the systems and their versions').toBe(1);

    const bank = city.systems.find((s) => s.system.key === banks[0])!;
    const grid = bank.grids.features.find((f) => f.properties.level === 'grid')!;
    const moved = (d: number) => ({ type: 'MultiPolygon', coordinates: (grid.geometry as MultiPolygon).coordinates.map((p) => p.map((ring) => ring.map(([x, y]) => [x + d, y - d]))) });
    await t.request.patch(`/api/systems/${bank.system.key}/grids/${grid.properties.code}`).send({ geometry: moved(0.003) }).expect(200);
    const second = await reportOf(overlays);
    expect(second.summary).not.toEqual(first.summary);
    expect(second).toEqual(await reportOf(service()));
    await t.request.patch(`/api/systems/${bank.system.key}/grids/${grid.properties.code}`).send({ geometry: moved(0) }).expect(200);
    expect(await reportOf(overlays)).toEqual(first);
  });

  it('keeps the prepared shape of each grid for its row version only: a bank grid edited between two cold reports (fresh services) changes the figures as PostGIS says', async () => {
    const logger = createLogger('silent');
    const service = () => createOverlayService({ knex: t.db.knex, jobs: createJobs(createJobQueries(t.db.knex), logger), logger });
    const request = { territory: { system: 'governance', code: district }, systems: banks.map((key) => ({ key })), mode: 'sync' as const };
    const cold = async () => {
      const s = service();
      const result = await s.report(request, 'all');
      await s.settled();
      if (!('report' in result)) throw new Error('expected a report');
      return JSON.parse(JSON.stringify(result.report)) as Report;
    };
    const k = t.db.knex;
    /** Kept shapes matching their grid's current row, and all kept shapes. */
    const kept = async () => (await k.raw('select count(g.id)::int as current, count(*)::int as all from overlay_grid_shapes s left join grids g on g.id = s.grid_id and g.xmin = s.row_xmin')).rows[0];
    await k.raw('delete from overlay_grid_shapes');
    const first = await cold();
    expect(first).toEqual(report);
    const read = 1 + first.units.length + (await k.raw(`select count(*)::int as n from (${bankGrids}) b`)).rows[0].n;
    expect(await kept()).toEqual({ current: read, all: read });
    expect(await cold(), 'a cold report from kept shapes is the one made from the geometry').toEqual(first);

    const bank = city.systems.find((s) => s.system.key === banks[1])!;
    const grid = bank.grids.features.find((f) => f.properties.level === 'grid')!;
    const moved = (d: number) => ({ type: 'MultiPolygon', coordinates: (grid.geometry as MultiPolygon).coordinates.map((p) => p.map((ring) => ring.map(([x, y]) => [x + d, y + d]))) });
    await t.request.patch(`/api/systems/${bank.system.key}/grids/${grid.properties.code}`).send({ geometry: moved(0.004) }).expect(200);
    expect(await kept(), 'the shape of the edited grid no longer matches its row').toEqual({ current: read - 1, all: read });
    const second = await cold();
    const sql = await postgisFigures();
    expect(second.summary.blank_m2).not.toBeCloseTo(first.summary.blank_m2, 0);
    expect(agrees(second.summary.blank_m2, sql.blank), `blank ${second.summary.blank_m2} vs PostGIS ${sql.blank}`).toBe(true);
    expect(agrees(second.summary.overlap_m2, sql.overlap), `overlap ${second.summary.overlap_m2} vs PostGIS ${sql.overlap}`).toBe(true);
    expect(await kept(), 'the shape of the edited grid is made again for its new row').toEqual({ current: read, all: read });
    await k.raw('delete from overlay_grid_shapes');
    expect(await cold(), 'the same with nothing kept').toEqual(second);

    await t.request.patch(`/api/systems/${bank.system.key}/grids/${grid.properties.code}`).send({ geometry: moved(0) }).expect(200);
    expect(await cold()).toEqual(first);
  });
});
