import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queryable } from '../db/tx';
import { poolUsage } from './store';

/**
 * The process's Prometheus metrics (issue #16). One registry per process, like the process it describes:
 * features record into it through the small hook functions below, and GET /metrics serves it.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

// Seconds, from a cached tile (~0.1 ms) to a slow import (minutes).
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export const httpDuration = new Histogram({
  name: 'gridatlas_http_request_duration_seconds',
  help: 'HTTP request duration by method, matched route pattern (never the raw URL) and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: BUCKETS,
  registers: [registry],
});

const tileCache = new Counter({
  name: 'gridatlas_tile_cache_total',
  help: 'Tile cache lookups by result (hit or miss)',
  labelNames: ['result'] as const,
  registers: [registry],
});

const jobDuration = new Histogram({
  name: 'gridatlas_job_duration_seconds',
  help: 'Background job duration by kind and outcome (done or failed)',
  labelNames: ['kind', 'outcome'] as const,
  buckets: BUCKETS,
  registers: [registry],
});

const jobQueue = new Gauge({
  name: 'gridatlas_job_queue_depth',
  help: 'Jobs waiting or running, by status',
  labelNames: ['status'] as const,
  registers: [registry],
});

const timings = new Histogram({
  name: 'gridatlas_operation_duration_seconds',
  help: 'Duration of heavy operations: partition validation, overlay, imports, address assignment',
  labelNames: ['operation'] as const,
  buckets: BUCKETS,
  registers: [registry],
});

/** Every knex pool this process uses, read when Prometheus scrapes (a gauge per state). */
const pools = new Map<string, Queryable>();
new Gauge({
  name: 'gridatlas_db_pool_connections',
  help: 'Database pool connections by pool and state (used, free, pending acquires)',
  labelNames: ['pool', 'state'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const [name, knex] of pools) {
      const usage = poolUsage(knex);
      if (!usage) continue;
      for (const [state, n] of Object.entries(usage)) this.set({ pool: name, state }, n);
    }
  },
});

/** Hook for the tile cache: call on every lookup. */
export function recordTileCache(hit: boolean): void {
  tileCache.inc({ result: hit ? 'hit' : 'miss' });
}

/** Hook for jobs: call when a job ends, with its kind and how long it ran. */
export function recordJob(kind: string, seconds: number, outcome: 'done' | 'failed'): void {
  jobDuration.observe({ kind, outcome }, seconds);
}

/** Hook for jobs: the number of queued and running jobs, whenever it changes. */
export function setJobQueueDepth(depth: { queued: number; running: number }): void {
  jobQueue.set({ status: 'queued' }, depth.queued);
  jobQueue.set({ status: 'running' }, depth.running);
}

/** Times `work` as `operation` (e.g. `partition_validate`, `overlay`, `grid_import`), failed or not. */
export async function timed<T>(operation: string, work: () => Promise<T>): Promise<T> {
  const end = timings.startTimer({ operation });
  try {
    return await work();
  } finally {
    end();
  }
}

/** Reports a pool's usage on /metrics until the returned function is called (on close). */
export function watchPool(name: string, knex: Queryable): () => void {
  pools.set(name, knex);
  return () => {
    if (pools.get(name) === knex) pools.delete(name);
  };
}
