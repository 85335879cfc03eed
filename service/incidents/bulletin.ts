import { toCsv } from '../formats/csv';
import type { IncidentStats } from './service';

/**
 * The monthly or quarterly bulletin (月报/季报) as CSV: one row per unit and a total row, the indicators
 * DOMAIN.md names (closure rate by unit, overdue cases, red/yellow cards). zh-CN headers by default.
 */
const HEADERS = {
  'zh-CN': ['单位编码', '单位名称', '上报数', '立案数', '派遣数', '结案数', '结案率', '按期结案率', '返工率', '延期率', '超期数', '黄牌数', '红牌数', '平均处置时长(工作小时)', 'P90处置时长(工作小时)'],
  en: ['unit code', 'unit name', 'reported', 'registered', 'dispatched', 'closed', 'closure rate', 'on-time closure rate', 'rework rate', 'postponement rate', 'overdue', 'yellow cards', 'red cards', 'mean handling (working hours)', 'p90 handling (working hours)'],
};

export function bulletinCsv(stats: { total: IncidentStats; rows: IncidentStats[] }, lang: 'zh-CN' | 'en'): string {
  const pct = (v: number | null) => (v === null ? '' : `${(v * 100).toFixed(2)}%`);
  const hours = (v: number | null) => (v === null ? '' : v.toFixed(1));
  const line = (r: IncidentStats, code: string, name: string) => [
    code,
    name,
    r.reported,
    r.registered,
    r.dispatched,
    r.closed,
    pct(r.closureRate),
    pct(r.onTimeClosureRate),
    pct(r.reworkRate),
    pct(r.postponementRate),
    r.overdue,
    r.yellow,
    r.red,
    hours(r.meanHandlingHours),
    hours(r.p90HandlingHours),
  ];
  const rows = stats.rows.map((r) => line(r, r.key ?? '', r.name ?? ''));
  rows.push(line(stats.total, '', lang === 'en' ? 'total' : '合计'));
  return toCsv(HEADERS[lang], rows);
}

/** A bulletin period in Beijing time: `2026-11` (a month) or `2026-Q4` (a quarter). */
export function bulletinPeriod(period: string): { from: Date; to: Date } | null {
  const month = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(period);
  const quarter = /^(\d{4})-Q([1-4])$/.exec(period);
  if (!month && !quarter) return null;
  const year = Number((month ?? quarter)![1]);
  const first = month ? Number(month[2]) : (Number(quarter![2]) - 1) * 3 + 1;
  const months = month ? 1 : 3;
  const start = (y: number, m: number) => new Date(`${y + Math.floor((m - 1) / 12)}-${String(((m - 1) % 12) + 1).padStart(2, '0')}-01T00:00:00+08:00`);
  return { from: start(year, first), to: start(year, first + months) };
}
