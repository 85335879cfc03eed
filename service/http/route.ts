import type { IncomingHttpHeaders } from 'node:http';
import type { Context, Middleware } from 'koa';
import type { Router } from '@koa/router';
import type { z } from 'zod';
import type { Caller } from '../kernel/scope';

/**
 * What a route touches, so the caller's area scope can be checked before the handler runs: one grid of a
 * system, a whole system, or undefined when the route filters its answer by scope itself (lists, tiles,
 * statistics).
 */
export interface ScopeTarget {
  system: string;
  code?: string;
}

/**
 * Who may call a route (issue #10). Every route declares it in its feature's routes file, next to its
 * path; the access feature's authorizer enforces it, the OpenAPI document and the role × route matrix
 * are generated from the same table.
 * - `public`: anyone, no credentials (the map page, published tiles, login);
 * - `permission`: a named permission (`<feature>:<action>`, e.g. `grids:write`) that one of the caller's
 *   role-scope pairs must grant; `scope` names the grid the request acts on, checked against that pair.
 */
export type RouteAccess = { public: true } | { permission: string; scope?: (ctx: Context) => ScopeTarget | undefined };

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** One route of the API: its path, what it does, who may call it, the shape of its input, and its handler. */
export interface RouteDef {
  method: HttpMethod;
  /** A @koa/router path, e.g. `/api/systems/:system/grids/:code`. */
  path: string;
  summary: string;
  /** OpenAPI tag: the feature the route belongs to. */
  tag: string;
  access: RouteAccess;
  /** zod schemas of the input, used for the OpenAPI document; handlers parse with them too. */
  request?: { params?: z.ZodType; query?: z.ZodType; body?: z.ZodType; contentTypes?: string[] };
  handler: Middleware;
  /** A cheaper way to answer some requests of a GET route, before Koa (http/fast-path.ts). */
  fast?: FastRoute;
}

/** A response as the fast path sends it: headers in the order the Koa path sets them. */
export interface FastAnswer {
  status: number;
  headers: [string, string][];
  body: Uint8Array | null;
}

/**
 * How a GET route answers, without Koa, the requests it can answer cheaply (issue #15: a warm tile's
 * p99 at 100 clients), with exactly the status, headers and bytes its handler would send. `match` reads
 * the URL (null: not this route, or not simply); `answer` gets what it matched and the caller the
 * route's authorizer admitted, and returns null when the handler must do it (a cache miss, a layer
 * looked up). Every request not answered goes to Koa as it came.
 */
export interface FastRoute {
  match(url: string): unknown;
  answer(matched: unknown, caller: Caller, headers: IncomingHttpHeaders): FastAnswer | null;
}

/** Builds the middleware that enforces a route's access declaration; supplied by the access feature. */
export type Authorizer = (route: RouteDef) => Middleware;

/** Registers a feature's routes on a router, each behind its authorizer. */
export function mountRoutes(router: Router, routes: readonly RouteDef[], authorize: Authorizer): Router {
  for (const route of routes) router[route.method](route.path, authorize(route), route.handler);
  return router;
}
