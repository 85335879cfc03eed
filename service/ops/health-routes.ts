import { migrations } from '../../migrations/index';
import { AppError } from '../errors';
import type { RouteDef } from '../http/route';

/** A readiness probe that hangs is worse than one that fails: the orchestrator waits for an answer. */
const READY_TIMEOUT_MS = 2000;

function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * GET /livez: the process is up and its event loop turns (no database: a database outage must not get
 * healthy processes restarted). GET /readyz: the database answers `select 1` and has run every migration
 * this build knows, so a load balancer sends traffic only to processes that can serve it; 503 otherwise.
 */
/** What readiness asks of the database: it answers, and which migrations it has run. */
export interface ReadinessProbe {
  engine: string;
  applied(): Promise<string[]>;
  /** The read replica's state, when there is one: reported, never a reason to be unready (reads fall back). */
  replica?: () => Promise<unknown>;
}

export function healthRoutes(db: ReadinessProbe, expected: readonly string[] = Object.keys(migrations).sort()): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/livez',
      summary: 'Liveness: the process is up',
      tag: 'ops',
      access: { public: true },
      handler: (ctx) => {
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { status: 'live', uptimeSeconds: Math.round(process.uptime()) };
      },
    },
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: the database answers and its migrations are at the latest',
      tag: 'ops',
      access: { public: true },
      handler: async (ctx) => {
        ctx.set('Cache-Control', 'no-store');
        let applied: string[];
        try {
          applied = await within(READY_TIMEOUT_MS, db.applied(), 'the database');
        } catch (err) {
          throw new AppError(503, 'database_unavailable', `not ready: ${(err as Error).message}`);
        }
        const pending = expected.filter((name) => !applied.includes(name));
        if (pending.length > 0) {
          throw new AppError(503, 'migrations_pending', `not ready: ${pending.length} migration(s) not run: ${pending.join(', ')}`, { pending });
        }
        const replica = db.replica ? await db.replica() : undefined;
        ctx.body = { status: 'ready', engine: db.engine, migration: applied[applied.length - 1] ?? null, ...(replica ? { replica } : {}) };
      },
    },
  ];
}
