import { AppError } from '../errors';
import type { GridService, Lang } from '../grids';
import type { IncidentService } from '../incidents';
import type { SystemService } from '../systems';
import { labelPoint } from '../tiles';
import type { ReportCategory, ReportForm, ReportReceipt } from './page';

export interface ReportServiceDeps {
  systems: Pick<SystemService, 'require'>;
  grids: Pick<GridService, 'get' | 'ancestors'>;
  incidents: Pick<IncidentService, 'create' | 'classification'>;
}

export interface ResidentReport {
  category: string;
  description: string;
  name?: string;
  phone?: string;
}

/**
 * A resident's report from the QR code on a grid's public board (issue #17 §2): the case is placed at the
 * grid's label point — always inside the grid, so it is routed to that grid and its chain — with the
 * resident's words saying where exactly. Source `resident`; the name and phone are the reporter's personal
 * data, masked by the incident feature like every other reporter.
 */
export function createReportService(deps: ReportServiceDeps) {
  const { systems, grids, incidents } = deps;

  function categories(lang: Lang): ReportCategory[] {
    return incidents.classification.doc.classes.flatMap((major) =>
      major.minor.map((minor) => ({ major: lang === 'en' ? major.nameEn : major.name, code: minor.code, name: lang === 'en' ? minor.nameEn : minor.name })),
    );
  }

  return {
    async form(key: string, code: string, lang: Lang): Promise<ReportForm> {
      const system = await systems.require(key);
      const grid = await grids.get(key, code);
      const chain = (await grids.ancestors(key, code)).map((a) => a.name);
      return { lang, system: { key: system.key, name: system.name }, grid: { code: grid.code, name: grid.name, chain }, categories: categories(lang) };
    },

    async submit(key: string, code: string, report: ResidentReport, lang: Lang): Promise<ReportReceipt> {
      await systems.require(key);
      const grid = await grids.get(key, code);
      const at = labelPoint(grid.geometry);
      if (!at) throw new AppError(422, 'grid_without_area', `grid ${code} of system ${key} has no area to place a report in`);
      const reporter = { ...(report.name ? { name: report.name } : {}), ...(report.phone ? { phone: report.phone } : {}) };
      const { incident } = await incidents.create({
        category: report.category,
        point: { x: at[0]!, y: at[1]!, crs: 'EPSG:4326' },
        source: 'resident',
        description: report.description,
        ...(Object.keys(reporter).length > 0 ? { reporter } : {}),
      });
      const category = categories(lang).find((c) => c.code === incident.category.code)?.name ?? incident.category.code;
      return { lang, system: key, grid: { code: grid.code, name: grid.name }, caseNo: incident.caseNo, category, handledBy: `${incident.handling.unit.name}（${incident.handling.unit.code}）` };
    },
  };
}

export type ReportService = ReturnType<typeof createReportService>;
