import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { ZodError } from 'zod';
import { AppError } from '../errors';
import { FormatError } from '../formats/errors';
import { CrsError } from '../geometry/crs/index';
import { InputError } from '../kernel/errors';
import type { Logger } from '../logger';
import { setHeader } from './headers';

/**
 * First in the chain: turns AppError into `{ error: { code, message, details } }` with its status,
 * zod errors into 400 `invalid_request`, and anything else into a generic 500 logged with the request id.
 */
export function errorMiddleware(logger: Logger): Middleware {
  return async (ctx, next) => {
    const requestId = requestIdOf(ctx.get('x-request-id'));
    ctx.state.requestId = requestId;
    setHeader(ctx, 'X-Request-Id', requestId);
    try {
      await next();
    } catch (err) {
      if (err instanceof AppError) {
        ctx.status = err.status;
        ctx.body = { error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } };
        if (err.status >= 500) logger.error({ requestId, err: err.message }, 'request failed');
      } else if (err instanceof InputError || err instanceof FormatError || err instanceof CrsError) {
        // Bad input found below the HTTP layer (geometry, formats, CRS): one mapping for every route.
        const details = err instanceof InputError ? err.details : undefined;
        ctx.status = 400;
        ctx.body = { error: { code: err.code, message: err.message, ...(details === undefined ? {} : { details }) } };
      } else if (err instanceof ZodError) {
        const details = err.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
        ctx.status = 400;
        ctx.body = {
          error: {
            code: 'invalid_request',
            message: details.map((d) => `${d.field || '(request)'}: ${d.message}`).join('; '),
            details,
          },
        };
      } else {
        logger.error({ requestId, err: (err as Error)?.stack ?? String(err) }, 'unexpected error');
        ctx.status = 500;
        ctx.body = { error: { code: 'internal_error', message: `internal error (request ${requestId})` } };
      }
    }
  };
}

/** The request's id: the caller's (to follow a request through a proxy) if it is short and plain, else a new one. */
export function requestIdOf(given: string | undefined): string {
  return given !== undefined && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
}

export function accessLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const start = performance.now();
    await next();
    const route = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : undefined;
    logRequest(logger, ctx.state.requestId, ctx.method, ctx.url, route, ctx.status, start);
  };
}

/** The access log's line (debug level), for the Koa chain and the fast path alike. */
export function logRequest(logger: Logger, requestId: string, method: string, url: string, route: string | undefined, status: number, start: number): void {
  logger.debug({ requestId, method, url, route, status, ms: Math.round(performance.now() - start) }, 'request');
}
