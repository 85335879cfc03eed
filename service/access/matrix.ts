import type { RouteDef } from '../http/route';
import { grants, ROLE_TABLE, type Role } from './roles';

export type Who = Role | 'anonymous';
export type Outcome = 'allow' | '401' | '403';

/** Routes that read a whole-system stored report whatever they are asked: grid-scoped callers are refused. */
const WHOLE_SYSTEM_REPORTS = new Set(['GET /api/systems/:system/fixes']);

/**
 * The expected outcome of a route for a role, from the role table and the scope rules alone (issue #10),
 * independent of the authorizer's code: the matrix test checks the app against it. `covered` says whether
 * the role's scope reaches what the route's scope declaration names (worked out by the test from its
 * fixture's tree).
 */
export function expectedOutcome(route: RouteDef, who: Who, covered: boolean): Outcome {
  if ('public' in route.access) return 'allow';
  const role: Role = who === 'anonymous' ? 'public' : who;
  const denied: Outcome = who === 'anonymous' ? '401' : '403';
  if (!grants(role, route.access.permission)) return denied;
  if (!route.access.scope) return 'allow';
  if (!covered) return denied;
  if (ROLE_TABLE[role].scope === 'grid' && WHOLE_SYSTEM_REPORTS.has(`${route.method.toUpperCase()} ${route.path}`)) return denied;
  return 'allow';
}

export const outcomeOf = (status: number): Outcome => (status === 401 ? '401' : status === 403 ? '403' : 'allow');

/** The matrix as a Markdown table: ✓ = passes the authorizer (the answer is then filtered by scope). */
export function matrixMarkdown(rows: { route: RouteDef; cells: { inside: Outcome; outside: Outcome | null }[] }[], who: Who[]): string {
  const mark = (o: Outcome) => (o === 'allow' ? '✓' : o);
  const lines = [`| route | permission | ${who.join(' | ')} |`, `|---|---|${who.map(() => ':-:').join('|')}|`];
  for (const { route, cells } of rows) {
    const permission = 'public' in route.access ? 'public' : `${route.access.permission}${route.access.scope ? ' (scoped)' : ''}`;
    lines.push(`| ${route.method.toUpperCase()} \`${route.path}\` | ${permission} | ${cells.map((c) => (c.outside === null || c.outside === c.inside ? mark(c.inside) : `${mark(c.inside)} / ${mark(c.outside)}`)).join(' | ')} |`);
  }
  return lines.join('\n');
}
