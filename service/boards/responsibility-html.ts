import type { Lang } from '../grids';
import { FONT_STACK } from './board-html';
import { LABELS } from './labels';
import { escapeXml as esc } from '../formats/escape';
import { GROUP_ATTRIBUTES, type PublishedGroup, type PublishedPerson } from './published';

/** One grid of a responsibility map: a numbered shape on the map and a row of the detail table. */
export interface ResponsibilityRow {
  index: number;
  code: string;
  name: string;
  /** Name of the grid's parent when the map spans several parents (a street's communities). */
  parentName: string;
  responsible: PublishedPerson[];
  helpers: PublishedPerson[];
  households: number | null;
  population: number | null;
  /** Open and overdue cases in the grid and below it. */
  incidents: { open: number; overdue: number };
  groups: PublishedGroup[];
}

export interface ResponsibilityContent {
  lang: Lang;
  system: { key: string; name: string };
  root: { code: string; name: string; levelName: string };
  /** Name of the level of the rows' parents, e.g. 社区. */
  parentLevelName: string;
  rows: ResponsibilityRow[];
  hotline: string | null;
  map: string;
  /** The fill of each parent's grids on the map, for the legend. */
  legend: { name: string; fill: string }[];
  generatedOn: string;
}

/**
 * The detail table (明细表): one row per grid, the same cells in the HTML page and the workbook. A
 * special-group column appears only when at least one grid carries that count.
 */
export function responsibilityTable(c: ResponsibilityContent): { header: string[]; rows: (string | number | null)[][] } {
  const t = LABELS[c.lang];
  const groupKeys = GROUP_ATTRIBUTES.map((g) => g.key).filter((k) => c.rows.some((r) => r.groups.some((g) => g.key === k)));
  const header = [
    t.index,
    t.code,
    t.name,
    `${t.parent}${c.lang === 'en' ? ` ${c.parentLevelName}` : c.parentLevelName}`,
    t.responsible,
    t.title,
    t.phone,
    t.helpers,
    t.households,
    t.population,
    ...groupKeys.map((k) => t.groups[k] ?? k),
    t.incidentsOpen,
    t.incidentsOverdue,
  ];
  const rows = c.rows.map((r) => [
    r.index,
    r.code,
    r.name,
    r.parentName,
    r.responsible.map((p) => p.name).join('、'),
    r.responsible.map((p) => p.title ?? '').join('、'),
    r.responsible.map((p) => p.phone ?? '').join('、'),
    r.helpers.map((p) => p.name).join('、'),
    r.households,
    r.population,
    ...groupKeys.map((k) => r.groups.find((g) => g.key === k)?.count ?? null),
    r.incidents.open,
    r.incidents.overdue,
  ]);
  return { header, rows };
}

/**
 * The responsibility map with its detail table (网格责任人分布图及明细表) as an A3 landscape document: the
 * map of every grid numbered on the first page, the table after it with its header repeated on each
 * printed page.
 */
export function responsibilityHtml(c: ResponsibilityContent): string {
  const t = LABELS[c.lang];
  const { header, rows } = responsibilityTable(c);
  const numeric = (v: unknown) => typeof v === 'number';
  const title = `${c.root.name}${c.lang === 'en' ? ' · ' : ''}${t.responsibility}`;
  const households = c.rows.reduce((s, r) => s + (r.households ?? 0), 0);
  const population = c.rows.reduce((s, r) => s + (r.population ?? 0), 0);
  return `<!doctype html>
<html lang="${c.lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
@page { size: A3 landscape; margin: 10mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: ${FONT_STACK}; color: #222; background: #fff; }
.sheet { width: 400mm; margin: 0 auto; }
header { display: flex; justify-content: space-between; align-items: flex-end; border-bottom: 3px solid #b22222; padding-bottom: 2mm; margin-bottom: 3mm; }
header h1 { margin: 0; font-size: 22pt; }
header .meta { font-size: 10pt; color: #555; text-align: right; }
.map { break-after: page; }
.map svg { width: 400mm; height: 232mm; display: block; border: 1px solid #ccc; }
.legend { font-size: 10pt; margin-top: 2mm; }
.legend i { display: inline-block; width: 10pt; height: 10pt; vertical-align: -1pt; margin: 0 1mm 0 4mm; border: 1px solid #888; }
table.detail { border-collapse: collapse; width: 100%; font-size: 9.5pt; }
table.detail th, table.detail td { border: 1px solid #999; padding: 1mm 1.5mm; }
table.detail th { background: #f1e3e3; }
table.detail td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.detail thead { display: table-header-group; }
table.detail tr { break-inside: avoid; }
footer { margin-top: 3mm; font-size: 8.5pt; color: #666; }
@media screen { body { background: #eee; } .sheet { background: #fff; padding: 10mm; margin: 5mm auto; box-shadow: 0 0 4px #999; width: 420mm; } }
</style></head>
<body><main class="sheet">
<header><h1>${esc(title)}</h1><div class="meta">${esc(c.root.levelName)} ${esc(c.root.code)} · ${esc(c.system.name)}<br>${esc(t.gridsCount)} ${c.rows.length} · ${esc(t.households)} ${households.toLocaleString('en-US')} · ${esc(t.population)} ${population.toLocaleString('en-US')}${c.hotline ? ` · ${esc(t.hotline)} ${esc(c.hotline)}` : ''}</div></header>
<section class="map">${c.map}<div class="legend">${c.legend.map((l) => `<i style="background:${l.fill}"></i>${esc(l.name)}`).join('')}</div></section>
<table class="detail">
<thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((r) => `<tr>${r.map((v) => `<td${numeric(v) ? ' class="n"' : ''}>${v === null ? '' : esc(String(v))}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table>
<footer>${esc(t.generated)}: ${esc(c.generatedOn)}</footer>
</main></body></html>`;
}
