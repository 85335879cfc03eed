import type { Context, Middleware } from 'koa';
import type { Router } from '@koa/router';
import type { z } from 'zod';

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
}

/** Builds the middleware that enforces a route's access declaration; supplied by the access feature. */
export type Authorizer = (route: RouteDef) => Middleware;

/** Registers a feature's routes on a router, each behind its authorizer. */
export function mountRoutes(router: Router, routes: readonly RouteDef[], authorize: Authorizer): Router {
  for (const route of routes) router[route.method](route.path, authorize(route), route.handler);
  return router;
}
