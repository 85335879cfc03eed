import { describe, expect, it } from 'vitest';
import { planOperations, type PlanGrid } from './operations';
import { findingId, lowerPlan, moveTable } from './proof';
import { allowedActions, nextStatus, STATUSES, type ChangesetAction } from './workflow';

const square = (x: number, y: number, d = 1) => ({ type: 'Polygon' as const, coordinates: [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]] });
const grid = (code: string, parentCode: string | null, level: string, x: number): PlanGrid => ({
  code,
  parentCode,
  level,
  name: code,
  geometry: square(x, 0),
  properties: {},
  origin: code,
  touched: false,
});
const ctx = { levels: new Map([['street', 1], ['grid', 2]]), existsElsewhere: () => false, retired: new Set(['OLD']) };
const base = () => [grid('S', null, 'street', 0), grid('A', 'S', 'grid', 0), grid('B', 'S', 'grid', 1)];

describe('the changeset workflow', () => {
  it.each<[string, ChangesetAction[]]>([
    ['draft', ['edit', 'submit', 'rebase']],
    ['submitted', ['withdraw', 'approve', 'reject', 'rebase']],
    ['approved', ['rebase', 'apply']],
    ['rejected', ['reopen']],
    ['applied', []],
  ])('%s allows %j', (status, actions) => {
    expect(allowedActions(status as (typeof STATUSES)[number])).toEqual(actions);
  });

  it('voids an approval on rebase and ends at applied', () => {
    expect(nextStatus('approved', 'rebase')).toBe('submitted');
    expect(nextStatus('approved', 'apply')).toBe('applied');
    expect(nextStatus('draft', 'apply')).toBeNull();
  });
});

describe('planning operations', () => {
  it('splits, then lowers to writes parents first and removals last, each expecting its base version', () => {
    const plan = planOperations(base(), [{ op: 'split', code: 'A', into: [{ type: 'Feature', properties: { code: 'A1' }, geometry: square(0, 0, 0.5) }, { type: 'Feature', properties: { code: 'A2' }, geometry: square(0.5, 0, 0.5) }] }], ctx);
    expect(plan.removed).toEqual(['A']);
    expect(plan.changed.map((g) => [g.code, g.parentCode, g.level, g.origin])).toEqual([
      ['A1', 'S', 'grid', null],
      ['A2', 'S', 'grid', null],
    ]);
    expect(lowerPlan(plan, { A: 4 }).map((o) => `${o.op}:${o.op === 'create' ? o.feature.properties!.code : o.code}${o.op === 'remove' ? `@${o.expectedVersion}` : ''}`)).toEqual([
      'create:A1',
      'create:A2',
      'remove:A@4',
    ]);
  });

  it('recodes a parent and carries its children along', () => {
    const plan = planOperations(base(), [{ op: 'rename', code: 'S', newCode: 'T' }], ctx);
    expect(plan.recoded).toEqual([{ from: 'S', to: 'T' }]);
    expect(plan.grids.get('A')!.parentCode).toBe('T');
  });

  it.each([
    ['an unknown grid', [{ op: 'redraw' as const, grids: [{ type: 'Feature' as const, properties: { code: 'Z' }, geometry: square(0, 0) }] }], 'grid Z does not exist'],
    ['a retired code', [{ op: 'rename' as const, code: 'A', newCode: 'OLD' }], 'retired'],
    ['a code in use', [{ op: 'rename' as const, code: 'A', newCode: 'B' }], 'already in use'],
    ['a parent left without replacement', [{ op: 'remove' as const, code: 'S', giveTo: ['A'], grids: [{ type: 'Feature' as const, properties: { code: 'A' }, geometry: square(0, 0, 2) }] }], 'without its parent S'],
    ['non-siblings merged', [{ op: 'merge' as const, codes: ['S', 'A'], into: { code: 'M' }, geometry: square(0, 0) }], 'not siblings'],
  ])('refuses %s', (_what, operations, message) => {
    expect(() => planOperations(base(), operations, ctx)).toThrow(message);
  });
});

describe('proof helpers', () => {
  it('ids findings independently of the order of their grids, and groups moves by from → to', () => {
    expect(findingId({ kind: 'gap', parent: 'S', grids: ['B', 'A'] })).toBe('gap:S:A+B');
    expect(
      moveTable([
        { from: 'A', to: 'B', households: 2, population: 5 },
        { from: 'B', to: null, households: 1, population: 1 },
        { from: 'A', to: 'B', households: 3, population: 4 },
      ]),
    ).toEqual([
      { from: 'A', to: 'B', addresses: 2, households: 5, population: 9 },
      { from: 'B', to: null, addresses: 1, households: 1, population: 1 },
    ]);
  });
});
