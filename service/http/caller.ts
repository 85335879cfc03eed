import type { Context } from 'koa';
import { AppError } from '../errors';
import type { Caller } from '../kernel/scope';

/**
 * The caller the authorizer admitted (ctx.state.caller). Fails closed: a handler reached without an
 * authorizer having run is a wiring error, never an unrestricted answer.
 */
export function callerOf(ctx: Context): Caller {
  const caller = ctx.state.caller as Caller | undefined;
  if (!caller) throw new AppError(500, 'caller_unknown', 'no authorizer ran for this route');
  return caller;
}
