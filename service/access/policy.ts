import type { Caller, ScopeRoot } from '../kernel/scope';
import { grants, ROLE_TABLE, type Role } from './roles';

/** One role held over one part of the territory: everything, a system, or a grid's subtree. */
export interface RoleScope {
  role: Role;
  system?: string;
  code?: string;
}

export interface Principal {
  /** null for anonymous requests, which act as `public`. */
  user: { id: number; username: string } | null;
  pairs: RoleScope[];
  via: 'anonymous' | 'session' | 'bearer' | 'api-key' | 'internal';
}


export interface Target {
  system: string;
  code?: string;
}

export type Decision =
  | { allow: true; caller: Caller }
  | { allow: false; status: 401 | 403; code: 'auth_required' | 'forbidden' | 'out_of_scope'; message: string };

/**
 * Whether `principal` may use `permission` on `target` (issue #10). `ancestry` is the target grid with
 * every ancestor code (the grid first), looked up only when a grid-scoped pair of the target's system
 * needs it. A pair scoped to a grid covers a system-wide target only for reads (`readOnly`): the answer
 * is then filtered by the scope; a system-wide write from a grid-scoped pair is out of scope.
 */
export function decide(principal: Principal, permission: string, target: Target | undefined, readOnly: boolean, ancestry: readonly string[] | undefined): Decision {
  const granting = principal.pairs.filter((p) => grants(p.role, permission));
  if (granting.length === 0) {
    if (principal.user === null) return { allow: false, status: 401, code: 'auth_required', message: `this route needs credentials (permission ${permission})` };
    return { allow: false, status: 403, code: 'forbidden', message: `none of your roles grants ${permission}` };
  }
  const covering = target ? granting.filter((p) => covers(p, target, readOnly, ancestry)) : granting;
  if (covering.length === 0) {
    return { allow: false, status: principal.user === null ? 401 : 403, code: principal.user === null ? 'auth_required' : 'out_of_scope', message: `${describe(target!)} is outside the area you may act on` };
  }
  return { allow: true, caller: callerOf(principal, covering) };
}

/** Whether a pair reaches the target; needs `ancestry` only for grid-scoped pairs on the target's system. */
export function covers(pair: RoleScope, target: Target, readOnly: boolean, ancestry: readonly string[] | undefined): boolean {
  if (pair.system === undefined) return true;
  if (pair.system !== target.system) return false;
  if (pair.code === undefined) return true;
  if (target.code === undefined) return readOnly;
  return (ancestry ?? [target.code]).includes(pair.code);
}

/** Whether `decide` will need the ancestry of the target grid. */
export function needsAncestry(principal: Principal, permission: string, target: Target | undefined): boolean {
  return target?.code !== undefined && principal.pairs.some((p) => p.system === target.system && p.code !== undefined && p.code !== target.code && grants(p.role, permission));
}

function callerOf(principal: Principal, pairs: RoleScope[]): Caller {
  const roles = [...new Set(principal.pairs.map((p) => p.role))];
  const permissions = [...new Set(roles.flatMap((r) => ROLE_TABLE[r].permissions))];
  const personalData = pairs.some((p) => ROLE_TABLE[p.role].personalData);
  if (pairs.some((p) => p.system === undefined)) return { user: principal.user, roles, permissions, scope: 'all', personalData };
  const roots: ScopeRoot[] = [];
  for (const p of pairs) {
    if (!roots.some((r) => r.system === p.system && r.code === p.code)) roots.push(p.code === undefined ? { system: p.system! } : { system: p.system!, code: p.code });
  }
  return { user: principal.user, roles, permissions, scope: roots, personalData };
}

const describe = (t: Target) => (t.code === undefined ? `system "${t.system}"` : `grid "${t.code}" of system "${t.system}"`);
