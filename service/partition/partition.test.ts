import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCity } from '../demo/index';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import type { ChangeEvent } from '../db/changes';
import { createPartitionQueries } from './store';

const city = generateCity({ seed: 1 });
const broken = generateCity({ seed: 1, defects: true });
const gov = city.systems.find((s) => s.system.key === 'governance')!;
const govBroken = broken.systems.find((s) => s.system.key === 'governance')!;

type Issue = { kind: string; parent: string | null; grids: string[]; area_m2: number | null };

/**
 * Areas PostGIS computes for the same defects on the same stored geometries (geodesic, ST_MakeValid'ed
 * as the validator repairs invalid input): the oracle the validator must agree with within 0.5 %.
 */
async function postgisArea(t: TestApp, system: string, issue: Issue): Promise<number> {
  const k = t.db.knex;
  const geom = `ST_MakeValid(geom)`;
  if (issue.kind === 'overlap') {
    const r = await k.raw(
      `select ST_Area(ST_Intersection((select ${geom} from grids g join grid_systems s on s.id = g.system_id where s.key = ? and code = ?),
                                      (select ${geom} from grids g join grid_systems s on s.id = g.system_id where s.key = ? and code = ?))::geography)::float8 as a`,
      [system, issue.grids[0], system, issue.grids[1]],
    );
    return r.rows[0].a;
  }
  if (issue.kind === 'outside') {
    const r = await k.raw(
      `select ST_Area(ST_Difference(c.g, p.g)::geography)::float8 as a
       from (select ${geom} as g from grids g join grid_systems s on s.id = g.system_id where s.key = ? and code = ?) c,
            (select ${geom} as g from grids g join grid_systems s on s.id = g.system_id where s.key = ? and code = ?) p`,
      [system, issue.grids[0], system, issue.parent],
    );
    return r.rows[0].a;
  }
  // gap or sliver: the parent minus the union of its children, all of it (one defect per family here)
  const r = await k.raw(
    `select ST_Area(ST_Difference(p.g, c.g)::geography)::float8 as a
     from (select ${geom} as g from grids g join grid_systems s on s.id = g.system_id where s.key = ? and code = ?) p,
          (select ST_Union(${geom}) as g from grids g join grid_systems s on s.id = g.system_id where s.key = ? and parent_code = ?) c`,
    [system, issue.parent, system, issue.parent],
  );
  return r.rows[0].a;
}

describe.each(engines())('partition validation through the API on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
    for (const s of [gov, { ...govBroken, system: { ...govBroken.system, key: 'governance-defects', name: '综合网格（缺陷样例）' } }]) {
      await t.request.post('/api/systems').send(s.system).expect(201);
      await t.request.post(`/api/systems/${s.system.key}/import`).send(s.grids).expect(200);
    }
  });
  afterAll(async () => t?.close());

  it('reports zero issues on the clean demo city, with full coverage', async () => {
    const report = (await t.request.post('/api/systems/governance/validate').expect(200)).body;
    expect(report.issues).toEqual([]);
    expect(report.summary.gridsChecked).toBe(gov.grids.features.length);
    expect(report.summary.coverageRatio).toBeCloseTo(1, 6);
    expect(report.summary.parentsChecked).toBe(new Set(gov.grids.features.map((f) => f.properties.parent).filter(Boolean)).size + 1);
  });

  it('finds every injected defect with the right kind, grids and area, and nothing else', async () => {
    const report = (await t.request.post('/api/systems/governance-defects/validate').expect(200)).body;
    const found = report.issues as Issue[];
    expect(found.map((i) => i.kind).sort()).toEqual(broken.defects.map((d) => d.kind).sort());
    for (const defect of broken.defects) {
      const issue = found.find((i) => i.kind === defect.kind)!;
      expect(issue.parent).toBe(defect.parent);
      expect([...issue.grids].sort()).toEqual([...defect.grids].sort());
      if (defect.area_m2 > 0) expect(Math.abs(issue.area_m2! - defect.area_m2) / defect.area_m2).toBeLessThan(0.01);
    }
    // the stored report is served as JSON, GeoJSON for a map, and CSV per parent
    const stored = (await t.request.get('/api/systems/governance-defects/report').expect(200)).body;
    expect(stored.issues).toHaveLength(found.length);
    const geojson = (await t.request.get('/api/systems/governance-defects/report?format=geojson').expect(200)).body;
    expect(geojson.features.length).toBeGreaterThanOrEqual(found.length);
    const csv = (await t.request.get('/api/systems/governance-defects/report?format=csv').expect(200)).text;
    expect(csv.split(/\r?\n/).filter(Boolean).length).toBe(report.parents.length + 1);
  });

  it('agrees with PostGIS on overlap, gap and outside areas within 0.5 %', async () => {
    const report = (await t.request.get('/api/systems/governance-defects/report').expect(200)).body;
    const measured = (report.issues as Issue[]).filter((i) => ['overlap', 'gap', 'sliver', 'outside'].includes(i.kind));
    expect(measured.length).toBe(4);
    for (const issue of measured) {
      const oracle = await postgisArea(t, 'governance-defects', issue);
      expect(Math.abs(issue.area_m2! - oracle) / oracle, `${issue.kind} ${issue.grids.join(',')}: ${issue.area_m2} vs PostGIS ${oracle}`).toBeLessThan(0.005);
    }
  });

  it('validates a subtree, and a dry run changes nothing', async () => {
    const defect = broken.defects.find((d) => d.kind === 'gap')!;
    const sub = (await t.request.post(`/api/systems/governance-defects/validate?parent=${defect.parent}`).expect(200)).body;
    expect(sub.issues.map((i: Issue) => i.kind)).toEqual(['gap']);
    expect(sub.parents.map((p: { parent: string }) => p.parent)).toContain(defect.parent);

    // dry run: put the clean geometry of the shrunk grid back — the gap disappears, nothing is saved
    const clean = gov.grids.features.find((f) => f.properties.code === defect.grids[0])!;
    const dry = (await t.request.post('/api/systems/governance-defects/validate').send({ grids: { type: 'FeatureCollection', features: [clean] } }).expect(200)).body;
    expect(dry.dryRun).toBe(true);
    expect(dry.issues.map((i: Issue) => i.kind).sort()).toEqual(broken.defects.map((d) => d.kind).filter((k) => k !== 'gap').sort());
    const still = (await t.request.get('/api/systems/governance-defects/report').expect(200)).body;
    expect(still.issues.some((i: Issue) => i.kind === 'gap')).toBe(true);

    // a dry run that removes a grid opens a gap of exactly its size
    const removed = gov.grids.features.find((f) => f.properties.parent === gov.grids.features[1]!.properties.code && f.properties.level === 'community')!;
    const hole = (await t.request.post('/api/systems/governance/validate').send({ remove: [removed.properties.code] }).expect(200)).body;
    expect(hole.issues.filter((i: Issue) => i.kind === 'gap')).toHaveLength(1);
    expect((await t.request.post('/api/systems/governance/validate').send({ remove: ['NOPE'] }).expect(400)).body.error.code).toBe('unknown_grid');
  });

  it('re-checks only the changed family after an edit, and applies a fix proposal after re-validating it', async () => {
    await t.request.post('/api/systems/governance-defects/validate').expect(200);
    const { fixes } = (await t.request.get('/api/systems/governance-defects/fixes').expect(200)).body;
    const gapFix = fixes.find((f: { kind: string }) => f.kind === 'gap');
    expect(gapFix).toBeDefined();
    const applied = await t.request.post(`/api/systems/governance-defects/fixes/${gapFix.id}/apply`).expect(200);
    expect(applied.body.report.issues.some((i: Issue) => i.kind === 'gap')).toBe(false);
    expect(applied.body.report.issues.length).toBe(broken.defects.length - 1);
    await t.request.post(`/api/systems/governance-defects/fixes/${gapFix.id}/apply`).expect(404);

    // an edit that breaks a clean family shows up in the stored report without a full re-validation
    await t.request.post('/api/systems/governance/validate').expect(200);
    const victim = gov.grids.features.find((f) => f.properties.level === 'grid')!;
    const ring = victim.geometry.coordinates[0]![0]!;
    const moved = ring.map(([x, y], i) => (i === 0 || i === ring.length - 1 ? [x! + 0.0005, y!] : [x!, y!]));
    await t.request.patch(`/api/systems/governance/grids/${victim.properties.code}`).send({ geometry: { type: 'Polygon', coordinates: [moved] } }).expect(200);
    const stored = (await t.request.get('/api/systems/governance/report').expect(200)).body;
    expect(stored.issues.length).toBeGreaterThan(0);
    expect(new Set(stored.issues.map((i: Issue) => i.parent))).toEqual(new Set([victim.properties.parent]));
    expect(stored.durationMs).toBeLessThan(500);

    // A full validation after the edit reuses the unchanged grids and families of the one before it
    // (stored row versions), never the edited grid: its family's findings are there, and gone once the
    // grid is put back.
    const full = (await t.request.post('/api/systems/governance/validate').expect(200)).body;
    expect(full.issues.map((i: Issue) => i.kind).sort()).toEqual(stored.issues.map((i: Issue) => i.kind).sort());
    await t.request.patch(`/api/systems/governance/grids/${victim.properties.code}`).send({ geometry: victim.geometry }).expect(200);
    expect((await t.request.post('/api/systems/governance/validate').expect(200)).body.issues).toEqual([]);
  });

  it('runs a large system as a job with progress', async () => {
    const res = await t.request.post('/api/systems/governance/validate?mode=job').expect(202);
    expect(res.headers.location).toBe(`/api/jobs/${res.body.job}`);
    let job = res.body;
    for (let i = 0; i < 100 && job.status !== 'done' && job.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await t.request.get(`/api/jobs/${res.body.job}`).expect(200)).body;
    }
    expect(job.status).toBe('done');
    expect(job.progress).toBe(1);
    expect(job.result.summary.gridsChecked).toBe(gov.grids.features.length);
    expect((await t.request.get('/api/jobs/00000000-0000-0000-0000-000000000000').expect(404)).body.error.code).toBe('job_not_found');
  });

  it('skips a change its report already read, however late it arrives, and hands back one a full validation missed', async () => {
    // A change heard late (another process's NOTIFY, or queued behind a validation) that the newer report read.
    const heard: ChangeEvent[] = [];
    const off = t.changes.on((e) => e.system === 'governance' && heard.push(e));
    await t.request.patch('/api/systems/governance').send({ name: '综合网格（改名）' }).expect(200);
    expect((await t.request.get('/api/systems/governance/report').expect(200)).body.stale).toBe(true);
    const renamed = heard.find((e) => e.kind === 'system')!;
    expect(renamed.xid).toMatch(/^\d+$/);
    await t.request.post('/api/systems/governance/validate?mode=sync').expect(200);
    t.changes.deliver({ ...renamed, id: `${renamed.id}-late` });
    expect((await t.request.get('/api/systems/governance/report').expect(200)).body.stale).toBe(false);
    // the same kind of change made after that report's read still marks it stale
    await t.request.patch('/api/systems/governance').send({ name: '综合网格' }).expect(200);
    expect((await t.request.get('/api/systems/governance/report').expect(200)).body.stale).toBe(true);
    await t.request.post('/api/systems/governance/validate?mode=sync').expect(200);

    // A full validation reads, an edit lands and is re-checked on the report of the time, then the
    // validation stores what it read: the edit comes back to be re-checked on the new report.
    const queries = createPartitionQueries(t.db.knex);
    const system = await t.services.systems.require('governance');
    const read = (await queries.latestFull(system, null))!;
    const readAt = await queries.snapshot();
    const victim = gov.grids.features.filter((f) => f.properties.level === 'grid').at(-1)!;
    const ring = victim.geometry.coordinates[0]![0]!;
    const moved = ring.map(([x, y], i) => (i === 0 || i === ring.length - 1 ? [x! - 0.0005, y!] : [x!, y!]));
    await t.request.patch(`/api/systems/governance/grids/${victim.properties.code}`).send({ geometry: { type: 'Polygon', coordinates: [moved] } }).expect(200);
    const rechecked = (await t.request.get('/api/systems/governance/report').expect(200)).body;
    expect(rechecked.issues.some((i: Issue) => i.parent === victim.properties.parent)).toBe(true);
    const edit = heard.find((e) => e.kind === 'grids' && e.codes.includes(victim.properties.code))!;
    const missed = await queries.insertReport(system, null, read, readAt);
    expect(missed).toEqual([{ kind: 'grids', codes: edit.codes, bbox: edit.bbox, xid: edit.xid }]);
    expect(await queries.unseen(system, [edit])).toEqual([edit]);

    // The same with no report yet (a system's first validation): the edit is kept for it all the same.
    await t.db.knex.raw('delete from partition_reports where system_id = ?', [system.id]);
    const firstReadAt = await queries.snapshot();
    await t.request.patch(`/api/systems/governance/grids/${victim.properties.code}`).send({ geometry: victim.geometry }).expect(200);
    await t.services.partition.settled();
    const back = heard.filter((e) => e.kind === 'grids' && e.codes.includes(victim.properties.code)).at(-1)!;
    expect(back.xid).not.toBe(edit.xid);
    expect(await queries.insertReport(system, null, read, firstReadAt)).toEqual([{ kind: 'grids', codes: back.codes, bbox: back.bbox, xid: back.xid }]);
    // handed over once: the next report gets nothing back
    expect(await queries.insertReport(system, null, read, await queries.snapshot())).toEqual([]);
    off();
    await t.request.post('/api/systems/governance/validate?mode=sync').expect(200);
  });

  it.runIf(engine === 'server')('re-checks an edit made while a validation stores its report on the report it stores', async () => {
    const knex = t.db.knex;
    const victim = gov.grids.features.filter((f) => f.properties.level === 'grid').at(-2)!;
    const ring = victim.geometry.coordinates[0]![0]!;
    const moved = ring.map(([x, y], i) => (i === 0 || i === ring.length - 1 ? [x!, y! + 0.0005] : [x!, y!]));
    await t.request.post('/api/systems/governance/validate?mode=sync').expect(200);
    // Another session holds the reports table: the next validation's store waits there, after its read.
    const holder = await knex.transaction();
    try {
      await holder.raw('lock table partition_reports in share mode');
      const validation = t.request.post('/api/systems/governance/validate?mode=sync').then((r) => r.status);
      const waiting = async () =>
        Number((await knex.raw(`select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'partition_reports' and not l.granted`)).rows[0].n);
      for (let i = 0; i < 300 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await waiting()).toBe(1);
      // The edit commits and its re-check starts while the store waits.
      await t.request.patch(`/api/systems/governance/grids/${victim.properties.code}`).send({ geometry: { type: 'Polygon', coordinates: [moved] } }).expect(200);
      await new Promise((r) => setTimeout(r, 100));
      await holder.commit();
      expect(await validation).toBe(200);
    } finally {
      if (!holder.isCompleted()) await holder.rollback();
    }
    // The stored report (read before the edit) has the edit re-checked on it, not on the report it replaced
    // (re-checked after it, that one would be the latest again and the new validation hidden).
    const report = (await t.request.get('/api/systems/governance/report').expect(200)).body;
    expect(report.issues.some((i: Issue) => i.parent === victim.properties.parent)).toBe(true);
    const rows = (
      await knex.raw(
        `select p.id, p.id = max(p.id) over () as newest from partition_reports p join grid_systems s on s.id = p.system_id
         where s.key = 'governance' and p.scope is null order by p.created_at desc, p.id desc limit 1`,
      )
    ).rows;
    expect(rows[0].newest).toBe(true);
    await t.request.patch(`/api/systems/governance/grids/${victim.properties.code}`).send({ geometry: victim.geometry }).expect(200);
  });
});
