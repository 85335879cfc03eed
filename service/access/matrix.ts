import type { RouteDef } from '../http/route';
import { grants, ROLE_TABLE, type Role } from './roles';

export type Who = Role | 'anonymous';
export type Outcome = 'allow' | '401' | '403';

/** The unit each role of the matrix holds (from the access fixture), null for unrestricted roles. */
export interface Holding {
  who: Who;
  /** Where the role acts: its own grid or system. */
  inside: { system: string; code?: string };
  /** A target outside its scope, or null when it has none (unrestricted roles). */
  outside: { system: string; code?: string } | null;
}

/** Routes that read a whole-system stored report whatever they are asked: grid-scoped callers are refused. */
const WHOLE_SYSTEM_REPORTS = new Set(['GET /api/systems/:system/fixes']);

/**
 * The expected outcome of a route for a role, from the role table and the scope rules alone (issue #10),
 * independent of the authorizer's code: the matrix test checks the app against it.
 */
export function expectedOutcome(route: RouteDef, who: Who, where: 'inside' | 'outside'): Outcome {
  if ('public' in route.access) return 'allow';
  const role: Role = who === 'anonymous' ? 'public' : who;
  const denied: Outcome = who === 'anonymous' ? '401' : '403';
  if (!grants(role, route.access.permission)) return denied;
  if (!route.access.scope) return 'allow';
  if (where === 'outside') return denied;
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
