import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactor } from '../db/tx';
import { startTestApp, type TestApp } from '../test/app';
import { engines } from '../test/db';
import { createGridService } from './service';
import { createGridQueries } from './store';
import { EMPTY_REASON } from './input';

/**
 * Streamed grid imports (issue #15): a file of a few MB parsed feature by feature and inserted in batches
 * inside one transaction; an empty geometry is a finding, not the end of the import.
 */
const SYSTEM = { key: 'big', name: 'big', kind: 'other', levels: [{ key: 'city', name: 'city' }, { key: 'district', name: 'district' }], codeScheme: { type: 'free' } };
const CITIES = 4;
const DISTRICTS = 600;
const VERTICES = 200;

/** A dense ring (a circle of `VERTICES` points) around a centre, like a quantised district outline. */
function ring(cx: number, cy: number, r: number): number[][] {
  const out = Array.from({ length: VERTICES }, (_, i) => [+(cx + r * Math.cos((2 * Math.PI * i) / VERTICES)).toFixed(7), +(cy + r * Math.sin((2 * Math.PI * i) / VERTICES)).toFixed(7)]);
  return [...out, out[0]!];
}

/** Writes the file as a stream (never whole in memory); city 1's outline is an empty polygon. */
async function writeFile(file: string): Promise<number> {
  const out = fs.createWriteStream(file);
  const write = (s: string) => new Promise<void>((resolve) => (out.write(s) ? resolve() : out.once('drain', resolve)));
  await write('{"type":"FeatureCollection","features":[');
  let n = 0;
  for (let c = 0; c < CITIES; c++) {
    const geometry = c === 1 ? { type: 'Polygon', coordinates: [] } : { type: 'Polygon', coordinates: [ring(100 + c, 30, 0.4)] };
    await write(`${n++ ? ',' : ''}${JSON.stringify({ type: 'Feature', properties: { code: `C${c}`, name: `city ${c}`, level: 'city' }, geometry })}\n`);
    for (let d = 0; d < DISTRICTS / CITIES; d++) {
      const geometry = { type: 'Polygon', coordinates: [ring(100 + c + (d % 15) * 0.02 - 0.15, 30 + Math.floor(d / 15) * 0.02 - 0.1, 0.009)] };
      await write(`,${JSON.stringify({ type: 'Feature', properties: { code: `C${c}-${d}`, name: `district ${d}`, level: 'district', parent: `C${c}` }, geometry })}\n`);
      n++;
    }
  }
  await write(']}');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return n;
}

describe.each(engines())('streamed grid imports on %s PostGIS', (engine) => {
  let t: TestApp;
  let dir: string;
  let file: string;
  let features: number;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gridatlas-import-'));
    file = path.join(dir, 'big.geojson');
    features = await writeFile(file);
    t = await startTestApp(engine, { IMPORT_MAX_BYTES: String(6 * 2 ** 20) });
    await t.request.post('/api/systems').send(SYSTEM).expect(201);
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('imports a multi-MB file over HTTP, the empty outline stored and flagged, its districts kept', async () => {
    expect(fs.statSync(file).size).toBeGreaterThan(2.5 * 2 ** 20);
    const res = await t.request.post('/api/systems/big/import').set('content-type', 'application/geo+json').send(fs.readFileSync(file, 'utf8')).expect(200);
    expect(res.body.inserted).toBe(features);
    expect(res.body.empty).toEqual([{ index: DISTRICTS / CITIES + 1, code: 'C1' }]);
    expect(res.body.flagged).toEqual([{ code: 'C1', issues: [{ reason: EMPTY_REASON, location: null }] }]);
    const empty = (await t.request.get('/api/systems/big/grids/C1').expect(200)).body;
    expect(empty.geometry.coordinates).toEqual([]);
    expect(empty.properties.geometry_issues[0].reason).toBe(EMPTY_REASON);
    expect((await t.request.get('/api/systems/big/grids/C1/children').expect(200)).body.features).toHaveLength(DISTRICTS / CITIES);
    const stored = await t.db.knex.raw(`select ST_IsEmpty(geom) as empty from grids where code = 'C1'`);
    expect(stored.rows).toEqual([{ empty: true }]);

    // strict: the same file is rejected, naming the feature, and nothing changes
    const strict = await t.request.post('/api/systems/big/import?mode=replace&strict=true').set('content-type', 'application/json').send(fs.readFileSync(file, 'utf8')).expect(422);
    const errors = strict.body.error.details.errors as { code: string; error: string }[];
    expect(errors[0]).toMatchObject({ code: 'C1', error: 'empty_geometry' });
    // its districts lose their parent with it: every one is named too
    expect(errors.slice(1).every((e) => e.error === 'unknown_parent' && e.code.startsWith('C1-'))).toBe(true);
    expect(errors).toHaveLength(1 + DISTRICTS / CITIES);
    expect((await t.request.get('/api/systems/big/grids?level=city').expect(200)).body.features).toHaveLength(CITIES);
  });

  it('refuses an upload above IMPORT_MAX_BYTES with 413', async () => {
    const big = ' '.repeat(6.5 * 2 ** 20);
    expect((await t.request.post('/api/systems/big/import').set('content-type', 'application/json').send(big).expect(413)).body.error.code).toBe('body_too_large');
  });

  it('parses incrementally: batches are inserted while the file is still being read, and a bad feature late in the file rolls all back', async () => {
    const transact = transactor(t.db.knex);
    let read = 0;
    const inFlight: number[] = [];
    let insertedSoFar = 0;
    const grids = createGridService({
      transact,
      systems: t.services.systems,
      changes: t.changes,
      store: (system, tx) => {
        const q = createGridQueries(tx ?? t.db.knex, system.key, system.id);
        return {
          ...q,
          async insertMany(rows, repair) {
            // features read but not yet written when a batch is written: what the import holds at once
            inFlight.push(read - insertedSoFar);
            insertedSoFar += rows.length;
            return q.insertMany(rows, repair);
          },
        };
      },
    });
    async function* stream(failAt: number | null) {
      const text = fs.readFileSync(file, 'utf8');
      const list = JSON.parse(text).features as { properties: { code: string } }[];
      for (let i = 0; i < list.length; i++) {
        read++;
        yield i === failAt ? { ...list[i], geometry: { type: 'Point', coordinates: [0, 0] } } : list[i];
      }
    }
    const result = await grids.import('big', stream(null), { mode: 'replace', repair: false });
    expect(result.inserted).toBe(features);
    expect(inFlight.length).toBeGreaterThan(1);
    expect(Math.max(...inFlight)).toBeLessThanOrEqual(500);
    expect(inFlight[0]).toBeLessThan(features);

    read = 0;
    insertedSoFar = 0;
    const failing = grids.import('big', stream(features - 3), { mode: 'replace', repair: false });
    await expect(failing).rejects.toMatchObject({ code: 'invalid_features' });
    const count = await t.db.knex('grids').join('grid_systems', 'grid_systems.id', 'grids.system_id').where('grid_systems.key', 'big').count({ n: '*' }).first();
    expect(Number(count!.n)).toBe(features);
  });
});
