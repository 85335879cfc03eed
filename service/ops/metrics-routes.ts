import type { Middleware } from 'koa';
import { ZodError } from 'zod';
import { AppError } from '../errors';
import type { RouteDef } from '../http/route';
import { httpDuration, registry } from './metrics';

function statusOf(err: unknown): number {
  if (err instanceof AppError) return err.status;
  if (err instanceof ZodError) return 400;
  return 500;
}

/**
 * Times every request under the route pattern the router matched (`/api/systems/:system/grids/:code`), or
 * `unmatched`: label values stay few however many URLs clients send. Mount before errorMiddleware (outermost)
 * so the status recorded is the one sent.
 */
export function httpMetrics(): Middleware {
  return async (ctx, next) => {
    const end = httpDuration.startTimer();
    let status: number | undefined;
    try {
      await next();
    } catch (err) {
      status = statusOf(err);
      throw err;
    } finally {
      const route = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : 'unmatched';
      end({ method: ctx.method, route, status: String(status ?? ctx.status) });
    }
  };
}

/** One request in the same histogram as `httpMetrics`, for requests answered before Koa (http/fast-path.ts). */
export function recordRequest(method: string, route: string, status: number, seconds: number): void {
  httpDuration.observe({ method, route, status: String(status) }, seconds);
}

/** GET /metrics in the Prometheus text format. */
export function metricsRoutes(): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics of this process',
      tag: 'ops',
      // Timings and counts only, but they show the load and the routes: a scraper authenticates with an API key.
      access: { permission: 'ops:metrics' },
      handler: async (ctx) => {
        ctx.type = registry.contentType;
        ctx.body = await registry.metrics();
      },
    },
  ];
}
