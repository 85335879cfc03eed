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
