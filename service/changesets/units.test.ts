import { describe, expect, it } from 'vitest';
import { planOperations, type PlanGrid } from './operations';
import { changesetPieces, datedPieces, findingId, lowerPlan, moveTable } from './proof';
import { operationTrail } from './record';
import { sizeFindings } from './size-rules';
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

describe('the size rules after a change', () => {
  const levels = [
    { key: 'street', name: '街道', order: 1, children: { min: 2, max: 2 } },
    { key: 'grid', name: '网格', order: 2, households: { min: 10, max: 20 } },
  ];
  const feature = (code: string, x: number) => ({ type: 'Feature' as const, properties: { code }, geometry: square(x, 0, 0.5) });

  it('adds the households that move in, takes those that move out, and marks what was already broken', () => {
    const b = base();
    const plan = planOperations(b, [{ op: 'redraw', grids: [feature('A', 0), feature('B', 1)] }], ctx);
    const households = new Map([['S', 30], ['A', 25], ['B', 5]]);
    const findings = sizeFindings(plan, new Map(b.map((g) => [g.code, g])), ['A', 'B', 'S'], households, [{ from: 'A', to: 'B', addresses: 2, households: 8, population: 20 }], levels);
    // A: 25 → 17 (was too many, now fine); B: 5 → 13 (was too few, now fine); S keeps 30 and two children.
    expect(findings).toEqual([]);
    const worse = sizeFindings(plan, new Map(b.map((g) => [g.code, g])), ['A', 'B', 'S'], households, [{ from: 'B', to: 'A', addresses: 1, households: 3, population: 5 }], levels);
    expect(worse.map((f) => [f.id, f.actual, f.new])).toEqual([
      ['households:A', 28, false],
      ['households:B', 2, false],
    ]);
  });

  it('counts child grids after a split: a new finding on the parent, new grids always new', () => {
    const b = base();
    const plan = planOperations(b, [{ op: 'split', code: 'B', into: [feature('B', 1), feature('C', 1.5)] }], ctx);
    const findings = sizeFindings(plan, new Map(b.map((g) => [g.code, g])), ['B', 'C', 'S'], new Map([['B', 12], ['A', 12], ['S', 24]]), [], levels);
    expect(findings.map((f) => [f.id, f.actual, f.new])).toEqual([
      ['children:S', 3, true],
      ['households:C', 0, true],
    ]);
  });
});

describe('the change record trail', () => {
  const f = (code: string) => ({ type: 'Feature' as const, properties: { code }, geometry: square(0, 0) });
  it('follows codes through splits, merges, adds and recodes to the code each grid had before', () => {
    const trail = operationTrail([
      { op: 'split', code: 'A', into: [f('A'), f('A2')] },
      { op: 'rename', code: 'A2', newCode: 'A3' },
      { op: 'merge', codes: ['B', 'C'], into: { code: 'BC' } },
      { op: 'add', grids: [f('N')] },
    ]);
    expect(Object.fromEntries([...trail].map(([code, t]) => [code, `${t.origin}:${t.ops.join('+')}`]))).toEqual({
      A: 'A:split',
      A3: 'A:split+rename',
      B: 'B:merge',
      C: 'C:merge',
      BC: 'null:merge',
      N: 'null:add',
    });
  });
});

describe('the pieces of a diff layer', () => {
  const strip = square(1, 0, 0.2);
  it('names a changeset’s pieces by what happened to the grid: came, went or changed', () => {
    const pairs = [
      { code: 'A', before: square(0, 0), after: square(0, 0) },
      { code: 'B', before: square(1, 0), after: square(1.2, 0) },
      { code: 'N', before: null, after: square(3, 0) },
      { code: 'G', before: square(5, 0), after: null },
    ];
    const parts = [
      { code: 'A', change: 'added' as const, area_m2: 1, geometry: strip },
      { code: 'B', change: 'removed' as const, area_m2: 1, geometry: strip },
      { code: 'N', change: 'added' as const, area_m2: 9, geometry: square(3, 0) },
      { code: 'G', change: 'removed' as const, area_m2: 9, geometry: square(5, 0) },
    ];
    expect(changesetPieces(pairs, parts).map((p) => `${p.code}:${p.change}:${p.grid}`)).toEqual(['A:added:changed', 'B:removed:changed', 'N:added:added', 'G:removed:removed']);
  });

  it('takes the code a grid had for the area it lost, and the code it has for the area it gained', () => {
    const pieces = datedPieces([
      { change: 'changed', codeBefore: 'OLD', codeAfter: 'NEW', added_m2: 2, removed_m2: 3, added: strip, removed: square(9, 9) },
      { change: 'changed', codeBefore: 'C', codeAfter: 'C', added_m2: 0, removed_m2: 0, added: null, removed: null },
    ]);
    expect(pieces.map((p) => `${p.code}:${p.change}:${p.grid}:${p.area_m2}`)).toEqual(['NEW:added:changed:2', 'OLD:removed:changed:3']);
  });
});
