import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, createServices } from '../app';
import { createAuthorizer } from '../access';
import { loadConfig } from '../config';
import { ChangeBus } from '../db/changes';
import { openDatabase, withDatabase, type Database } from '../db/engine';
import { createLogger } from '../logger';
import { startTestApp, type TestApp } from '../test/app';
import { engines, openTestDatabase } from '../test/db';
import { binary } from '../tiles/testing';
import { LSN_HEADER } from './replica-routes';

/**
 * The read replica (issue #16) against a real streaming standby of the PostgreSQL server: .ci/replica makes
 * one (`15 replica` on port 5433) and .ci/run exports DATABASE_READ_URL. In CI a missing replica fails.
 */
const replicaUrl = process.env.DATABASE_READ_URL;
const server = engines().includes('server');
if (process.env.CI && server && !replicaUrl) {
  throw new Error('CI is set but DATABASE_READ_URL is not: the read replica test must run in CI (.ci/run starts the standby with .ci/replica)');
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(`fixtures/tiles/systems/${file}`, 'utf8'));
// Zoom 13, south-east quarter of the fixture city: D02A (竹林社区) is in it.
const TILE = '/tiles/grids.city/13/6463/3364.mvt';
/** How long an edit on the primary may take to show in a tile read through the replica (README, stale-read rules). */
const FRESHNESS_BOUND_MS = 3000;

function names(body: Buffer): string[] {
  const layer = new VectorTile(new PbfReader(body)).layers['grids.city.community'];
  return layer ? Array.from({ length: layer.length }, (_, i) => String(layer.feature(i).properties.name)) : [];
}

/** Which side a read handle reaches: the standby is in recovery, the primary is not. */
async function reachesStandby(db: Database): Promise<boolean> {
  return (await db.read.raw('select pg_is_in_recovery() as r')).rows[0].r;
}

/** The URL of the same database on the primary, for a second process. */
async function urlOf(db: Database): Promise<string> {
  return withDatabase(process.env.DATABASE_URL!, (await db.knex.raw('select current_database() as d')).rows[0].d);
}

describe.runIf(server && replicaUrl)('read replica (DATABASE_READ_URL, streaming standby)', () => {
  let reader: TestApp;
  /** A second process on the same primary, without the replica: its edits reach the reader only by WAL and NOTIFY. */
  let writer: { db: Database; changes: ChangeBus; request: ReturnType<typeof supertest>; server: http.Server };

  beforeAll(async () => {
    reader = await startTestApp('server', {}, { replicaUrl });
    const db = await openDatabase({ databaseUrl: await urlOf(reader.db) });
    const changes = new ChangeBus(db);
    await changes.start();
    const logger = createLogger('error');
    const services = createServices({ db, changes, logger });
    const app = createApp({
      config: loadConfig({ LOG_LEVEL: 'error' }),
      db,
      changes,
      logger,
      services,
      authorize: createAuthorizer(services.access, { anonymousAs: { user: { id: 0, username: 'writer' }, pairs: [{ role: 'admin' }], via: 'internal' } }),
    });
    const srv = http.createServer(app.callback());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    writer = { db, changes, request: supertest(srv), server: srv };
    await writer.request.post('/api/systems').send(readJson('city.system.json')).expect(201);
    await writer.request.post('/api/systems/city/import').send(readJson('city.geojson')).expect(200);
  }, 120_000);

  afterAll(async () => {
    if (writer) {
      await new Promise((r) => writer.server.close(r));
      await writer.changes.stop();
      await writer.db.close();
    }
    await reader?.close();
  });

  it('reads through the standby and reports it, with its lag, on /readyz', async () => {
    expect(await reachesStandby(reader.db)).toBe(true);
    expect(await reachesStandby({ ...reader.db, read: reader.db.knex })).toBe(false);
    const ready = (await reader.request.get('/readyz').expect(200)).body;
    expect(ready.replica).toMatchObject({ status: 'streaming', replayLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/) });
    expect(ready.replica.lagBytes).toBeGreaterThanOrEqual(0);
    expect(ready.replica.lagSeconds).toBeGreaterThanOrEqual(0);
  });

  it(`shows an edit made by another process on the primary in the next tile read from the replica, within ${FRESHNESS_BOUND_MS} ms`, async () => {
    const tile = () => reader.request.get(TILE).buffer(true).parse(binary).expect(200);
    expect(names((await tile()).body)).toContain('竹林社区');
    const fallbacks = reader.db.replica!.status().fallbacks;

    const started = performance.now();
    await writer.request.patch('/api/systems/city/grids/D02A').send({ properties: { name: '复制竹林社区' } }).expect(200);
    let seen: string[] = [];
    while (performance.now() - started < FRESHNESS_BOUND_MS) {
      seen = names((await tile()).body);
      if (seen.includes('复制竹林社区')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toContain('复制竹林社区');
    expect(performance.now() - started).toBeLessThan(FRESHNESS_BOUND_MS);
    // The tile was made from the standby: the reader waited for its replay instead of asking the primary.
    expect(reader.db.replica!.status().fallbacks).toBe(fallbacks);
  });

  it("reads a client's own write back from the replica at once (the grid list)", async () => {
    for (let i = 0; i < 5; i++) {
      const name = `读己之写${i}`;
      await reader.request.patch('/api/systems/city/grids/D02B').send({ properties: { name } }).expect(200);
      const list = (await reader.request.get('/api/systems/city/grids?level=community').expect(200)).body;
      expect(list.features.find((f: { properties: { code: string } }) => f.properties.code === 'D02B').properties.name).toBe(name);
    }
  });

  it('carries the write position to another process: a request with the LSN of a write sees it on the standby', async () => {
    // Written straight on the primary, announced to no one: only the carried position makes the read wait.
    const db = reader.db;
    const patched = await writer.request.patch('/api/systems/city/grids/D01B').send({ properties: { name: '远方写入' } }).expect(200);
    expect(patched.headers[LSN_HEADER.toLowerCase()]).toBeUndefined(); // the writer has no replica: nothing to carry
    await db.knex.raw(`update grids set name = '直接写入' where code = 'D01A'`);
    const lsn = await db.replica!.currentLsn();
    const row = await db.replica!.withMinimumLsn(lsn, async () => (await db.read.raw(`select name, pg_is_in_recovery() as standby from grids where code = 'D01A'`)).rows[0]);
    expect(row).toEqual({ name: '直接写入', standby: true });
    // Over HTTP: the reader's own write answers with the position, and a request bringing it back sees the write.
    const own = await reader.request.patch('/api/systems/city/grids/D01A').send({ properties: { name: '带着位置' } }).expect(200);
    const carried = own.headers[LSN_HEADER.toLowerCase()];
    expect(carried).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(String(own.headers['set-cookie'])).toContain('gridatlas_lsn=');
    const got = (await reader.request.get('/api/systems/city/grids/D01A').set(LSN_HEADER, carried).expect(200)).body;
    expect(got.properties.name).toBe('带着位置');
  });
});

describe.runIf(server && replicaUrl)('read replica down: reads fall back to the primary', () => {
  /** A loopback TCP relay to the standby that the test can cut, as a crashed replica or a broken network would. */
  let relay: net.Server;
  let sockets: net.Socket[] = [];
  let db: Database;
  const target = new URL(replicaUrl ?? 'postgres://x@127.0.0.1:5433/x');

  function listen(port = 0): Promise<number> {
    relay = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      sockets.push(client, upstream);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
    });
    return new Promise((resolve) => relay.listen(port, '127.0.0.1', () => resolve((relay.address() as net.AddressInfo).port)));
  }
  function cut(): Promise<void> {
    for (const s of sockets.splice(0)) s.destroy();
    return new Promise((r) => relay.close(() => r()));
  }

  let port = 0;
  beforeAll(async () => {
    port = await listen();
    const via = new URL(replicaUrl!);
    via.port = String(port);
    db = await openTestDatabase('server', { replicaUrl: via.toString(), replica: { checkMs: 0 } });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    if (relay.listening) await cut();
  });

  it('answers every read from the primary while the replica is gone, says so on readiness, and returns to the replica', async () => {
    expect(await reachesStandby(db)).toBe(true);
    await cut();
    // The pooled connection breaks under the next read: it is run again on the primary, no error.
    for (let i = 0; i < 3; i++) expect(await reachesStandby(db)).toBe(false);
    await db.replica!.check();
    expect(db.replica!.status()).toMatchObject({ status: 'down' });
    expect(db.replica!.status().fallbacks).toBeGreaterThanOrEqual(3);

    const changes = new ChangeBus(db);
    const app = createApp({ config: loadConfig({ LOG_LEVEL: 'error' }), db, changes, logger: createLogger('error') });
    const ready = (await supertest(app.callback()).get('/readyz').expect(200)).body;
    expect(ready).toMatchObject({ status: 'ready', replica: { status: 'down' } });
    await supertest(app.callback()).get('/api/point?lon=104&lat=30').expect((res) => expect(res.status).not.toBe(500));

    await listen(port);
    await db.replica!.check();
    expect(db.replica!.status().status).toBe('streaming');
    expect(await reachesStandby(db)).toBe(true);
  });
});

describe('read replica configuration', () => {
  it('refuses DATABASE_READ_URL without DATABASE_URL: the embedded engine has no replicas', async () => {
    await expect(openDatabase({ dataDir: 'memory://', readUrl: 'postgres://x@127.0.0.1:5433/x' })).rejects.toThrow(/DATABASE_READ_URL needs DATABASE_URL/);
  });
});
