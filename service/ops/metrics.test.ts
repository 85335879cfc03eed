import http from 'node:http';
import Koa from 'koa';
import knexFactory from 'knex';
import { Router } from '@koa/router';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Database } from '../db/engine';
import { notFound } from '../errors';
import { accessLog, errorMiddleware } from '../http/middleware';
import { mountRoutes, type RouteDef } from '../http/route';
import type { Logger } from '../logger';
import { engines, openTestDatabase } from '../test/db';
import { databaseProbe, healthRoutes } from './index';
import { recordJob, recordTileCache, registry, setJobQueueDepth, timed, watchPool } from './metrics';
import { httpMetrics } from './metrics-routes';
import { opsRoutes } from './index';

/** The value of one sample of the Prometheus text output, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

function app(db: Pick<Database, 'knex' | 'engine'>, logger: Logger, extra: RouteDef[] = []) {
  const table: RouteDef[] = [
    ...opsRoutes({ db, info: { title: 't', version: '0' }, allRoutes: () => table }),
    {
      method: 'get',
      path: '/api/things/:id',
      summary: 'a thing',
      tag: 'test',
      access: { public: true },
      request: { params: z.object({ id: z.string().regex(/^\d+$/) }).strict() },
      handler: (ctx) => {
        const { id } = z.object({ id: z.string().regex(/^\d+$/) }).parse(ctx.params);
        if (id === '404') throw notFound('thing_not_found', 'no thing 404');
        ctx.body = { id };
      },
    },
    ...extra,
  ];
  const koa = new Koa();
  koa.use(httpMetrics());
  koa.use(errorMiddleware(logger));
  koa.use(accessLog(logger));
  koa.use(mountRoutes(new Router(), table, () => (_ctx, next) => next()).routes());
  return http.createServer(koa.callback());
}

describe.each(engines())('metrics, health and request ids on %s PostGIS', (engine) => {
  let db: Database;
  const lines: Record<string, unknown>[] = [];
  const logger: Logger = {
    error: (f, m) => lines.push({ level: 'error', message: m, ...f }),
    info: (f, m) => lines.push({ level: 'info', message: m, ...f }),
    debug: (f, m) => lines.push({ level: 'debug', message: m, ...f }),
  };
  let server: http.Server;
  let unwatch: () => void;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    unwatch = watchPool(`test-${engine}`, db.knex);
    server = app(db, logger);
  });
  afterAll(async () => {
    unwatch?.();
    server?.close();
    await db?.close();
  });

  it('answers liveness without the database and readiness with it', async () => {
    const request = supertest(server);
    expect((await request.get('/livez').expect(200)).body.status).toBe('live');
    const ready = (await request.get('/readyz').expect(200)).body;
    expect(ready).toEqual({ status: 'ready', engine, migration: expect.stringMatching(/^\d{3}_/) });
  });

  it('is not ready when a migration has not run or the database does not answer', async () => {
    const ahead = app(db, logger, healthRoutes(databaseProbe(db), ['001_grid_systems', '999_not_yet']).map((r) => ({ ...r, path: `/ahead${r.path}` })));
    const pending = (await supertest(ahead).get('/ahead/readyz').expect(503)).body.error;
    ahead.close();
    expect(pending).toMatchObject({ code: 'migrations_pending', details: { pending: ['999_not_yet'] } });
    // Nothing listens on port 1: the pool cannot connect.
    const gone = knexFactory({ client: 'pg', connection: 'postgres://nobody:x@127.0.0.1:1/none', pool: { min: 0, max: 1 }, acquireConnectionTimeout: 1000, log: { error: () => undefined, warn: () => undefined } });
    const down = app({ knex: gone, engine: 'server' }, logger);
    const res = (await supertest(down).get('/readyz').expect(503)).body.error;
    down.close();
    await gone.destroy();
    expect(res.code).toBe('database_unavailable');
  });

  it('times requests by matched route pattern and status, and counts the hooks', async () => {
    const request = supertest(server);
    const before = await registry.metrics();
    const countOf = (text: string, status: string) =>
      sample(text, 'gridatlas_http_request_duration_seconds_count', { method: 'GET', route: '/api/things/:id', status }) ?? 0;
    await request.get('/api/things/1').expect(200);
    await request.get('/api/things/2').expect(200);
    await request.get('/api/things/404').expect(404);
    await request.get('/api/things/x').expect(400);
    await request.get('/nowhere/at/all').expect(404);
    recordTileCache(true);
    recordTileCache(false);
    recordJob('partition_check', 1.5, 'done');
    setJobQueueDepth({ queued: 3, running: 1 });
    await timed('partition_validate', async () => undefined);
    await expect(timed('overlay', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');

    const text = (await request.get('/metrics').expect(200).expect('content-type', /text\/plain/)).text;
    expect(countOf(text, '200') - countOf(before, '200')).toBe(2);
    expect(countOf(text, '404') - countOf(before, '404')).toBe(1);
    expect(countOf(text, '400') - countOf(before, '400')).toBe(1);
    // The raw URL never becomes a label value.
    expect(text).not.toContain('/api/things/1"');
    expect(text).not.toContain('/nowhere');
    expect(sample(text, 'gridatlas_http_request_duration_seconds_count', { route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gridatlas_tile_cache_total', { result: 'hit' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gridatlas_tile_cache_total', { result: 'miss' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gridatlas_job_duration_seconds_sum', { kind: 'partition_check', outcome: 'done' })).toBeGreaterThanOrEqual(1.5);
    expect(sample(text, 'gridatlas_job_queue_depth', { status: 'queued' })).toBe(3);
    expect(sample(text, 'gridatlas_operation_duration_seconds_count', { operation: 'overlay' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'gridatlas_db_pool_connections', { pool: `test-${engine}`, state: 'free' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
  });

  it('logs each request as JSON fields with its request id, kept from the caller when plain', async () => {
    const request = supertest(server);
    const res = await request.get('/api/things/7').set('X-Request-Id', 'lb-1234.abc').expect(200);
    expect(res.headers['x-request-id']).toBe('lb-1234.abc');
    expect(lines.at(-1)).toMatchObject({ level: 'debug', message: 'request', requestId: 'lb-1234.abc', route: '/api/things/:id', status: 200 });
    const odd = await request.get('/api/things/8').set('X-Request-Id', 'a b;c'.repeat(2)).expect(200);
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.at(-1)!.requestId).toBe(odd.headers['x-request-id']);
  });
});
