import type { Context } from 'koa';

/**
 * Sets a response header as `ctx.set(name, value)` does for a string value, without its cost: Koa 3's
 * `response.set` builds four arrays and a closure per call (`[[field, val]]`, a map and a forEach), ~700
 * bytes of garbage a header. On the paths that run for every request (the common middleware, tiles:
 * a dozen headers each) that was a quarter of what a warm tile allocates, and its scavenges set the
 * tail latency (issue #15: warm tile p99 < 20 ms at 100 clients).
 */
export function setHeader(ctx: Context, name: string, value: string): void {
  if (!ctx.res.headersSent) ctx.res.setHeader(name, value);
}
