import type { Lang } from '../grids';
import { LABELS } from './labels';
import { escapeXml as esc } from '../formats/escape';
import type { PublishedGroup, PublishedPerson } from './published';

export interface IncidentCounts {
  open: number;
  overdue: number;
  closed: number;
}

/** Everything a public board prints, already reduced to published fields (see published.ts). */
export interface BoardContent {
  lang: Lang;
  system: { key: string; name: string };
  grid: { code: string; name: string; levelName: string; type: string | null; validFrom: string | null };
  /** Ancestors from the top down to the parent. */
  chain: { code: string; name: string; levelName: string }[];
  responsible: PublishedPerson[];
  helpers: PublishedPerson[];
  hotline: string | null;
  /** From the address statistics; null when the system has no addresses. */
  counts: { households: number; population: number; buildings: number } | null;
  /** Cases in the grid and below it (aggregates only, as the seed platforms' grid boards show them). */
  incidents: IncidentCounts;
  groups: PublishedGroup[];
  /** Inline SVG of the grid and its neighbours. */
  map: string;
  /** Inline SVG QR code of `reportUrl`. */
  qr: string;
  reportUrl: string;
  generatedOn: string;
}

/** Fonts that carry CJK glyphs on Debian (fonts-wqy-microhei, Noto CJK) before the generic fallback. */
export const FONT_STACK = `"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif`;

/**
 * The public board (公示牌) of one grid as a self-contained A4 page: inline CSS and SVG only, so it
 * prints from a browser and renders to PDF with no request leaving the service.
 */
export function boardHtml(c: BoardContent): string {
  const t = LABELS[c.lang];
  const person = (p: PublishedPerson, big: boolean) =>
    `<div class="person${big ? ' lead' : ''}"><span class="pname">${esc(p.name)}</span>${p.title ? `<span class="ptitle">${esc(p.title)}</span>` : ''}${p.phone ? `<span class="pphone">${esc(p.phone)}</span>` : ''}</div>`;
  const facts: [string, string][] = [
    [t.code, c.grid.code],
    [t.level, c.grid.levelName],
    ...(c.grid.type ? [[t.type, c.grid.type] as [string, string]] : []),
    [t.chain, c.chain.length ? c.chain.map((a) => a.name).join(' › ') : t.none],
    ...(c.grid.validFrom ? [[t.validFrom, c.grid.validFrom] as [string, string]] : []),
  ];
  const counts: [string, number][] = [
    ...(c.counts
      ? ([
          [t.households, c.counts.households],
          [t.population, c.counts.population],
          [t.buildings, c.counts.buildings],
        ] as [string, number][])
      : []),
    ...c.groups.map((g): [string, number] => [t.groups[g.key] ?? g.key, g.count]),
  ];
  const incidents: [string, number, string][] = [
    [t.incidentsOpen, c.incidents.open, 'open'],
    [t.incidentsOverdue, c.incidents.overdue, 'overdue'],
    [t.incidentsClosed, c.incidents.closed, 'closed'],
  ];
  return `<!doctype html>
<html lang="${c.lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(c.grid.name)} · ${esc(t.board)}</title>
<style>
@page { size: A4 portrait; margin: 12mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: ${FONT_STACK}; color: #222; background: #fff; }
.sheet { width: 186mm; margin: 0 auto; }
header { border-bottom: 3px solid #b22222; padding-bottom: 3mm; margin-bottom: 4mm; }
header .kind { color: #b22222; font-size: 13pt; letter-spacing: 0.2em; }
header h1 { margin: 1mm 0 0; font-size: 24pt; }
header .code { font-size: 11pt; color: #555; }
.map svg { width: 100%; height: auto; display: block; border: 1px solid #ccc; }
.legend { font-size: 8.5pt; color: #555; margin: 1mm 0 3mm; }
.legend i { display: inline-block; width: 9pt; height: 9pt; vertical-align: -1pt; margin: 0 1mm 0 3mm; border: 1px solid #888; }
.cols { display: flex; gap: 6mm; }
.cols > section { flex: 1; }
h2 { font-size: 12pt; margin: 0 0 2mm; border-left: 4px solid #b22222; padding-left: 2mm; }
table.facts { border-collapse: collapse; width: 100%; font-size: 10pt; margin-bottom: 3mm; }
table.facts th { text-align: left; font-weight: normal; color: #666; width: 26mm; padding: 1mm 0; vertical-align: top; }
table.facts td { padding: 1mm 0; }
.counts { display: flex; flex-wrap: wrap; gap: 2mm; }
.count { border: 1px solid #ddd; border-radius: 2mm; padding: 1.5mm 3mm; min-width: 26mm; }
.count b { display: block; font-size: 15pt; }
.count span { font-size: 8.5pt; color: #666; }
h2.incidents { margin-top: 3mm; }
.count.overdue b { color: #b22222; }
.person { font-size: 11pt; margin-bottom: 1.5mm; }
.person.lead { font-size: 14pt; }
.person span { margin-right: 3mm; }
.pname { font-weight: bold; }
.ptitle, .pphone { color: #444; }
.hotline { font-size: 14pt; margin: 3mm 0; }
.hotline b { color: #b22222; }
.report { display: flex; gap: 4mm; align-items: center; margin-top: 3mm; }
.report svg { width: 32mm; height: 32mm; }
.report .url { font-size: 8pt; color: #555; word-break: break-all; }
footer { margin-top: 5mm; border-top: 1px solid #ccc; padding-top: 2mm; font-size: 8.5pt; color: #666; display: flex; justify-content: space-between; }
@media screen { body { background: #eee; } .sheet { background: #fff; padding: 12mm; margin: 5mm auto; box-shadow: 0 0 4px #999; width: 210mm; } }
</style></head>
<body><main class="sheet">
<header><div class="kind">${esc(t.board)}</div><h1>${esc(c.grid.name)}</h1><div class="code">${esc(t.code)} ${esc(c.grid.code)} · ${esc(c.system.name)}</div></header>
<section class="map">${c.map}<div class="legend"><i style="background:#f6c56b"></i>${esc(t.legendFocus)}<i style="background:#e4e4e0"></i>${esc(t.legendContext)}${c.chain.length ? `<i style="border:2px solid #7a1f1f"></i>${esc(c.chain[c.chain.length - 1]!.name)}` : ''}</div></section>
<div class="cols">
<section>
<h2>${esc(t.counts)}</h2>
<table class="facts">${facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
${counts.length ? `<div class="counts">${counts.map(([k, v]) => `<div class="count"><b>${v.toLocaleString('en-US')}</b><span>${esc(k)}</span></div>`).join('')}</div>` : ''}
<h2 class="incidents">${esc(t.incidents)}</h2>
<div class="counts incidents">${incidents.map(([k, v, cls]) => `<div class="count ${cls}"><b>${v.toLocaleString('en-US')}</b><span>${esc(k)}</span></div>`).join('')}</div>
</section>
<section>
<h2>${esc(t.responsible)}</h2>
${c.responsible.length ? c.responsible.map((p) => person(p, true)).join('') : `<div class="person">${esc(t.none)}</div>`}
${c.helpers.length ? `<h2>${esc(t.helpers)}</h2>${c.helpers.map((p) => person(p, false)).join('')}` : ''}
${c.hotline ? `<div class="hotline">${esc(t.hotline)} <b>${esc(c.hotline)}</b></div>` : ''}
<div class="report">${c.qr}<div><b>${esc(t.scan)}</b><div class="url">${esc(c.reportUrl)}</div></div></div>
</section>
</div>
<footer><span>${esc(t.published)}: ${esc(c.chain[c.chain.length - 1]?.name ?? c.system.name)}</span><span>${esc(t.generated)}: ${esc(c.generatedOn)}</span></footer>
</main></body></html>`;
}
