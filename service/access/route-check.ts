import type { RouteDef } from '../http/route';
import { PERSONAL_READS } from './authorizer';
import { isPermission } from './roles';

/**
 * The build-time check of issue #10 ("a route without one fails the build"): every route declares its
 * access, as public or with a permission of the role table. Run over the app's tables by access.test.ts.
 * A route answering before Koa (`fast`, http/fast-path.ts) must not be a personal read: the authorizer
 * audits those after the handler, which the fast path never runs.
 */
export function routeTableProblems(routes: readonly RouteDef[]): string[] {
  const problems: string[] = [];
  for (const r of routes) {
    const name = `${r.method.toUpperCase()} ${r.path}`;
    const access = (r as Partial<RouteDef>).access as RouteDef['access'] | undefined;
    if (!access || typeof access !== 'object') problems.push(`${name}: no access declaration`);
    else if ('public' in access) {
      if (access.public !== true) problems.push(`${name}: public must be true`);
    } else if (!('permission' in access) || !isPermission(access.permission)) {
      problems.push(`${name}: permission "${(access as { permission?: string }).permission}" is not in the role table (access/roles.ts)`);
    } else if (r.fast && PERSONAL_READS.has(access.permission)) {
      problems.push(`${name}: a personal read (${access.permission}) cannot answer before Koa (fast): its audit would be skipped`);
    }
  }
  return problems;
}
