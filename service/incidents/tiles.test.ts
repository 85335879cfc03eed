import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { binary } from '../tiles/testing';
import { tileAt } from '../tiles/tile-math';
import { createClusterCellQueries, FINEST_CELL_LEVEL } from './cluster-cells-store';
import { governanceGrids, governanceSystem, pointIn, actorFor, X0, Y0 } from './testing';
import { INCIDENT_FIELDS, INCIDENT_POINT_MINZOOM } from './tiles';
import { OPEN_STATUSES, STATUSES, WORKFLOWS } from './workflow';

const fcol = (features: unknown[]) => ({ type: 'FeatureCollection', features });
const REPORTERS = [
  { name: '王小明', phone: '13812345678' },
  { name: '李四', phone: '+86 139 0000 1111' },
  { name: 'Ann Lee', phone: '010-12345678' },
];

type Props = Record<string, string | number | boolean>;

const MERCATOR_X = 'ST_X(geom) / 360 + 0.5';
const MERCATOR_Y = `0.5 - ln((1 + sin(radians(least(greatest(ST_Y(geom), -85.0511287798066), 85.0511287798066))))
  / (1 - sin(radians(least(greatest(ST_Y(geom), -85.0511287798066), 85.0511287798066))))) / (4 * pi())`;
/** A case as the case list reads it (store.ts): the card from the overdue scan's table. */
const CASES = `SELECT i.status, k.card, i.was_overdue OR k.card = 'red' AS was_overdue, i.due_at, i.geom FROM incidents i JOIN incident_clocks k ON k.id = i.id`;
/** The stored cells as the rows they should be, summed straight from the cases. */
const CELLS_FROM_ROWS = `
  SELECT floor(mx * 131072)::int AS cx, floor(my * 131072)::int AS cy, count(*)::int AS n,
    count(*) FILTER (WHERE status = ANY(?::text[]))::int AS open, count(*) FILTER (WHERE card = 'red')::int AS red,
    count(*) FILTER (WHERE was_overdue)::int AS flagged, sum(round(mx * 4294967296)::bigint)::text AS sum_x, sum(round(my * 4294967296)::bigint)::text AS sum_y
  FROM (SELECT status, card, was_overdue, ${MERCATOR_X} AS mx, ${MERCATOR_Y} AS my FROM (${CASES}) c) p GROUP BY 1, 2 ORDER BY 1, 2`;
/** The cluster query the layer ran before the cells (every case under the tile summed per request). */
const CLUSTERS_FROM_ROWS = `
  SELECT floor(p.mx * ?)::int AS cx, floor(p.my * ?)::int AS cy, count(*)::int AS n, count(*) FILTER (WHERE p.open)::int AS open,
    count(*) FILTER (WHERE p.overdue)::int AS overdue, count(*) FILTER (WHERE p.card = 'red')::int AS red, avg(p.mx)::float8 AS mx, avg(p.my)::float8 AS my
  FROM (SELECT status = ANY(?::text[]) AS open, (was_overdue OR (due_at IS NOT NULL AND due_at < ?::timestamptz)) AS overdue, card,
          ${MERCATOR_X} AS mx, ${MERCATOR_Y} AS my FROM (${CASES}) c) p
  GROUP BY 1, 2 ORDER BY 1, 2`;

/** The features of the `incidents` layer, decoded as a map client decodes them. */
function decode(body: Buffer): Props[] {
  if (body.length === 0) return [];
  const layer = new VectorTile(new PbfReader(body)).layers.incidents;
  if (!layer) return [];
  return Array.from({ length: layer.length }, (_, i) => layer.feature(i).properties as Props);
}

describe.each(engines())('incident tiles on %s PostGIS', (engine) => {
  let t: TestApp;
  const ids: number[] = [];
  /** The three cases of the point tile (a test below has its own `ids`). */
  const outer = ids;
  const { x, y } = pointIn('Q1A1');
  const tilePath = (z: number) => {
    const c = tileAt(x, y, z);
    return `/tiles/incidents/${z}/${c.x}/${c.y}.mvt`;
  };
  const get = async (path: string) => (await t.request.get(path).set('Accept-Encoding', 'identity').buffer(true).parse(binary)).body as Buffer;

  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(governanceSystem).expect(201);
    await t.request.post(`/api/systems/${governanceSystem.key}/import`).send(fcol(governanceGrids())).expect(200);
    for (const [i, reporter] of REPORTERS.entries()) {
      const res = await t.request
        .post('/api/incidents')
        .send({ category: i === 2 ? '0201' : '0101', point: { x: x + i * 1e-4, y }, source: 'resident', reporter, description: `case ${i}` })
        .expect(201);
      ids.push(res.body.id);
    }
  });
  afterAll(async () => t?.close());

  it('carries case number, category, status, route, card, overdue and unit codes per case, and no reporter field', async () => {
    const features = decode(await get(tilePath(INCIDENT_POINT_MINZOOM)));
    expect(features).toHaveLength(3);
    for (const f of features) {
      for (const key of Object.keys(f)) expect(Object.keys(INCIDENT_FIELDS), key).toContain(key);
      expect(f).toMatchObject({ status: 'reported', card: 'none', overdue: false, unit: 'Q1A1', route: 'routine' });
      expect(f.case_no).toMatch(/^Q1A1-\d{8}-\d{4}$/);
      const text = JSON.stringify(f);
      for (const r of REPORTERS) for (const secret of [r.name, r.phone, r.phone.slice(-4)]) expect(text).not.toContain(secret);
      expect(Object.keys(f).some((k) => /reporter|name|phone/.test(k))).toBe(false);
    }
    expect(features.map((f) => f.category).sort()).toEqual(['0101', '0101', '0201']);
  });

  it('clusters at low zooms with counts, and the TileJSON names no reporter field', async () => {
    for (const z of [4, 10, INCIDENT_POINT_MINZOOM - 1]) {
      const features = decode(await get(tilePath(z)));
      expect(features.every((f) => f.cluster === true)).toBe(true);
      expect(features.reduce((s, f) => s + (f.point_count as number), 0), `z${z}`).toBe(3);
      expect(features.reduce((s, f) => s + (f.open_count as number), 0)).toBe(3);
    }
    const tilejson = (await t.request.get('/tiles/incidents.json').expect(200)).body;
    const fields = Object.keys(tilejson.vector_layers[0].fields);
    expect(fields.some((k) => /reporter|name|phone/.test(k))).toBe(false);
  });

  it('is fresh right after a transition, at the point zoom and in the clusters above it', async () => {
    const points = tilePath(INCIDENT_POINT_MINZOOM);
    decode(await get(points));
    decode(await get(tilePath(10)));
    const incident = (await t.request.get(`/api/incidents/${ids[0]}`).expect(200)).body.incident;
    const row = WORKFLOWS.routine.find((r) => r.action === 'reject')!;
    await t.request.post(`/api/incidents/${ids[0]}/transitions`).send({ action: 'reject', actor: actorFor(row.by[0]!, incident), note: '重复' }).expect(200);
    const after = decode(await get(points));
    expect(after.find((f) => f.case_no === incident.caseNo)).toMatchObject({ status: 'rejected' });
    expect(decode(await get(tilePath(10))).reduce((s, f) => s + (f.open_count as number), 0)).toBe(2);
  });
  const num = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)]));
  const raw = async (sql: string, bindings: unknown[] = []) => ((await t.db.knex.raw(sql, bindings as never[])).rows as Record<string, unknown>[]).map(num);
  /** Stored cells equal the cells summed from the rows, and every zoom's clusters equal the former per-request sums. */
  const expectCellsMatchRows = async (label: string) => {
    const stored = await raw('SELECT cx, cy, n, open, red, flagged, sum_x::text AS sum_x, sum_y::text AS sum_y FROM incident_cluster_cells ORDER BY cx, cy');
    expect(stored, label).toEqual(await raw(CELLS_FROM_ROWS, [[...OPEN_STATUSES]]));
    const queries = createClusterCellQueries(t.db.knex);
    const now = new Date();
    for (const level of [4, 10, FINEST_CELL_LEVEL]) {
      // The whole territory in one range: the cells around (X0, Y0) and a few beyond the 2 km square.
      const tile = tileAt(X0, Y0, level);
      const range = { level, x0: tile.x - 8, y0: tile.y - 8, x1: tile.x + 8, y1: tile.y + 8 };
      const got = (await queries.cells(range, now)).sort((a, b) => a.cx - b.cx || a.cy - b.cy);
      const want = (await raw(CLUSTERS_FROM_ROWS, [2 ** level, 2 ** level, [...OPEN_STATUSES], now])).filter(
        (c) => c.cx! >= range.x0 && c.cx! <= range.x1 && c.cy! >= range.y0 && c.cy! <= range.y1,
      );
      expect(want.length, `${label}, level ${level}: cells in range`).toBeGreaterThan(0);
      expect(got.map(({ mx, my, ...counts }) => counts), `${label}, level ${level}`).toEqual(want.map(({ mx, my, ...counts }) => counts));
      for (const [i, cell] of got.entries()) {
        expect(cell.mx).toBeCloseTo(want[i]!.mx!, 9);
        expect(cell.my).toBeCloseTo(want[i]!.my!, 9);
      }
    }
  };
  const copies = `INSERT INTO incidents (case_no, route, status, category, major, severity, priority, source, description, geom, input_point,
      system, chain, grids, unit_code, unit_path, scope_keys, handling_level, handling_unit, reported_at, card, was_overdue, due_at)
    SELECT case_no || '-copy-' || k, route, (ARRAY['closed', 'in_progress', 'rejected'])[1 + k % 3], category, major, severity, priority, source, description,
      ST_Translate(geom, k * 0.003, k * -0.002), input_point, system, chain, grids, unit_code, unit_path, scope_keys, handling_level, handling_unit,
      reported_at, (ARRAY['none', 'yellow', 'red'])[1 + k % 3], k % 2 = 0, now() + (k - 3) * interval '1 hour'
    FROM incidents, generate_series(1, 6) k WHERE case_no NOT LIKE '%-copy-%'`;


  it('counts what the migration calls open exactly as the workflow does', async () => {
    const rows = await t.db.knex.raw('SELECT s, incident_is_open(s) AS open FROM unnest(?::text[]) s', [[...STATUSES]]);
    const open = (rows.rows as { s: string; open: boolean | string }[]).filter((r) => r.open === true || r.open === 't').map((r) => r.s);
    expect(open.sort()).toEqual([...OPEN_STATUSES].sort());
  });

  it('stay equal to the rows after creates, transitions, a bulk overdue update, moves, deletes and the overdue scan', async () => {
    const ids: number[] = [];
    const far = pointIn('Q2B1');
    for (const [i, point] of [far, { x: far.x + 0.004, y: far.y }, { x: X0 + 0.001, y: Y0 + 0.001 }, { x: X0 + 0.019, y: Y0 + 0.019 }].entries()) {
      const res = await t.request.post('/api/incidents').send({ category: '0101', point, source: 'resident', description: `cell case ${i}` }).expect(201);
      ids.push(res.body.id);
    }
    await expectCellsMatchRows('after creates');

    for (const action of ['register', 'reject'] as const) {
      const incident = (await t.request.get(`/api/incidents/${ids[action === 'register' ? 1 : 2]}`).expect(200)).body.incident;
      const row = WORKFLOWS.routine.find((r) => r.action === action)!;
      await t.request.post(`/api/incidents/${incident.id}/transitions`).send({ action, actor: actorFor(row.by[0]!, incident), note: '重复' }).expect(200);
    }
    await expectCellsMatchRows('after transitions');

    await t.db.knex.raw(copies);
    await expectCellsMatchRows('after a bulk insert of copies');

    // One statement flagging many cases; one more deadline passed but not yet flagged.
    await t.db.knex.raw(`UPDATE incidents SET was_overdue = true, version = version + 1 WHERE id % 2 = 0`);
    await t.db.knex.raw(`UPDATE incidents SET due_at = now() - interval '1 minute' WHERE id = ?`, [ids[0]]);
    await expectCellsMatchRows('after a bulk overdue update');

    await t.db.knex.raw(`UPDATE incidents SET geom = ST_Translate(geom, 0.005, 0.005) WHERE case_no LIKE '%-copy-1' OR case_no LIKE '%-copy-4'`);
    await expectCellsMatchRows('after moves');

    // Cards written on incident_clocks alone (as the benchmark resets them), then the cases deleted: the
    // delete cascades to incident_clocks, whose trigger still sees the card the case row never had.
    await t.db.knex.raw(`UPDATE incident_clocks SET card = CASE WHEN card = 'red' THEN 'none' ELSE 'red' END WHERE id IN (SELECT id FROM incidents WHERE case_no LIKE '%-copy-%')`);
    await expectCellsMatchRows('after cards on the clocks only');
    await t.db.knex.raw(`DELETE FROM incidents WHERE case_no LIKE '%-copy-%' AND id % 3 <> 0`);
    await expectCellsMatchRows('after deletes');
    await t.db.knex.raw(`DELETE FROM incidents WHERE case_no LIKE '%-copy-%'`);
    await expectCellsMatchRows('after deleting every copy');

    // The real overdue scan, at the deadline of an open, unflagged case of the point tile: it is carded red, later ones yellow.
    const redId = outer.slice(1).find((id) => id % 2 === 1)!;
    const [{ due }] = (await t.db.knex.raw('SELECT due_at AS due FROM incident_clocks WHERE id = ?', [redId])).rows as { due: Date | string }[];
    const caseNo = (await t.request.get(`/api/incidents/${redId}`).expect(200)).body.incident.caseNo as string;
    const before = decode(await get(tilePath(INCIDENT_POINT_MINZOOM))).find((f) => f.case_no === caseNo);
    expect(before).toMatchObject({ card: 'none', overdue: false });
    const scanned = await t.services.incidents.scanOverdue({ at: new Date(due) });
    expect(scanned.red).toBeGreaterThan(0);
    expect(scanned.yellow).toBeGreaterThan(0);
    await expectCellsMatchRows('after the overdue scan');
    // The red card alone makes it overdue: its deadline is still ahead of the real clock the tiles read.
    expect(decode(await get(tilePath(INCIDENT_POINT_MINZOOM))).find((f) => f.case_no === caseNo)).toMatchObject({ card: 'red', overdue: true });
    const counts = await raw(`SELECT count(*) FILTER (WHERE card = 'red') AS red, count(*) FILTER (WHERE was_overdue OR due_at < now()) AS overdue FROM (${CASES}) c`);
    expect(counts[0]!.red).toBeGreaterThan(0);
    const clusters = decode(await get(tilePath(4)));
    expect(clusters.reduce((n, f) => n + (f.red_count as number), 0)).toBe(counts[0]!.red);
    expect(clusters.reduce((n, f) => n + (f.overdue_count as number), 0)).toBe(counts[0]!.overdue);

    // A step of a red-carded case keeps its card in the cells.
    const carded = (await t.request.get(`/api/incidents/${redId}`).expect(200)).body.incident;
    const register = WORKFLOWS.routine.find((r) => r.action === 'register')!;
    await t.request.post(`/api/incidents/${redId}/transitions`).send({ action: 'register', actor: actorFor(register.by[0]!, carded), note: '登记' }).expect(200);
    await expectCellsMatchRows('after a step of a red-carded case');
    expect(Number((await raw('SELECT count(*) AS n FROM incident_cluster_cells WHERE n = 0'))[0]!.n)).toBe(0);
  });
});

