import type { Middleware } from 'koa';
import { Gauge } from 'prom-client';
import type { ReadReplica } from '../db/replica';
import { registry } from './metrics';

/** The cookie (and header) that carries a client's last write position to its next reads, in any process. */
export const LSN_COOKIE = 'gridatlas_lsn';
export const LSN_HEADER = 'X-Gridatlas-LSN';
/** Longer than a standby normally lags; after it the process-wide rule alone keeps reads fresh enough. */
const LSN_COOKIE_SECONDS = 60;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Read-your-writes across processes (issue #16). After a successful write the response carries the
 * primary's WAL position (header and a short-lived cookie); a later request that brings it back — to this
 * process or another behind the same load balancer — reads the replica only once the standby has replayed
 * that far (or the primary, after the bounded wait). Within one process every committed change already
 * raises the bar for every request (`ReadReplica.afterWrite`), so this covers the client whose next
 * request lands on a process that has not heard of the change yet.
 */
export function readYourWrites(replica: ReadReplica): Middleware {
  return async (ctx, next) => {
    const carried = ctx.get(LSN_HEADER) || ctx.cookies.get(LSN_COOKIE) || null;
    await replica.withMinimumLsn(carried, () => next());
    if (UNSAFE.has(ctx.method) && ctx.status < 400) {
      const lsn = await replica.currentLsn().catch(() => null);
      if (lsn) {
        ctx.set(LSN_HEADER, lsn);
        ctx.cookies.set(LSN_COOKIE, lsn, { httpOnly: true, sameSite: 'lax', maxAge: LSN_COOKIE_SECONDS * 1000, overwrite: true });
      }
    }
  };
}

const replicas = new Set<ReadReplica>();
new Gauge({
  name: 'gridatlas_replica_up',
  help: 'Whether the read replica serves reads (1), or reads go to the primary (0)',
  registers: [registry],
  collect() {
    this.reset();
    for (const r of replicas) this.set(r.status().status === 'streaming' ? 1 : 0);
  },
});
new Gauge({
  name: 'gridatlas_replica_lag_bytes',
  help: 'WAL bytes the read replica has still to replay, at its last check',
  registers: [registry],
  collect() {
    this.reset();
    for (const r of replicas) {
      const lag = r.status().lagBytes;
      if (lag !== null) this.set(lag);
    }
  },
});
new Gauge({
  name: 'gridatlas_replica_fallbacks',
  help: 'Reads sent to the primary instead of the replica (down, lagging or not caught up) since start',
  registers: [registry],
  collect() {
    this.reset();
    for (const r of replicas) this.set(r.status().fallbacks);
  },
});

/** Reports the replica on /metrics until the returned function is called. */
export function watchReplica(replica: ReadReplica): () => void {
  replicas.add(replica);
  return () => void replicas.delete(replica);
}
