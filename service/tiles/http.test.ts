import http from 'node:http';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import supertest from 'supertest';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { createApp } from '../app';
import { loadConfig } from '../config';
import { ChangeBus } from '../db/changes';
import { openDatabase } from '../db/engine';
import { createLogger } from '../logger';
import { startTestApp, type TestApp } from '../test/app';
import { engines } from '../test/db';
import { withDatabase } from '../test/global-setup';
import { createGridTileQueries } from './grid-store';
import { MemoryGridSource } from './memory-grid-source';
import { PostgisGridSource } from './postgis-grid-source';
import { binary } from './testing';

const readJson = (file: string) => JSON.parse(fs.readFileSync(`fixtures/tiles/systems/${file}`, 'utf8'));
// Zoom 13, south-east quarter of the fixture city: D02A (竹林社区) and D02B are in it.
const TILE = '/tiles/grids.city/13/6463/3364.mvt';
// Zoom 13, north-west quarter: far from D02A.
const FAR_TILE = '/tiles/grids.city/13/6462/3363.mvt';

type Agent = ReturnType<typeof supertest>;

function getTile(request: Agent, path: string, headers: Record<string, string> = {}) {
  return request.get(path).set(headers).buffer(true).parse(binary);
}

/** Codes and names per layer, as a map front-end sees them. */
function decode(body: Buffer): Record<string, string[]> {
  const tile = new VectorTile(new PbfReader(body));
  return Object.fromEntries(
    Object.entries(tile.layers).map(([name, layer]) => [name, Array.from({ length: layer.length }, (_, i) => `${layer.feature(i).properties.code} ${layer.feature(i).properties.name}`)]),
  );
}

async function loadFixtures(t: TestApp) {
  for (const key of ['city', 'fire']) {
    await t.request.post('/api/systems').send(readJson(`${key}.system.json`)).expect(201);
    await t.request.post(`/api/systems/${key}/import`).send(readJson(`${key}.geojson`)).expect(200);
  }
}

describe.each(engines())('tiles over HTTP on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    // Behind a reverse proxy (TRUST_PROXY): the style's URLs follow X-Forwarded-Host/-Proto.
    t = await startTestApp(engine, { TRUST_PROXY: '1' });
    await loadFixtures(t);
  });
  afterAll(async () => t?.close());

  it('gzips when asked, with an ETag per encoding, revalidation (304) and headers a CDN can cache by', async () => {
    const plain = await getTile(t.request, TILE, { 'Accept-Encoding': 'identity' }).expect(200);
    expect(plain.headers).toMatchObject({
      'content-type': 'application/vnd.mapbox-vector-tile',
      'cache-control': 'public, max-age=0, must-revalidate',
      vary: 'Accept-Encoding',
      'access-control-allow-origin': '*',
    });
    expect(plain.headers['content-encoding']).toBeUndefined();
    const gz = await getTile(t.request, TILE, { 'Accept-Encoding': 'gzip' }).expect(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.etag).toBe(plain.headers.etag!.replace(/"$/, '-gz"'));
    expect(decode(plain.body)).toEqual(decode(gz.body));
    expect(Number(gz.headers['content-length'])).toBeLessThan(plain.body.length);

    for (const etag of [plain.headers.etag!, gz.headers.etag!, `W/${plain.headers.etag}`, `"other", ${plain.headers.etag}`]) {
      const revalidated = await getTile(t.request, TILE, { 'If-None-Match': etag }).expect(304);
      expect(revalidated.headers.etag).toBeDefined();
    }
    await getTile(t.request, TILE, { 'If-None-Match': '"stale"' }).expect(200);

    const empty = await getTile(t.request, '/tiles/grids.city/12/3372/1552.mvt').expect(204);
    expect(empty.headers.etag).toBe('"empty"');
    await getTile(t.request, '/tiles/grids.city/12/3372/1552.mvt', { 'If-None-Match': '"empty"' }).expect(304);
  });

  it('serves a MapLibre style with absolute URLs from the request host, a layer set per level and no glyph server', async () => {
    const style = (await t.request.get('/style.json').set('X-Forwarded-Host', 'maps.example.org').set('X-Forwarded-Proto', 'https').expect(200)).body;
    expect(style.sources['grids.city'].tiles).toEqual(['https://maps.example.org/tiles/grids.city/{z}/{x}/{y}.mvt']);
    expect(style.glyphs).toBeUndefined();
    expect(style.sprite).toBeUndefined();
    expect(style.metadata.gridatlas.systems.map((s: { key: string }) => s.key)).toEqual(['city', 'fire']);
    const ids = style.layers.map((l: { id: string }) => l.id);
    expect(ids).toEqual(expect.arrayContaining(['grids.city.community:fill', 'grids.city.community:line', 'grids.city.community:label', 'grids.fire.block:fill']));
    expect(ids.indexOf('grids.fire.block:line')).toBeLessThan(ids.indexOf('grids.city.district:label'));
    const visibility = Object.fromEntries(style.layers.filter((l: { source?: string }) => l.source).map((l: { id: string; layout: { visibility: string } }) => [l.id, l.layout.visibility]));
    expect(visibility['grids.city.street:fill']).toBe('visible');
    expect(visibility['grids.fire.block:fill']).toBe('none');
  });

  it('shows an edit, a move and a deletion in the very next tile request, and keeps tiles the change does not touch', async () => {
    const before = await getTile(t.request, TILE, { 'Accept-Encoding': 'identity' }).expect(200);
    expect(decode(before.body)['grids.city.community']).toContain('D02A 竹林社区');
    const far = await getTile(t.request, FAR_TILE).expect(200);

    await t.request.patch('/api/systems/city/grids/D02A').send({ properties: { name: '新竹林社区' } }).expect(200);
    const renamed = await getTile(t.request, TILE, { 'Accept-Encoding': 'identity', 'If-None-Match': before.headers.etag! }).expect(200);
    expect(decode(renamed.body)['grids.city.community']).toContain('D02A 新竹林社区');
    await getTile(t.request, FAR_TILE, { 'If-None-Match': far.headers.etag! }).expect(304);

    // Moved into the north-west quarter: gone from this tile, present in the far one.
    const moved = { type: 'Polygon', coordinates: [[[104.001, 30.621], [104.004, 30.621], [104.004, 30.624], [104.001, 30.624], [104.001, 30.621]]] };
    await t.request.patch('/api/systems/city/grids/D02A').send({ geometry: moved }).expect(200);
    expect(decode((await getTile(t.request, TILE).expect(200)).body)['grids.city.community']!.join()).not.toContain('D02A');
    expect(decode((await getTile(t.request, FAR_TILE).expect(200)).body)['grids.city.community']).toContain('D02A 新竹林社区');

    await t.request.delete('/api/systems/city/grids/D02A').expect(200);
    expect(decode((await getTile(t.request, FAR_TILE).expect(200)).body)['grids.city.community']!.join()).not.toContain('D02A');
  });

  it('adds and drops sources as systems are created and deleted', async () => {
    const fresh = '/tiles/grids.fresh/12/3231/1682.mvt';
    await getTile(t.request, fresh).expect(404);
    await t.request.post('/api/systems').send({ ...readJson('fire.system.json'), key: 'fresh' }).expect(201);
    await getTile(t.request, fresh).expect(204);
    await t.request.post('/api/systems/fresh/import').send(readJson('fire.geojson')).expect(200);
    expect(decode((await getTile(t.request, fresh).expect(200)).body)).toEqual({ 'grids.fresh.block': ['F1 消防一', 'F2 消防二'] });
    await t.request.delete('/api/systems/fresh').expect(204);
    await getTile(t.request, fresh).expect(404);
  });
});

describe.runIf(engines().includes('server'))('tiles on the PostGIS server only', () => {
  let a: TestApp;
  let b: { request: Agent; close(): Promise<void> };
  beforeAll(async () => {
    a = await startTestApp('server');
    await loadFixtures(a);
    // A second service process: its own connection pool, change bus and app, on the same database.
    const name: string = (await a.db.knex.raw('select current_database() as n')).rows[0].n;
    const db = await openDatabase({ databaseUrl: withDatabase(process.env.DATABASE_URL!, name), migrate: false });
    const changes = new ChangeBus(db);
    await changes.start();
    const server = http.createServer(createApp({ config: loadConfig({ LOG_LEVEL: 'error' }), db, changes, logger: createLogger('error') }).callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    b = {
      request: supertest(server),
      async close() {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await changes.stop();
        await db.close();
      },
    };
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('shows an edit made through one process in the tiles of another within 1 s (LISTEN/NOTIFY)', async () => {
    expect(decode((await getTile(b.request, TILE).expect(200)).body)['grids.city.community']).toContain('D02A 竹林社区');
    const edited = performance.now();
    await a.request.patch('/api/systems/city/grids/D02A').send({ properties: { name: '远程编辑' } }).expect(200);
    let seen = false;
    while (!seen && performance.now() - edited < 1000) {
      seen = decode((await getTile(b.request, TILE).expect(200)).body)['grids.city.community']!.includes('D02A 远程编辑');
      if (!seen) await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen, 'process B still serves the old tile 1 s after the edit through process A').toBe(true);
  });

  it('makes the same features with ST_AsMVT as in memory, for the systems too large for memory', async () => {
    const [system] = (await createGridTileQueries(a.db.knex).systems()).filter((s) => s.key === 'city');
    const memory = new MemoryGridSource(system!, createGridTileQueries(a.db.knex));
    const postgis = new PostgisGridSource(system!, a.db.knex);
    expect(await postgis.info()).toEqual(await memory.info());
    for (const [z, x, y] of [[8, 201, 105], [11, 1615, 841], [13, 6463, 3364], [16, 51701, 26910]] as const) {
      const features = async (source: MemoryGridSource | PostgisGridSource) => {
        const tile = new VectorTile(new PbfReader((await source.getTile({ z, x, y }))!));
        return Object.fromEntries(
          Object.entries(tile.layers).map(([name, layer]) => [name, Array.from({ length: layer.length }, (_, i) => ({ id: layer.feature(i).id, ...layer.feature(i).properties })).sort((p, q) => p.id! - q.id!)]),
        );
      };
      expect(await features(postgis), `tile ${z}/${x}/${y}`).toEqual(await features(memory));
    }
  });
});
