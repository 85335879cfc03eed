/**
 * The part of the territory a caller may see or act on (issue #10): the subtrees under a set of grids,
 * each named by system and code, or `'all'` for unrestricted roles. Stores filter lists, counts, reports
 * and tiles by it; the access feature computes it from the caller's role-scope pairs.
 */
export type AreaScope = 'all' | readonly ScopeRoot[];

export interface ScopeRoot {
  system: string;
  /** The grid whose subtree is in scope; absent = the whole system (e.g. a bank's own system). */
  code?: string;
}

export const UNRESTRICTED: AreaScope = 'all';

/**
 * Who is asking, as the access feature's authorizer leaves it for handlers (issue #10): the permissions
 * their roles hold, the scope the route's answer is filtered by, and whether personal data reaches them.
 */
export interface Caller {
  user: { id: number; username: string } | null;
  roles: string[];
  permissions: string[];
  scope: AreaScope;
  personalData: boolean;
}

/** Whether any part of `system` is in scope. */
export const seesSystem = (scope: AreaScope, system: string): boolean => scope === 'all' || scope.some((r) => r.system === system);

/** Whether the whole of `system` is in scope (no grid-level restriction). */
export const seesWholeSystem = (scope: AreaScope, system: string): boolean => scope === 'all' || scope.some((r) => r.system === system && r.code === undefined);

/** The grid roots of `system` in scope: null when the whole system is, [] when none of it is. */
export function rootsIn(scope: AreaScope, system: string): string[] | null {
  if (seesWholeSystem(scope, system)) return null;
  return (scope as readonly ScopeRoot[]).filter((r) => r.system === system && r.code !== undefined).map((r) => r.code!);
}
