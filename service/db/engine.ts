import path from 'node:path';
import fs from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { readCapabilities, type Capabilities } from './capabilities';
import { checkResult } from './lost-result';
import { migrateLatest } from './migrate';
import { ReadReplica, type ReplicaOptions } from './replica';

export type EngineKind = 'embedded' | 'server';

/** An open database: knex over PostGIS, with what this PostGIS can do. */
export interface Database {
  knex: Knex;
  engine: EngineKind;
  capabilities: Capabilities;
  /**
   * For the read-only routes (tiles, point lookups, lists, stored reports): the read replica's pool when
   * DATABASE_READ_URL is set (fresh as of this process's last known write, falling back to the primary),
   * else `knex` itself. Never for writes, nor for reads inside a write's transaction (issue #16).
   */
  read: Knex;
  /** The read replica, when there is one: its state for /readyz and /metrics, and read-your-writes. */
  replica?: ReadReplica;
  /** Subscribe to a NOTIFY channel (server only; embedded has one process, so changes are local). */
  listen?: (channel: string, onPayload: (payload: string) => void) => Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  /** Embedded data directory; `memory://` keeps it in memory. */
  dataDir?: string;
  migrate?: boolean;
  /** A streaming-replication standby of `databaseUrl` for reads (server engine only). */
  readUrl?: string;
  replica?: ReplicaOptions;
}

// int8 and numeric arrive as strings from node-postgres; every count and area in gridatlas fits a double.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.readUrl && !options.databaseUrl) throw new Error('DATABASE_READ_URL needs DATABASE_URL: the embedded engine has no replicas');
  const db = options.databaseUrl ? await openServer(options.databaseUrl) : await openEmbedded(options.dataDir ?? './data');
  try {
    await ensurePostgis(db.knex);
    db.capabilities = await readCapabilities(db.knex);
    if (options.migrate !== false) await migrateLatest(db.knex);
    if (options.readUrl) {
      // A replica that is down at start is not fatal: reads use the primary until its check passes.
      const replica = new ReadReplica(db.knex, options.readUrl, options.replica);
      await replica.check();
      const close = db.close.bind(db);
      Object.assign(db, { replica, read: replica.knex, close: () => replica.close().then(close) });
    }
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

async function ensurePostgis(knex: Knex): Promise<void> {
  try {
    await knex.raw('CREATE EXTENSION IF NOT EXISTS postgis');
  } catch (err) {
    throw new Error(
      `PostGIS is not available in this database (${(err as Error).message.split('\n')[0]}). ` +
        'Install it (Debian: postgresql-15-postgis-3) or unset DATABASE_URL to use the embedded PostGIS.',
    );
  }
}

async function openServer(url: string): Promise<Database> {
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 10 } });
  try {
    await knex.raw('select 1');
  } catch (err) {
    await knex.destroy();
    throw new Error(`cannot reach the PostgreSQL server at DATABASE_URL: ${(err as Error).message}`);
  }
  const listeners: pg.Client[] = [];
  return {
    knex,
    read: knex,
    engine: 'server',
    capabilities: undefined as unknown as Capabilities,
    async listen(channel, onPayload) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      client.on('notification', (msg) => {
        if (msg.channel === channel) onPayload(msg.payload ?? '');
      });
      client.on('error', () => undefined);
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      listeners.push(client);
      return async () => {
        listeners.splice(listeners.indexOf(client), 1);
        await client.end();
      };
    },
    async close() {
      await Promise.all(listeners.splice(0).map((c) => c.end().catch(() => undefined)));
      await knex.destroy();
    },
  };
}

async function openEmbedded(dataDir: string): Promise<Database> {
  const [{ PGlite }, { postgis }, { default: ClientPgLite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-postgis'),
    import('knex-pglite'),
  ]);
  const memory = dataDir.startsWith('memory://');
  if (!memory) fs.mkdirSync(path.resolve(dataDir), { recursive: true });
  const pglite = await PGlite.create(memory ? dataDir : path.resolve(dataDir), { extensions: { postgis } });
  const knex = knexFactory({ client: ClientPgLite as unknown as typeof knexFactory.Client, connection: { pglite: yieldingQueries(pglite) } as never });
  fewTransactionsAtATime(knex);
  return {
    knex,
    read: knex,
    engine: 'embedded',
    capabilities: undefined as unknown as Capabilities,
    async close() {
      await knex.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}

/**
 * How long statements may run back to back before the event loop gets a turn (embedded engine); longer
 * inside a transaction, which holds the one connection while it waits for its turn.
 */
const SLICE_MS = 20;
const SLICE_IN_TRANSACTION_MS = 100;

/**
 * PGlite runs each statement synchronously on the service's own thread, and knex hands its one connection
 * from statement to statement in promise callbacks. With a queue that never empties (issue #16: 100
 * clients), the event loop then never reached its I/O phase: requests that need no database (cached tiles,
 * `/livez`) waited seconds and timed out behind the queue. Statements now run in slices of `SLICE_MS`, with
 * a turn of the event loop between two slices (a turn per statement cost the queue more than it gave):
 * under 100 clients a turn serves dozens of tile requests. A row-returning statement that PGlite ends with
 * neither a result nor an error fails here instead (`lost-result.ts`).
 */
function yieldingQueries<T extends { query: (...args: never[]) => Promise<unknown>; isInTransaction: () => boolean }>(pglite: T): T {
  let sliceStart: number | null = null;
  const endSlice = () => (sliceStart = null);
  const query = async (...args: Parameters<T['query']>): Promise<unknown> => {
    const now = performance.now();
    if (sliceStart === null) {
      sliceStart = now;
      // Ends the slice whenever the event loop turns, by our wait below or on its own.
      setImmediate(endSlice);
    } else if (now - sliceStart > (pglite.isInTransaction() ? SLICE_IN_TRANSACTION_MS : SLICE_MS)) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return query(...args);
    }
    const result = (await pglite.query(...args)) as { fields?: unknown[] };
    checkResult(String(args[0]), result.fields);
    return result;
  };
  return new Proxy(pglite, {
    get(target, prop) {
      if (prop === 'query') return query;
      // PGlite's private methods check `this`: everything else runs on the instance itself.
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Transactions that may wait for the embedded engine's one connection at once (the others wait their turn). */
const TRANSACTIONS_AT_THE_CONNECTION = 4;

/**
 * At most `TRANSACTIONS_AT_THE_CONNECTION` transactions ask for the embedded engine's one connection; the
 * others wait here, in order, not in the connection queue. A transaction holds the connection from BEGIN
 * to COMMIT, so 15 writers queued for it made every read statement wait behind all 15 transactions
 * (issue #16: point lookups timed out behind incident reports); with one at a time, reads starved the
 * writers instead. Nested transactions (savepoints) go through the transaction's own handle, not here.
 */
function fewTransactionsAtATime(knex: Knex): void {
  const transaction = knex.transaction.bind(knex) as (...a: unknown[]) => Promise<unknown>;
  let running = 0;
  const waiting: (() => void)[] = [];
  const gated = async (container?: unknown, config?: unknown) => {
    if (typeof container !== 'function') return transaction(container, config);
    if (running >= TRANSACTIONS_AT_THE_CONNECTION) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await transaction(container, config);
    } finally {
      // The slot passes straight to the next waiting transaction, if any.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
  // knex defines its methods as read-only, configurable properties.
  Object.defineProperty(knex, 'transaction', { value: gated, configurable: true });
}

/** The same server URL naming another database (test and benchmark databases are made beside the given one). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
