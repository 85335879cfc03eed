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
    // A caller's id is kept (to follow a request through a proxy) only if it is short and plain.
    const given = ctx.get('x-request-id');
    const requestId = /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
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

export function accessLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const start = performance.now();
    await next();
    const route = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : undefined;
    logger.debug({ requestId: ctx.state.requestId, method: ctx.method, url: ctx.url, route, status: ctx.status, ms: Math.round(performance.now() - start) }, 'request');
  };
}
