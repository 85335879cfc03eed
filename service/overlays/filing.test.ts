import { describe, expect, it } from 'vitest';
import { filingRates, parseLedger } from './filing';

const records = (lines: string[][]) => lines.map((values, k) => ({ row: k + 1, values }));
const grids = new Set(['A01', 'A02']);

describe('parseLedger', () => {
  it('reads English or Chinese columns and categories', () => {
    const { rows, errors } = parseLedger(records([['网格编码', '类别', '已建档', '总数'], ['A01', '城镇居民', '120', '300'], ['A01', '商户', '5', ''], ['A02', 'rural-households', '80', '100']]), grids);
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      { grid: 'A01', category: 'urban-residents', filed: 120, total: 300 },
      { grid: 'A01', category: 'merchants', filed: 5, total: null },
      { grid: 'A02', category: 'rural-households', filed: 80, total: 100 },
    ]);
  });

  it('lists every bad row with its row number and field', () => {
    const { errors } = parseLedger(records([['grid', 'category', 'filed', 'total'], ['X9', '居民', '1', '2'], ['A01', '游客', '1', '2'], ['A01', '居民', 'many', '2'], ['A02', '农户', '9', '3'], ['A02', '农户', '1', '3']]), grids);
    expect(errors.map((e) => [e.row, e.field])).toEqual([
      [2, 'grid'],
      [3, 'category'],
      [4, 'filed'],
      [5, 'filed'],
      [6, 'category'],
    ]);
    expect(parseLedger(records([['code', 'filed']]), grids).errors.map((e) => e.field)).toEqual(['category']);
  });
});

describe('filingRates', () => {
  it('rates each grid and category against the year, totals from the ledger or else the register', () => {
    const report = filingRates(
      'bank',
      [
        { code: 'A01', name: '一格', areaType: 'urban' },
        { code: 'A02', name: '二格', areaType: 'rural' },
      ],
      [
        { grid: 'A01', category: 'urban-residents', filed: 100, total: 300 },
        { grid: 'A01', category: 'merchants', filed: 6, total: null },
        { grid: 'A02', category: 'rural-households', filed: 75, total: null },
      ],
      new Map([
        ['A01', { households: 280, businesses: 10 }],
        ['A02', { households: 100, businesses: 0 }],
      ]),
      1,
    );
    expect(report.grids[0].categories['urban-residents']).toMatchObject({ filed: 100, total: 300, rate: 0.3333, target: 0.4, source: 'ledger', met: false });
    expect(report.grids[0].categories.merchants).toMatchObject({ total: 10, rate: 0.6, source: 'register', met: true });
    expect(report.grids[1].categories['rural-households']).toMatchObject({ rate: 0.75, target: 0.7, met: true });
    expect(report.belowTarget.map((b) => [b.code, b.category])).toEqual([['A01', 'urban-residents']]);
    expect(report.summary.categories['urban-residents']).toMatchObject({ filed: 100, total: 300, met: false });
    const year2 = filingRates('bank', [{ code: 'A02', name: '二格', areaType: 'rural' }], [{ grid: 'A02', category: 'rural-households', filed: 75, total: 100 }], new Map(), 2);
    expect(year2.belowTarget).toHaveLength(1);
  });
});
