import type { Lang } from '../grids';
import type { GridService } from '../grids';
import type { SystemService } from '../systems';
import type { Grid } from '../kernel/types';
import { badRequest, unprocessable } from '../errors';
import { writeXlsx } from '../formats/xlsx';
import { boardHtml, type BoardContent, type IncidentCounts } from './board-html';
import { mapSvg, type MapShape } from './map-svg';
import { publishedGroups, publishedHotline, publishedPeople } from './published';
import { qrSvg } from './qr';
import type { PdfRenderer } from './renderer';
import { responsibilityHtml, responsibilityTable, type ResponsibilityContent } from './responsibility-html';
import { staffingReport, type StaffingReport } from './staffing';
import type { AddressCounts, BoardStore } from './store';

export interface BoardServiceDeps {
  systems: Pick<SystemService, 'require'>;
  grids: Pick<GridService, 'get' | 'ancestors' | 'subtree' | 'list'>;
  store: BoardStore;
  renderer: PdfRenderer;
  /** Open, overdue and closed cases in each listed grid and below it (the incident feature's counts). */
  incidentCounts: (system: string, codes: readonly string[]) => Promise<Map<string, IncidentCounts>>;
}

export interface BoardOptions {
  lang: Lang;
  /** Origin the QR code's report link starts with, e.g. https://grid.example.org */
  origin: string;
}

export interface ResponsibilityOptions {
  lang: Lang;
  /** Level key of the listed grids; default the deepest level below the root. */
  level?: string;
}

/** Fills of the responsibility map, one per parent (community) so neighbouring groups tell apart. */
const PALETTE = ['#f6c56b', '#9fd4a3', '#9cc3e6', '#e8a6a1', '#c9b3e0', '#f2de8a', '#a6dcd3', '#e6b98c'];

// Printed dates are the local date where the boards are posted (UTC+8).
const today = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());

/** The report link a board's QR code carries: the incident report page for that grid. */
export function reportUrl(origin: string, system: string, code: string): string {
  return `${origin}/report?system=${encodeURIComponent(system)}&grid=${encodeURIComponent(code)}`;
}

/** Public boards, responsibility maps and the staffing report (issue #17). */
export function createBoardService(deps: BoardServiceDeps) {
  const { systems, grids, store, renderer, incidentCounts } = deps;
  const NO_CASES: IncidentCounts = { open: 0, overdue: 0, closed: 0 };

  async function board(key: string, code: string, options: BoardOptions): Promise<BoardContent> {
    const system = await systems.require(key);
    const grid = await grids.get(key, code);
    const ancestors = await grids.ancestors(key, code);
    const levelName = (level: string) => (options.lang === 'en' ? level : system.levels.find((l) => l.key === level)?.name ?? level);
    const [x0, y0, x1, y1] = bboxOf([grid]);
    const margin = Math.max(x1 - x0, y1 - y0);
    const neighbours = await grids.list(key, { level: grid.level, bbox: [x0 - margin, y0 - margin, x1 + margin, y1 + margin] });
    const counts = await store.countsUnder(system.id, code);
    const cases = (await incidentCounts(key, [code])).get(code) ?? NO_CASES;
    const shapes: MapShape[] = [
      ...neighbours.filter((n) => n.code !== code).map((n): MapShape => ({ geometry: n.geometry, role: 'context', label: n.name })),
      { geometry: grid.geometry, role: 'focus', label: grid.name },
      // The parent's boundary shows where the grid lies in its community.
      ...(ancestors[0] ? [{ geometry: ancestors[0].geometry, role: 'outline' } as MapShape] : []),
    ];
    const url = reportUrl(options.origin, key, code);
    return {
      lang: options.lang,
      system: { key: system.key, name: system.name },
      grid: { code: grid.code, name: grid.name, levelName: levelName(grid.level), type: grid.type, validFrom: grid.validFrom },
      chain: [...ancestors].reverse().map((a) => ({ code: a.code, name: a.name, levelName: levelName(a.level) })),
      responsible: publishedPeople(grid.people, 'responsible'),
      helpers: publishedPeople(grid.people, 'helper'),
      hotline: publishedHotline([grid, ...ancestors]),
      counts: counts.hasAddresses ? { households: counts.total.households, population: counts.total.population, buildings: counts.total.buildings } : null,
      groups: publishedGroups(grid),
      incidents: cases,
      map: mapSvg(shapes, { width: 760, height: 520, lang: options.lang, padding: 0.22 }),
      qr: await qrSvg(url),
      reportUrl: url,
      generatedOn: today(),
    };
  }

  async function responsibility(key: string, code: string, options: ResponsibilityOptions): Promise<ResponsibilityContent> {
    const system = await systems.require(key);
    const [root, ...below] = await grids.subtree(key, code);
    const ancestors = await grids.ancestors(key, code);
    const order = new Map(system.levels.map((l) => [l.key, l.order]));
    if (below.length === 0) throw unprocessable('no_child_grids', `grid ${code} of system ${key} has no child grids; a responsibility map is drawn for a grid with children, such as a street or community`);
    let level = options.level;
    if (level === undefined) {
      level = below.reduce((deepest, g) => ((order.get(g.level) ?? 0) > (order.get(deepest) ?? 0) ? g.level : deepest), below[0]!.level);
    } else if (!order.has(level)) {
      throw badRequest('unknown_level', `level "${level}" is not defined by system ${key}; expected one of ${system.levels.map((l) => l.key).join(', ')}`);
    }
    const listed = below.filter((g) => g.level === level).sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
    if (listed.length === 0) throw unprocessable('no_grids_at_level', `grid ${code} of system ${key} has no grids of level ${level} below it`);
    const byCode = new Map([root!, ...below].map((g) => [g.code, g]));
    const levelName = (l: string) => (options.lang === 'en' ? l : system.levels.find((x) => x.key === l)?.name ?? l);
    const parents = [...new Set(listed.map((g) => g.parentCode ?? ''))];
    const parentLevel = byCode.get(parents[0] ?? '')?.level ?? root!.level;
    const counts = await store.countsUnder(system.id, code);
    const rolled = rollUp(counts.byCode, [root!, ...below]);
    const cases = await incidentCounts(key, listed.map((g) => g.code));
    const rows = listed.map((g, i) => {
      const c = rolled.get(g.code);
      return {
        index: i + 1,
        code: g.code,
        name: g.name,
        parentName: byCode.get(g.parentCode ?? '')?.name ?? '',
        responsible: publishedPeople(g.people, 'responsible'),
        helpers: publishedPeople(g.people, 'helper'),
        households: counts.hasAddresses ? c?.households ?? 0 : null,
        population: counts.hasAddresses ? c?.population ?? 0 : null,
        groups: publishedGroups(g),
        incidents: { open: cases.get(g.code)?.open ?? 0, overdue: cases.get(g.code)?.overdue ?? 0 },
      };
    });
    const shapes: MapShape[] = [
      ...listed.map((g, i): MapShape => ({ geometry: g.geometry, role: 'focus', label: String(i + 1), fill: PALETTE[parents.indexOf(g.parentCode ?? '') % PALETTE.length] })),
      ...parents.filter((p) => p !== root!.code && byCode.has(p)).map((p): MapShape => ({ geometry: byCode.get(p)!.geometry, role: 'outline' })),
      { geometry: root!.geometry, role: 'outline' },
    ];
    return {
      lang: options.lang,
      system: { key: system.key, name: system.name },
      root: { code: root!.code, name: root!.name, levelName: levelName(root!.level) },
      parentLevelName: levelName(parentLevel),
      rows,
      hotline: publishedHotline([root!, ...ancestors]),
      map: mapSvg(shapes, { width: 1600, height: 900, lang: options.lang }),
      legend: parents.map((p, i) => ({ name: byCode.get(p)?.name ?? p, fill: PALETTE[i % PALETTE.length]! })),
      generatedOn: today(),
    };
  }

  return {
    async boardHtml(key: string, code: string, options: BoardOptions): Promise<string> {
      return boardHtml(await board(key, code, options));
    },

    async boardPdf(key: string, code: string, options: BoardOptions): Promise<Buffer> {
      return renderer.pdf(boardHtml(await board(key, code, options)));
    },

    async responsibilityHtml(key: string, code: string, options: ResponsibilityOptions): Promise<string> {
      return responsibilityHtml(await responsibility(key, code, options));
    },

    async responsibilityPdf(key: string, code: string, options: ResponsibilityOptions): Promise<Buffer> {
      return renderer.pdf(responsibilityHtml(await responsibility(key, code, options)));
    },

    /** The detail table as a workbook: long grid codes stay text in Excel. */
    async responsibilityXlsx(key: string, code: string, options: ResponsibilityOptions): Promise<Buffer> {
      const content = await responsibility(key, code, options);
      const { header, rows } = responsibilityTable(content);
      return writeXlsx(options.lang === 'en' ? `${content.root.code} responsibility` : `${content.root.name}责任人明细表`, header, rows);
    },

    /** Grids with no responsible person or more than one, in the whole system or under one grid. */
    async staffing(key: string, scope: { under?: string; level?: string }): Promise<StaffingReport> {
      const system = await systems.require(key);
      if (scope.level && !system.levels.some((l) => l.key === scope.level)) {
        throw badRequest('unknown_level', `level "${scope.level}" is not defined by system ${key}; expected one of ${system.levels.map((l) => l.key).join(', ')}`);
      }
      const checked = scope.under ? await grids.subtree(key, scope.under) : await grids.list(key, {});
      return staffingReport(key, checked, { under: scope.under ?? null, level: scope.level ?? null });
    },
  };
}

export type BoardService = ReturnType<typeof createBoardService>;

/** Counts per grid including its descendants: an address counts in its own grid and every ancestor. */
function rollUp(direct: Map<string, AddressCounts>, tree: Grid[]): Map<string, AddressCounts> {
  const parents = new Map(tree.map((g) => [g.code, g.parentCode]));
  const out = new Map<string, AddressCounts>();
  for (const [code, c] of direct) {
    for (let at: string | null | undefined = code, depth = 0; at && parents.has(at) && depth < 50; at = parents.get(at), depth++) {
      const sum = out.get(at) ?? { addresses: 0, households: 0, population: 0 };
      sum.addresses += c.addresses;
      sum.households += c.households;
      sum.population += c.population;
      out.set(at, sum);
    }
  }
  return out;
}

function bboxOf(list: Grid[]): [number, number, number, number] {
  const b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const g of list) {
    const polygons = g.geometry.type === 'Polygon' ? [g.geometry.coordinates] : g.geometry.coordinates;
    for (const polygon of polygons) {
      for (const [x, y] of polygon[0] ?? []) {
        b[0] = Math.min(b[0], x!);
        b[1] = Math.min(b[1], y!);
        b[2] = Math.max(b[2], x!);
        b[3] = Math.max(b[3], y!);
      }
    }
  }
  return b;
}
