import { AsyncLocalStorage } from 'node:async_hooks';
import knexFactory, { type Knex } from 'knex';

/**
 * A read replica (issue #16): a streaming-replication standby of the primary, used for the read-only
 * routes through `ReadReplica.knex`. Three rules keep those reads correct:
 *
 * 1. Fresh enough: a read waits until the standby has replayed the primary's WAL up to the last write this
 *    process knows of (`afterWrite`, fed by every ChangeEvent, local or heard from the primary's NOTIFY),
 *    and up to the position the request itself names (a client's own write, `withMinimumLsn`). The
 *    position is the primary's `pg_current_wal_lsn()`, asked *after* the change committed, so it is at or
 *    past the commit. NOTIFY never reaches a standby, so freshness never depends on it.
 * 2. Bounded: the wait is at most `waitMs`; a standby that is further behind, or lags by more than
 *    `maxLagSeconds`, or does not answer, is skipped and the read goes to the primary.
 * 3. Failover: a read whose replica connection breaks (or is cancelled by a recovery conflict) is run again
 *    on a primary connection, so a replica going down costs latency, never an error.
 */
export interface ReplicaStatus {
  /** streaming: serving reads; lagging: up, but too far behind; down: not answering or not a standby. */
  status: 'streaming' | 'lagging' | 'down';
  /** Bytes of WAL the standby has still to replay, at the last check. */
  lagBytes: number | null;
  /** Seconds since the last transaction the standby replayed, 0 when it has replayed everything. */
  lagSeconds: number | null;
  replayLsn: string | null;
  checkedAt: string | null;
  error?: string;
  /** Reads sent to the primary instead (replica down, lagging or not yet caught up), since start. */
  fallbacks: number;
}

export interface ReplicaOptions {
  /** How long a read waits for the standby to catch up before it goes to the primary. */
  waitMs?: number;
  /** A standby further behind than this serves no reads until it catches up. */
  maxLagSeconds?: number;
  /** Period of the background check that brings a replica back after it was down. */
  checkMs?: number;
}

/** A WAL position as a number: "16/B374D848" → 0x16B374D848. */
export function parseLsn(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** Errors after which the same read on the primary can succeed: the connection or the standby gave up. */
export function isReplicaFailure(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  // 08: connection exceptions; 57P01–03: shutdown / cannot connect now; 40001 on a standby: recovery conflict.
  if (/^(08|57P0[123]$|40001$)/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(code)) return true;
  return /connection terminated|connection (ended|closed)|not queryable|timeout exceeded when trying to connect/i.test(e?.message ?? '');
}

type Conn = { query(sql: string): Promise<{ rows: Record<string, unknown>[] }>; __knex__disposed?: unknown };
type PgClientClass = new (config: Knex.Config) => {
  acquireConnection(): Promise<Conn>;
  releaseConnection(conn: Conn): Promise<void>;
  _query(conn: Conn, obj: unknown): Promise<unknown>;
  transacting?: boolean;
};

/** Failover is expected here: knex's warnings about broken replica connections would only be noise. */
const quiet = { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined };

export class ReadReplica {
  readonly knex: Knex;
  /** One plain connection to the standby for the health check: it must reach the standby even while reads avoid it. */
  private readonly probeKnex: Knex;
  private readonly waitMs: number;
  private readonly maxLagSeconds: number;
  private state: ReplicaStatus = { status: 'down', lagBytes: null, lagSeconds: null, replayLsn: null, checkedAt: null, fallbacks: 0 };
  /** The standby has replayed at least this far (from the last check or wait). */
  private replayed = 0n;
  /** Reads must see at least this position (the last write this process knows of). */
  private required = 0n;
  /** A pending `pg_current_wal_lsn()` for a write just heard: reads wait for it before choosing a side. */
  private pendingWrite: Promise<void> = Promise.resolve();
  private readonly request = new AsyncLocalStorage<{ minLsn: bigint }>();
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly primary: Knex,
    url: string,
    options: ReplicaOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 2000;
    this.maxLagSeconds = options.maxLagSeconds ?? 30;
    const Base = (primary.client as { constructor: PgClientClass }).constructor;
    const replica = this;
    const primaryClient = primary.client as InstanceType<PgClientClass>;
    const fromPrimary = new WeakSet<object>();
    const toPrimary = async (): Promise<Conn> => {
      replica.state.fallbacks++;
      const conn = await primaryClient.acquireConnection();
      fromPrimary.add(conn);
      return conn;
    };
    class ReplicaClient extends Base {
      override async acquireConnection(): Promise<Conn> {
        if (!(await replica.usable())) return toPrimary();
        let conn: Conn;
        try {
          conn = await super.acquireConnection();
        } catch (err) {
          replica.markDown(err);
          return toPrimary();
        }
        if (await replica.caughtUp(conn)) return conn;
        await super.releaseConnection(conn);
        return toPrimary();
      }
      override releaseConnection(conn: Conn): Promise<void> {
        if (fromPrimary.has(conn)) {
          fromPrimary.delete(conn);
          return primaryClient.releaseConnection(conn);
        }
        return super.releaseConnection(conn);
      }
      override async _query(conn: Conn, obj: unknown): Promise<unknown> {
        try {
          return await super._query(conn, obj);
        } catch (err) {
          // Inside a transaction the work cannot move to another connection; on the primary it is final.
          if (this.transacting || fromPrimary.has(conn) || !isReplicaFailure(err)) throw err;
          replica.markDown(err);
          const other = await toPrimary();
          try {
            return await super._query(other, obj);
          } finally {
            fromPrimary.delete(other);
            await primaryClient.releaseConnection(other);
          }
        }
      }
    }
    this.knex = knexFactory({
      client: ReplicaClient as unknown as typeof knexFactory.Client,
      connection: { connectionString: url, connectionTimeoutMillis: 2000 } as Knex.PgConnectionConfig,
      pool: { min: 0, max: 10 },
      acquireConnectionTimeout: 3000,
      log: quiet,
    });
    this.probeKnex = knexFactory({
      client: 'pg',
      connection: { connectionString: url, connectionTimeoutMillis: 2000, statement_timeout: 2000 } as Knex.PgConnectionConfig,
      pool: { min: 0, max: 1 },
      acquireConnectionTimeout: 3000,
      log: quiet,
    });
    if ((options.checkMs ?? 2000) > 0) {
      this.timer = setInterval(() => void this.check(), options.checkMs ?? 2000);
      this.timer.unref();
    }
  }

  /** The state at the last check; `check()` refreshes it. */
  status(): ReplicaStatus {
    return { ...this.state };
  }

  /** Asks the standby and the primary where they are; the result decides whether reads use the standby. */
  check(): Promise<void> {
    this.checking ??= this.probe().finally(() => (this.checking = null));
    return this.checking;
  }

  /**
   * A write committed (this process's, or one heard through the primary's NOTIFY): reads from now on see it.
   * Synchronous so that a read starting right after the call already waits for it.
   */
  afterWrite(): void {
    const previous = this.pendingWrite;
    this.pendingWrite = (async () => {
      await previous;
      const lsn = await this.primaryLsn().catch(() => null);
      if (lsn !== null && lsn > this.required) this.required = lsn;
    })();
  }

  /** The primary's current WAL position, as a client may carry it to a later request (read-your-writes). */
  async currentLsn(): Promise<string> {
    return (await this.primary.raw('select pg_current_wal_lsn()::text as lsn')).rows[0].lsn;
  }

  /** Runs `work` so that its replica reads see at least `lsn` (a position the client got after its write). */
  withMinimumLsn<T>(lsn: string | null, work: () => Promise<T>): Promise<T> {
    if (!lsn || !/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i.test(lsn)) return work();
    return this.request.run({ minLsn: parseLsn(lsn) }, work);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking?.catch(() => undefined);
    await Promise.all([this.knex.destroy(), this.probeKnex.destroy()]);
  }

  private async primaryLsn(): Promise<bigint> {
    return parseLsn(await this.currentLsn());
  }

  /** Whether reads may try the standby at all: it was up and not lagging at the last check. */
  private async usable(): Promise<boolean> {
    await this.pendingWrite;
    if (this.state.checkedAt === null) await this.check();
    return this.state.status === 'streaming';
  }

  /** Waits (bounded) until the standby behind `conn` has replayed what this read must see. */
  private async caughtUp(conn: Conn): Promise<boolean> {
    const need = [this.required, this.request.getStore()?.minLsn ?? 0n].reduce((a, b) => (a > b ? a : b));
    if (this.replayed >= need) return true;
    const deadline = performance.now() + this.waitMs;
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      try {
        const lsn = (await conn.query('select pg_last_wal_replay_lsn()::text as lsn')).rows[0]?.lsn as string | null;
        if (lsn) {
          const at = parseLsn(lsn);
          if (at > this.replayed) this.replayed = at;
        }
      } catch (err) {
        this.markDown(err);
        return false;
      }
      if (this.replayed >= need) return true;
      if (performance.now() + pause > deadline) return false;
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  private markDown(err: unknown): void {
    this.state = { ...this.state, status: 'down', error: (err as Error)?.message ?? String(err), checkedAt: new Date().toISOString() };
  }

  private async probe(): Promise<void> {
    try {
      const standby = (
        await this.probeKnex.raw(
          `select pg_is_in_recovery() as recovery, pg_last_wal_replay_lsn()::text as lsn,
                  extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as since`,
        )
      ).rows[0] as { recovery: boolean; lsn: string | null; since: number | null };
      if (!standby.recovery || !standby.lsn) throw new Error('DATABASE_READ_URL is not a standby in recovery');
      const primary = await this.primaryLsn();
      const replay = parseLsn(standby.lsn);
      if (replay > this.replayed) this.replayed = replay;
      const lagBytes = primary > replay ? Number(primary - replay) : 0;
      const lagSeconds = lagBytes === 0 ? 0 : Math.max(0, standby.since ?? 0);
      this.state = {
        status: lagSeconds > this.maxLagSeconds ? 'lagging' : 'streaming',
        lagBytes,
        lagSeconds,
        replayLsn: standby.lsn,
        checkedAt: new Date().toISOString(),
        fallbacks: this.state.fallbacks,
      };
    } catch (err) {
      this.markDown(err);
    }
  }
}
