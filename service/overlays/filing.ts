/**
 * Filing rates (建档面) of bank grids (issue #13; DOMAIN.md "Bank grids"): ledger counts per grid and
 * category against the households and businesses there, and the targets. Pure: no I/O.
 */
export const FILING_CATEGORIES = ['urban-residents', 'merchants', 'rural-households'] as const;
export type FilingCategory = (typeof FILING_CATEGORIES)[number];

/** Column titles and category names as ledgers write them, in English or Chinese. */
const COLUMNS: Record<'grid' | 'category' | 'filed' | 'total', string[]> = {
  grid: ['grid', 'code', 'grid_code', '网格编码', '网格代码', '网格'],
  category: ['category', '类别', '建档类别', '对象类别'],
  filed: ['filed', '已建档', '建档数', '已建档数'],
  total: ['total', '总数', '应建档数', '户数'],
};
const CATEGORY_NAMES: Record<string, FilingCategory> = {
  'urban-residents': 'urban-residents',
  城镇居民: 'urban-residents',
  城市居民: 'urban-residents',
  居民: 'urban-residents',
  merchants: 'merchants',
  商户: 'merchants',
  '商户/园区/小微企业': 'merchants',
  园区: 'merchants',
  小微企业: 'merchants',
  'rural-households': 'rural-households',
  农户: 'rural-households',
  农村住户: 'rural-households',
};

/** Year 1: urban residents ≥ 40 %, merchants ≥ 50 %, rural households ≥ 70 %; year 2: all 100 % (DOMAIN.md). */
export const DEFAULT_TARGETS: Record<1 | 2, Record<FilingCategory, number>> = {
  1: { 'urban-residents': 0.4, merchants: 0.5, 'rural-households': 0.7 },
  2: { 'urban-residents': 1, merchants: 1, 'rural-households': 1 },
};

export interface LedgerRow {
  grid: string;
  category: FilingCategory;
  filed: number;
  /** null: take the total from the address register. */
  total: number | null;
}

export interface LedgerError {
  row: number;
  field: string;
  message: string;
}

/**
 * Reads ledger records (the first is the header) into rows, collecting every problem with its row and
 * field: unknown grid or category, counts that are not whole numbers, filed above total, repeats.
 *
 * @param records CSV records, header first
 * @param grids codes of the bank's grids
 * @returns the rows and the problems; rows are only usable when there are no problems
 */
export function parseLedger(records: readonly { row: number; values: string[] }[], grids: ReadonlySet<string>): { rows: LedgerRow[]; errors: LedgerError[] } {
  const errors: LedgerError[] = [];
  const header = (records[0]?.values ?? []).map((h) => h.trim().toLowerCase());
  const column = Object.fromEntries(Object.entries(COLUMNS).map(([k, names]) => [k, header.findIndex((h) => names.includes(h))])) as Record<keyof typeof COLUMNS, number>;
  for (const k of ['grid', 'category', 'filed'] as const) {
    if (column[k] < 0) errors.push({ row: records[0]?.row ?? 1, field: k, message: `the header has no ${k} column; expected one of ${COLUMNS[k].join(', ')}` });
  }
  if (errors.length) return { rows: [], errors };
  const rows: LedgerRow[] = [];
  const seen = new Set<string>();
  for (const { row, values } of records.slice(1)) {
    const grid = (values[column.grid] ?? '').trim();
    const categoryText = (values[column.category] ?? '').trim();
    const category = CATEGORY_NAMES[categoryText] ?? CATEGORY_NAMES[categoryText.toLowerCase()];
    const filed = count(values[column.filed]);
    const total = column.total < 0 || (values[column.total] ?? '').trim() === '' ? null : count(values[column.total]);
    const before = errors.length;
    if (!grids.has(grid)) errors.push({ row, field: 'grid', message: `grid "${grid}" is not a grid of this bank` });
    if (!category) errors.push({ row, field: 'category', message: `category "${categoryText}" is not one of ${FILING_CATEGORIES.join(', ')} (城镇居民, 商户, 农户)` });
    if (filed === undefined) errors.push({ row, field: 'filed', message: `filed "${values[column.filed] ?? ''}" is not a whole number ≥ 0` });
    if (total === undefined) errors.push({ row, field: 'total', message: `total "${values[column.total] ?? ''}" is not a whole number ≥ 0` });
    if (typeof filed === 'number' && typeof total === 'number' && filed > total) errors.push({ row, field: 'filed', message: `filed ${filed} is more than total ${total}` });
    const key = `${grid}\u0000${category}`;
    if (category && seen.has(key)) errors.push({ row, field: 'category', message: `grid ${grid} has category ${category} twice` });
    seen.add(key);
    if (errors.length === before) rows.push({ grid, category: category!, filed: filed!, total: total! });
  }
  return { rows, errors };
}

export interface RegisterCounts {
  /** Households of residential addresses in the grid. */
  households: number;
  /** Businesses and organisations in the grid. */
  businesses: number;
}

export interface FilingCell {
  filed: number;
  total: number;
  rate: number | null;
  target: number;
  /** Where the total came from. */
  source: 'ledger' | 'register';
  met: boolean;
}

export interface FilingReport {
  system: string;
  year: 1 | 2;
  targets: Record<FilingCategory, number>;
  summary: { grids: number; withLedger: number; categories: Partial<Record<FilingCategory, { filed: number; total: number; rate: number | null; target: number; met: boolean }>> };
  grids: { code: string; name: string; areaType: 'urban' | 'rural'; categories: Partial<Record<FilingCategory, FilingCell>> }[];
  belowTarget: { code: string; name: string; category: FilingCategory; rate: number | null; target: number }[];
}

/**
 * Filing rates per grid, category and bank against the year's targets. A grid's categories are those in
 * its ledger, plus the register's: residents (urban grid) or rural households (rural grid), and merchants
 * where the register has businesses.
 */
export function filingRates(
  system: string,
  grids: readonly { code: string; name: string; areaType: 'urban' | 'rural' }[],
  ledger: readonly LedgerRow[],
  register: ReadonlyMap<string, RegisterCounts>,
  year: 1 | 2,
  targets: Record<FilingCategory, number> = DEFAULT_TARGETS[year],
): FilingReport {
  const byGrid = new Map<string, LedgerRow[]>();
  for (const r of ledger) byGrid.set(r.grid, [...(byGrid.get(r.grid) ?? []), r]);
  const totals = new Map<FilingCategory, { filed: number; total: number }>();
  const belowTarget: FilingReport['belowTarget'] = [];
  const rows = grids.map((grid) => {
    const counts = register.get(grid.code) ?? { households: 0, businesses: 0 };
    const fromRegister: Partial<Record<FilingCategory, number>> = { [grid.areaType === 'rural' ? 'rural-households' : 'urban-residents']: counts.households };
    if (counts.businesses > 0) fromRegister.merchants = counts.businesses;
    const own = byGrid.get(grid.code) ?? [];
    const categories: Partial<Record<FilingCategory, FilingCell>> = {};
    for (const category of FILING_CATEGORIES) {
      const entry = own.find((r) => r.category === category);
      const registered = fromRegister[category];
      if (!entry && registered === undefined) continue;
      const filed = entry?.filed ?? 0;
      const total = entry?.total ?? registered ?? 0;
      const rate = total > 0 ? round4(Math.min(1, filed / total)) : null;
      const met = rate === null || rate >= targets[category];
      categories[category] = { filed, total, rate, target: targets[category], source: entry?.total != null ? 'ledger' : 'register', met };
      const sum = totals.get(category) ?? { filed: 0, total: 0 };
      totals.set(category, { filed: sum.filed + filed, total: sum.total + total });
      if (!met) belowTarget.push({ code: grid.code, name: grid.name, category, rate, target: targets[category] });
    }
    return { code: grid.code, name: grid.name, areaType: grid.areaType, categories };
  });
  return {
    system,
    year,
    targets,
    summary: {
      grids: grids.length,
      withLedger: grids.filter((g) => byGrid.has(g.code)).length,
      categories: Object.fromEntries(
        [...totals].map(([category, { filed, total }]) => {
          const rate = total > 0 ? round4(Math.min(1, filed / total)) : null;
          return [category, { filed, total, rate, target: targets[category], met: rate === null || rate >= targets[category] }];
        }),
      ),
    },
    grids: rows,
    belowTarget,
  };
}

function count(text: string | undefined): number | undefined {
  const t = (text ?? '').trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

const round4 = (n: number) => Math.round(n * 1e4) / 1e4;
