import type { Level } from '../kernel/types';
import type { Plan, PlanGrid } from './operations';
import type { AddressMove } from './proof';

/** A grid outside its level's size rule (DOMAIN.md "Size and staffing rules": households per grid, fan-out). */
export interface SizeFinding {
  id: string;
  rule: 'households' | 'children';
  code: string;
  level: string;
  expected: { min?: number; max?: number };
  actual: number;
  message: string;
  /** False when the grid (by its code before) already broke the same rule before the change. */
  new: boolean;
}

type Range = { min?: number; max?: number } | undefined;

function check(rule: SizeFinding['rule'], g: { code: string; level: string }, level: Level | undefined, range: Range, actual: number, what: string): Omit<SizeFinding, 'new'> | null {
  if (!range || !level) return null;
  const tooFew = range.min !== undefined && actual < range.min;
  const tooMany = range.max !== undefined && actual > range.max;
  if (!tooFew && !tooMany) return null;
  return {
    id: `${rule}:${g.code}`,
    rule,
    code: g.code,
    level: g.level,
    expected: range,
    actual,
    message: `grid ${g.code} would have ${actual} ${what}; level ${level.name} (${level.key}) expects ${range.min ?? 0}–${range.max ?? '∞'}`,
  };
}

/** Whether `code` is `root` or lies under it, walking parent links known in `grids`. */
function under(grids: Map<string, { parentCode: string | null }>, code: string | null, root: string): boolean {
  const seen = new Set<string>();
  for (let c = code; c !== null && !seen.has(c); c = grids.get(c)?.parentCode ?? null) {
    if (c === root) return true;
    seen.add(c);
  }
  return false;
}

/**
 * The size rules of the grids a changeset touches and of the parents whose children it changes, after
 * the change: households rolled up from today's counts plus the address moves of the impact, and the
 * number of child grids. Each finding says whether the grid already broke the rule before.
 * @param plan the planned grids
 * @param base the stored grids the plan started from
 * @param checked codes after the change to check (touched grids and family parents)
 * @param households today's rolled-up households per stored code
 * @param moves the impact's move table (from a stored leaf to a planned grid)
 * @param levels the system's levels
 */
export function sizeFindings(plan: Plan, base: Map<string, PlanGrid>, checked: string[], households: Map<string, number>, moves: AddressMove[], levels: Level[]): SizeFinding[] {
  const levelOf = new Map(levels.map((l) => [l.key, l]));
  const childrenIn = (grids: Iterable<PlanGrid>) => {
    const n = new Map<string, number>();
    for (const g of grids) if (g.parentCode !== null) n.set(g.parentCode, (n.get(g.parentCode) ?? 0) + 1);
    return n;
  };
  const childrenBefore = childrenIn(base.values());
  const childrenAfter = childrenIn(plan.grids.values());
  const before = new Set<string>();
  for (const g of base.values()) {
    if (!checked.some((c) => plan.grids.get(c)?.origin === g.code)) continue;
    for (const f of [
      check('households', g, levelOf.get(g.level), levelOf.get(g.level)?.households, households.get(g.code) ?? 0, 'households'),
      check('children', g, levelOf.get(g.level), levelOf.get(g.level)?.children, childrenBefore.get(g.code) ?? 0, 'child grids'),
    ]) if (f) before.add(`${f.rule}:${g.code}`);
  }
  const out: SizeFinding[] = [];
  for (const code of checked) {
    const g = plan.grids.get(code);
    if (!g) continue;
    const level = levelOf.get(g.level);
    let h = g.origin === null ? 0 : households.get(g.origin) ?? 0;
    for (const m of moves) {
      if (under(plan.grids, m.to, g.code)) h += m.households;
      if (g.origin !== null && under(base, m.from, g.origin)) h -= m.households;
    }
    for (const f of [check('households', g, level, level?.households, h, 'households'), check('children', g, level, level?.children, childrenAfter.get(g.code) ?? 0, 'child grids')]) {
      if (f) out.push({ ...f, new: g.origin === null || !before.has(`${f.rule}:${g.origin}`) });
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}
