import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import knexFactory from 'knex';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { EngineKind } from '../db/engine';
import { engines, openTestDatabase } from '../test/db';
import { cityOrigin, gridFeature, rect, smallCity, smallSystem } from '../test/fixtures';
import { withDatabase } from '../test/global-setup';
import { PAUSED_LINE } from './crash-pause';

const root = path.resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Service {
  child: ChildProcess;
  base: string;
  /** Whether the service printed `PAUSED_LINE`: a transaction of it waits, every row written, before its commit. */
  paused: () => boolean;
}

/**
 * The real service as its own process (node + tsx's loader, no wrapper process, so SIGKILL reaches the
 * service itself), on an ephemeral loopback port read from its "listening" log line.
 */
const ADMIN_PASSWORD = 'crash-test-admin-password';
/** The bearer token of the running service's administrator. */
let token = '';

async function startService(env: Record<string, string>): Promise<Service> {
  // The spawned service gets only the database the test names: an inherited DATABASE_READ_URL (CI) would point it at another.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['DATABASE_URL', 'DATABASE_READ_URL', 'DATA_DIR'].includes(k)));
  const child = spawn(process.execPath, ['--import', 'tsx', 'service/main.ts'], {
    cwd: root,
    env: { ...clean, PORT: '0', HOST: '127.0.0.1', DEMO_CITY: 'off', LOG_LEVEL: 'info', GRIDATLAS_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let out = '';
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start in 90 s: ${stderr} ${out.slice(-500)}`)), 90_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /"message":"gridatlas listening"[^\n]*"url":"http:\/\/localhost:(\d+)\/"|"url":"http:\/\/localhost:(\d+)\/"[^\n]*"message":"gridatlas listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1] ?? m[2]}`);
      }
    });
    child.on('exit', (code) => reject(new Error(`service exited with ${code}: ${stderr}`)));
  });
  // Every API route needs credentials (issue #10): the first administrator comes from the environment.
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
  if (login.status !== 200) throw new Error(`admin login failed with ${login.status}: ${await login.text()}`);
  token = ((await login.json()) as { token: string }).token;
  return { child, base, paused: () => out.includes(PAUSED_LINE) };
}

/**
 * The test-only pause (crash-pause.ts): the service is started with this file named, and `arm` makes the
 * next transaction to finish its work wait before its commit, for the kill to land there.
 */
function pauseFile(name: string): { env: Record<string, string>; arm: () => void } {
  const file = path.join(inject('testRoot'), `${name}-${process.pid}.pause`);
  return { env: { GRIDATLAS_TEST_PAUSE_FILE: file }, arm: () => fs.writeFileSync(file, '') };
}

async function api(base: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(base + url, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** A district east of the small city with one street and `n` communities: one import, one transaction. */
function bigImport(n: number) {
  const { x, y, d } = cityOrigin;
  const x0 = x + 3 * d;
  const cell = d / 100;
  const side = Math.ceil(Math.sqrt(n));
  const features = [gridFeature('E', 'district', null, rect(x0, y, x0 + side * cell, y + side * cell)), gridFeature('E01', 'street', 'E', rect(x0, y, x0 + side * cell, y + side * cell))];
  for (let i = 0; i < n; i++) {
    const cx = x0 + (i % side) * cell;
    const cy = y + Math.floor(i / side) * cell;
    features.push(gridFeature(`E01C${String(i).padStart(5, '0')}`, 'community', 'E01', rect(cx, cy, cx + cell, cy + cell), { households: 300 }));
  }
  return JSON.stringify({ type: 'FeatureCollection', features });
}

/** Posts the body and resolves with the outcome: an answer, or the error of a connection cut by the kill. */
function post(base: string, url: string, body: string, uploaded: () => void): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = http.request(base + url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body, uploaded);
  });
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// Issue #16 "crash safety": kill -9 in the middle of an import; after a restart nothing is half-written
// and every earlier record is intact.
describe.each(engines())('kill -9 during a grid import on %s PostGIS', (engine: EngineKind) => {
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const c of cleanups) await c();
  });

  it('keeps earlier records and leaves no part of the interrupted import', async () => {
    // The kill lands inside the import's transaction, every row written and the commit not sent (crash-pause.ts).
    const pause = pauseFile('crash-import');
    let env: Record<string, string>;
    if (engine === 'embedded') {
      const dataDir = path.join(inject('testRoot'), `crash-${process.pid}`);
      fs.cpSync(inject('embeddedTemplate'), dataDir, { recursive: true });
      cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
      env = { DATA_DIR: dataDir, ...pause.env };
    } else {
      const db = await openTestDatabase('server');
      const name = (await db.knex.raw('select current_database() as n')).rows[0].n as string;
      await db.close().catch(() => undefined);
      // close() dropped the database: create it again, empty, for the service to migrate.
      const admin = knexFactory({ client: 'pg', connection: process.env.DATABASE_URL!, pool: { min: 0, max: 1 } });
      await admin.raw(`create database ${name}`);
      cleanups.push(async () => {
        await admin.raw(`drop database if exists ${name} with (force)`);
        await admin.destroy();
      });
      env = { DATABASE_URL: withDatabase(process.env.DATABASE_URL!, name), ...pause.env };
    }

    let service = await startService(env);
    children.push(service.child);
    expect((await api(service.base, 'POST', '/api/systems', smallSystem)).status).toBe(201);
    expect((await api(service.base, 'POST', `/api/systems/${smallSystem.key}/import`, { type: 'FeatureCollection', features: smallCity() })).status).toBe(200);
    const before = (await api(service.base, 'GET', `/api/systems/${smallSystem.key}/grids`)).body.features;
    expect(before).toHaveLength(7);

    const body = bigImport(400);
    pause.arm();
    const outcome = post(service.base, `/api/systems/${smallSystem.key}/import`, body, () => undefined);
    await until('the import to pause before its commit', () => service.paused(), 60_000);
    service.child.kill('SIGKILL');
    const result = await outcome;
    // The kill landed inside the import: no answer ever came.
    expect(result.status).toBeUndefined();
    expect(result.error).toBeTruthy();
    await new Promise((r) => (service.child.exitCode !== null || service.child.signalCode !== null ? r(null) : service.child.once('exit', r)));

    service = await startService(env);
    children.push(service.child);
    const after = (await api(service.base, 'GET', `/api/systems/${smallSystem.key}/grids`)).body.features;
    expect(after).toEqual(before);
    expect((await api(service.base, 'GET', `/api/systems/${smallSystem.key}/grids/E`)).status).toBe(404);
    // The database is whole, not just readable: it takes writes again.
    expect((await api(service.base, 'PATCH', `/api/systems/${smallSystem.key}/grids/D01A`, { name: '恢复后' })).status).toBe(200);
    service.child.kill('SIGTERM');
    await new Promise((r) => service.child.once('exit', r));
  }, 300_000);
});

/** A street whose first community stops 5 m short of the street's east edge: a small gap the report proposes to fix. */
function cityWithGap() {
  const { x, y, d } = cityOrigin;
  return smallCity().map((f) => (f.properties!.code === 'D01A' ? gridFeature('D01A', 'community', 'D01', rect(x, y, x + 0.995 * d, y + d), { households: 320 }) : f));
}

/** Waits for the state after the kill: the child is gone. */
const exited = (child: ChildProcess) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));

/** What must survive a crash, or change only as a whole: every grid's version and geometry, and the history. */
async function snapshot(base: string) {
  const grids = (await api(base, 'GET', `/api/systems/${smallSystem.key}/grids`)).body.features.map((f: { properties: { code: string; version: number }; geometry: unknown }) => [
    f.properties.code,
    f.properties.version,
    JSON.stringify(f.geometry),
  ]);
  let history = 0;
  for (const code of ['D01A', 'D01B', 'D02A', 'D02B']) history += (await api(base, 'GET', `/api/systems/${smallSystem.key}/grids/${code}/history`)).body.features.length;
  return { grids, history };
}

// Issue #16 "crash safety", continued: kill -9 in the middle of a fix apply and of a boundary changeset apply.
// On the server a second connection holds grid_versions in SHARE mode, so the apply's transaction has
// written its grid rows and waits on its history insert when the kill lands — the middle, for certain. The
// embedded engine has one connection inside the service: there the test-only pause (crash-pause.ts) holds
// the apply's transaction before its commit, every row written, and the kill lands there.
describe.each(engines())('kill -9 during a fix apply and a changeset apply on %s PostGIS', (engine: EngineKind) => {
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const c of cleanups) await c();
  });

  it('keeps every earlier record and applies each interrupted change wholly or not at all', async () => {
    let env: Record<string, string>;
    /** Holds the apply in the middle (server) and resolves once it is there; returns the release. */
    let hold: () => Promise<() => Promise<void>>;
    let inTheMiddle: () => Promise<boolean> | boolean;
    if (engine === 'embedded') {
      const dataDir = path.join(inject('testRoot'), `crash-apply-${process.pid}`);
      fs.cpSync(inject('embeddedTemplate'), dataDir, { recursive: true });
      cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
      const pause = pauseFile('crash-apply');
      env = { DATA_DIR: dataDir, ...pause.env };
      hold = async () => {
        pause.arm();
        return async () => undefined;
      };
      inTheMiddle = () => service.paused();
    } else {
      const db = await openTestDatabase('server');
      const name = (await db.knex.raw('select current_database() as n')).rows[0].n as string;
      await db.close().catch(() => undefined);
      const admin = knexFactory({ client: 'pg', connection: process.env.DATABASE_URL!, pool: { min: 0, max: 1 } });
      await admin.raw(`create database ${name}`);
      const watcher = knexFactory({ client: 'pg', connection: withDatabase(process.env.DATABASE_URL!, name), pool: { min: 0, max: 2 } });
      cleanups.push(async () => {
        await watcher.destroy();
        await admin.raw(`drop database if exists ${name} with (force)`);
        await admin.destroy();
      });
      env = { DATABASE_URL: withDatabase(process.env.DATABASE_URL!, name) };
      hold = async () => {
        const trx = await watcher.transaction();
        await trx.raw('lock table grid_versions in share mode');
        return async () => void (await trx.rollback());
      };
      // The service's transaction has written (it holds a transaction id) and waits for the history lock.
      inTheMiddle = async () =>
        (await watcher.raw(`select count(*)::int as n from pg_stat_activity where datname = current_database() and backend_xid is not null and wait_event_type = 'Lock'`)).rows[0].n > 0;
    }

    let service = await startService(env);
    children.push(service.child);
    const key = smallSystem.key;
    expect((await api(service.base, 'POST', '/api/systems', smallSystem)).status).toBe(201);
    expect((await api(service.base, 'POST', `/api/systems/${key}/import`, { type: 'FeatureCollection', features: cityWithGap() })).status).toBe(200);
    expect((await api(service.base, 'POST', `/api/systems/${key}/validate`)).status).toBe(200);
    const fix = (await api(service.base, 'GET', `/api/systems/${key}/fixes`)).body.fixes.find((f: { kind: string }) => f.kind === 'gap' || f.kind === 'sliver');
    expect(fix).toBeDefined();

    /** Sends `url`, kills the service in the middle, restarts it and returns the state after restart. */
    const crash = async (url: string) => {
      const release = await hold();
      let uploaded = false;
      const outcome = post(service.base, url, '{}', () => (uploaded = true));
      await until('the apply to be in the middle', async () => uploaded && (await inTheMiddle()), 30_000);
      service.child.kill('SIGKILL');
      const result = await outcome;
      await exited(service.child);
      await release();
      service = await startService(env);
      children.push(service.child);
      return result;
    };

    // 1. The fix apply.
    const beforeFix = await snapshot(service.base);
    const fixResult = await crash(`/api/systems/${key}/fixes/${fix.id}/apply`);
    const afterFix = await snapshot(service.base);
    const fixApplied = afterFix.grids.some(([code, version]: [string, number]) => fix.result.some((r: { code: string }) => r.code === code) && version > 1);
    // The kill landed inside the transaction: no answer came, and nothing of the fix is stored.
    expect(fixResult.status).toBeUndefined();
    expect(fixApplied).toBe(false);
    expect(afterFix).toEqual(beforeFix);

    // 2. The boundary changeset: D02A takes the south fifth of D02B.
    const { x, y, d } = cityOrigin;
    const redraw = {
      op: 'redraw',
      grids: [gridFeature('D02A', 'community', 'D02', rect(x + d, y, x + 2 * d, y + 1.2 * d)), gridFeature('D02B', 'community', 'D02', rect(x + d, y + 1.2 * d, x + 2 * d, y + 2 * d))],
    };
    const cs = await api(service.base, 'POST', `/api/systems/${key}/changesets`, { reason: 'crash test', operations: [redraw] });
    expect(cs.status).toBe(201);
    expect((await api(service.base, 'POST', `/api/systems/${key}/changesets/${cs.body.id}/submit`, {})).status).toBe(200);
    expect((await api(service.base, 'POST', `/api/systems/${key}/changesets/${cs.body.id}/approve`, {})).status).toBe(200);
    const beforeCs = await snapshot(service.base);
    const csResult = await crash(`/api/systems/${key}/changesets/${cs.body.id}/apply`);
    const afterCs = await snapshot(service.base);
    const status = (await api(service.base, 'GET', `/api/systems/${key}/changesets/${cs.body.id}`)).body.status;
    expect(csResult.status).toBeUndefined();
    expect(status).toBe('approved');
    expect(afterCs).toEqual(beforeCs);
    // Nothing was lost: the approved changeset applies after the restart.
    expect((await api(service.base, 'POST', `/api/systems/${key}/changesets/${cs.body.id}/apply`, {})).status).toBe(200);
    const final = await snapshot(service.base);
    expect(final.grids.filter(([code]: [string]) => code.startsWith('D02')).map(([code, version]: [string, number]) => `${code}@${version}`)).toEqual(['D02', 'D02A@2', 'D02B@2'].map((s) => (s === 'D02' ? 'D02@1' : s)));
    expect((await api(service.base, 'PATCH', `/api/systems/${key}/grids/D01B`, { name: '恢复后' })).status).toBe(200);
    service.child.kill('SIGTERM');
    await exited(service.child);
  }, 300_000);
});
