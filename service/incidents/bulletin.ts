import { toCsv } from '../formats/csv';
import { writeXlsx } from '../formats/xlsx';
import type { IncidentStats } from './service';

/**
 * The monthly or quarterly bulletin (月报/季报, DOMAIN.md "Incidents": totals, closed, closure rate by unit,
 * overdue cases, red/yellow cards) in three forms over one table: CSV, an XLSX workbook and a printable
 * HTML page. One row per unit and a total row; zh-CN by default, English on request.
 */
export type BulletinLang = 'zh-CN' | 'en';

export interface Bulletin {
  /** `2026-11` or `2026-Q4`. */
  period: string;
  from: Date;
  to: Date;
  /** The unit whose children are the rows; null = the top level of the caller's area. */
  unit: { code: string; name: string | null } | null;
  stats: { total: IncidentStats; rows: IncidentStats[] };
  generatedAt: Date;
}

const HEADERS: Record<BulletinLang, string[]> = {
  'zh-CN': ['单位编码', '单位名称', '上报数', '立案数', '派遣数', '结案数', '结案率', '按期结案率', '返工率', '延期率', '超期数', '黄牌数', '红牌数', '平均处置时长(工作小时)', 'P90处置时长(工作小时)'],
  en: ['unit code', 'unit name', 'reported', 'registered', 'dispatched', 'closed', 'closure rate', 'on-time closure rate', 'rework rate', 'postponement rate', 'overdue', 'yellow cards', 'red cards', 'mean handling (working hours)', 'p90 handling (working hours)'],
};
/** Columns 6–9 are rates. */
const RATE_COLUMNS = [6, 7, 8, 9];

const TEXT = {
  'zh-CN': {
    total: '合计',
    month: (y: string, m: string) => `${y}年${Number(m)}月`,
    quarter: (y: string, q: string) => `${y}年第${'一二三四'[Number(q) - 1]}季度`,
    kind: (quarter: boolean) => (quarter ? '事件处置季报' : '事件处置月报'),
    whole: '全辖区',
    range: '统计范围：',
    generated: '生成时间：',
    summary: (t: IncidentStats, pct: (v: number | null) => string) =>
      `本期上报事件 ${t.reported} 件，立案 ${t.registered} 件，结案 ${t.closed} 件，结案率 ${pct(t.closureRate)}，按期结案率 ${pct(t.onTimeClosureRate)}；超期 ${t.overdue} 件，黄牌 ${t.yellow} 张，红牌 ${t.red} 张。`,
    notes: [
      '统计对象为本期内上报的事件，状态截至生成时间。',
      '结案率 = 结案数 / 立案数；按期结案率 = 未超过任一阶段时限的结案数 / 结案数；返工率 = 返工事件数 / 派遣数；延期率 = 获批延期事件数 / 派遣数。',
      '处置时长为立案至结案的工作时间（工作日 08:30–12:00、13:30–17:30，节假日及调休按国务院安排）。',
    ],
  },
  en: {
    total: 'total',
    month: (y: string, m: string) => new Date(Date.UTC(Number(y), Number(m) - 1, 1)).toLocaleString('en', { month: 'long', year: 'numeric', timeZone: 'UTC' }),
    quarter: (y: string, q: string) => `Q${q} ${y}`,
    kind: (quarter: boolean) => (quarter ? 'Quarterly incident bulletin' : 'Monthly incident bulletin'),
    whole: 'whole area',
    range: 'Area: ',
    generated: 'Generated: ',
    summary: (t: IncidentStats, pct: (v: number | null) => string) =>
      `${t.reported} incidents reported, ${t.registered} registered, ${t.closed} closed: closure rate ${pct(t.closureRate)}, on-time closure rate ${pct(t.onTimeClosureRate)}; ${t.overdue} overdue, ${t.yellow} yellow and ${t.red} red cards.`,
    notes: [
      'Incidents reported in the period, in their state at the time of generation.',
      'Closure rate = closed / registered; on-time closure rate = closed without passing any stage deadline / closed; rework rate = returned for rework / dispatched; postponement rate = with an approved postponement / dispatched.',
      'Handling time is working time from registration to closure (working days 08:30–12:00 and 13:30–17:30, public holidays and adjusted working days as the State Council sets them).',
    ],
  },
};

/** The bulletin's cells: counts as numbers, rates as fractions (null when undefined), hours as numbers. */
export function bulletinTable(b: Bulletin, lang: BulletinLang): { header: string[]; rows: (string | number | null)[][] } {
  const line = (r: IncidentStats, code: string, name: string) => [
    code,
    name,
    r.reported,
    r.registered,
    r.dispatched,
    r.closed,
    r.closureRate,
    r.onTimeClosureRate,
    r.reworkRate,
    r.postponementRate,
    r.overdue,
    r.yellow,
    r.red,
    r.meanHandlingHours,
    r.p90HandlingHours,
  ];
  const rows = b.stats.rows.map((r) => line(r, r.key ?? '', r.name ?? ''));
  rows.push(line(b.stats.total, '', TEXT[lang].total));
  return { header: HEADERS[lang], rows };
}

const pct = (v: unknown) => (v === null || v === undefined ? '' : `${((v as number) * 100).toFixed(2)}%`);
const hours = (v: unknown) => (v === null || v === undefined ? '' : (v as number).toFixed(1));

/** Rates as `95.12%`, hours to one decimal, as the CSV and the page show them. */
function formatted(b: Bulletin, lang: BulletinLang): { header: string[]; rows: (string | number)[][] } {
  const { header, rows } = bulletinTable(b, lang);
  return { header, rows: rows.map((r) => r.map((v, i) => (RATE_COLUMNS.includes(i) ? pct(v) : i >= 13 ? hours(v) : (v ?? '')))) };
}

export function bulletinCsv(b: Bulletin, lang: BulletinLang): string {
  const { header, rows } = formatted(b, lang);
  return toCsv(header, rows);
}

/**
 * The workbook: numeric cells, rates in percent rounded to 0.01 (the header says so), hours to 0.1, so
 * the figures can be summed and charted; codes stay text.
 */
export function bulletinXlsx(b: Bulletin, lang: BulletinLang): Promise<Buffer> {
  const { header, rows } = bulletinTable(b, lang);
  const round = (v: number, digits: number) => Number(v.toFixed(digits));
  const cells = rows.map((r) => r.map((v, i) => (typeof v !== 'number' ? v : RATE_COLUMNS.includes(i) ? round(v * 100, 2) : i >= 13 ? round(v, 1) : v)));
  const head = header.map((h, i) => (RATE_COLUMNS.includes(i) ? `${h}(%)` : h));
  return writeXlsx(bulletinTitle(b, lang), head, cells);
}

/** `2026年11月事件处置月报` / `Monthly incident bulletin, November 2026`. */
export function bulletinTitle(b: Bulletin, lang: BulletinLang): string {
  const t = TEXT[lang];
  const [y, rest] = b.period.split('-') as [string, string];
  const quarter = rest.startsWith('Q');
  const when = quarter ? t.quarter(y, rest.slice(1)) : t.month(y, rest);
  return lang === 'en' ? `${t.kind(quarter)}, ${when}` : `${when}${t.kind(quarter)}`;
}

/**
 * A self-contained A4 landscape page (inline CSS, no external requests): title, area and period, a
 * summary sentence, the table with its header repeated on every printed page, and the definitions.
 */
export function bulletinHtml(b: Bulletin, lang: BulletinLang): string {
  const t = TEXT[lang];
  const { header, rows } = formatted(b, lang);
  const title = bulletinTitle(b, lang);
  const area = !b.unit ? t.whole : lang === 'en' ? `${b.unit.name ?? b.unit.code} (${b.unit.code})` : `${b.unit.name ?? b.unit.code}（${b.unit.code}）`;
  const day = (d: Date, end = false) => new Date(+d + 8 * 3_600_000 - (end ? 1 : 0)).toISOString().slice(0, 10);
  const stamp = new Date(+b.generatedAt + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
  const body = rows
    .map((r, i) => `<tr${i === rows.length - 1 ? ' class="total"' : ''}>${r.map((v, j) => `<td${j >= 2 ? ' class="n"' : ''}>${esc(String(v))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; color: #111; margin: 0 auto; max-width: 297mm; font-size: 10.5pt; }
h1 { font-size: 18pt; text-align: center; margin: 0 0 4mm; }
.meta { display: flex; justify-content: space-between; margin-bottom: 3mm; color: #333; }
.summary { margin: 0 0 4mm; }
table { border-collapse: collapse; width: 100%; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
th, td { border: 0.3mm solid #444; padding: 1.2mm 1.5mm; }
th { background: #eee; font-weight: bold; font-size: 9pt; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; background: #f6f6f6; }
ol.notes { font-size: 8.5pt; color: #333; margin-top: 4mm; padding-left: 5mm; }
@media print { body { max-width: none; } th, tr.total td { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<div class="meta"><span>${esc(t.range)}${esc(area)} · ${day(b.from)} – ${day(b.to, true)}</span><span>${esc(t.generated)}${stamp}</span></div>
<p class="summary">${esc(t.summary(b.stats.total, pct))}</p>
<table>
<thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${body}
</tbody>
</table>
<ol class="notes">${t.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ol>
</body>
</html>
`;
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

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
