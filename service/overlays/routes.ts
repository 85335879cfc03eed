import type { Context } from 'koa';
import { z } from 'zod';
import { readBody, readJson } from '../http/body';
import { parseCsv, toCsv } from '../formats/csv';
import { badRequest } from '../errors';
import type { RouteDef } from '../http/route';
import { alignmentToCsv, overlayToCsv, overlayToGeoJSON, overlayToXlsx } from '../geometry/overlay/index';
import { callerOf } from '../http/caller';
import { lang } from '../http/params';
import type { AreaScope } from '../kernel/scope';
import type { OverlayService } from './service';

const Share = z.number().min(0).max(1);
const Rule = z.object({ maxDepth: z.number().int().min(1).optional(), maxOverlapShare: Share.optional() }).strict();
const SystemRef = z.union([z.string().min(1), z.object({ key: z.string().min(1), level: z.string().min(1).optional() }).strict()]);

export const ReportBody = z
  .object({
    territory: z.object({ system: z.string().min(1), code: z.string().min(1) }).strict(),
    systems: z.array(SystemRef).min(1),
    units: z.object({ system: z.string().min(1).optional(), level: z.string().min(1).optional() }).strict().optional(),
    policy: z
      .object({ urban: Rule.optional(), rural: Rule.optional(), ruralTypes: z.array(z.string().min(1)).optional(), areaTolerance: z.number().min(0).optional() })
      .strict()
      .optional(),
  })
  .strict();
export const ReportQuery = z
  .object({ format: z.enum(['json', 'geojson', 'csv', 'xlsx']).default('json'), mode: z.enum(['auto', 'sync', 'job']).default('auto'), lang: z.string().optional() })
  .strict();
export const AlignmentQuery = z
  .object({
    a: z.string().min(1),
    b: z.string().min(1),
    aLevel: z.string().min(1).optional(),
    bLevel: z.string().min(1).optional(),
    threshold: z.coerce.number().gt(0).max(1).default(0.95),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();
export const BankCheckQuery = z
  .object({
    units: z.string().min(1).default('governance'),
    unitLevel: z.string().min(1).optional(),
    nestLevel: z.string().min(1).optional(),
    threshold: z.coerce.number().gt(0).max(1).default(0.95),
  })
  .strict();
const SystemParams = z.object({ system: z.string().min(1) }).strict();
const Rate = z.coerce.number().min(0).max(1).optional();
export const FilingQuery = z
  .object({ year: z.enum(['1', '2']).default('1'), urbanResidents: Rate, merchants: Rate, ruralHouseholds: Rate, format: z.enum(['json', 'csv']).default('json') })
  .strict();

/** The caller's area (issue #10), as the access feature's authorizer admitted it. */
const scopeOf = (ctx: Context): AreaScope => callerOf(ctx).scope;

export function sendCsv(ctx: Context, name: string, text: string): void {
  ctx.type = 'text/csv; charset=utf-8';
  ctx.set('Content-Disposition', `attachment; filename="${name}.csv"`);
  ctx.body = text;
}

export function sendXlsx(ctx: Context, name: string, file: Buffer): void {
  ctx.type = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  ctx.set('Content-Disposition', `attachment; filename="${name}.xlsx"`);
  ctx.body = file;
}

/** Cross-system overlays (issue #13), read-only: `overlays:read`. */
export function overlayRoutes(overlays: OverlayService, bodyLimit: number): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/api/overlays/report',
      summary: 'Overlay of grid systems over a territory: faces, blanks, overlaps, excess, the regulator table',
      tag: 'overlays',
      access: { permission: 'overlays:read' },
      request: { query: ReportQuery, body: ReportBody, contentTypes: ['application/json'] },
      handler: async (ctx) => {
        const q = ReportQuery.parse(ctx.query);
        const body = ReportBody.parse(await readJson(ctx, bodyLimit));
        const systems = body.systems.map((s) => (typeof s === 'string' ? { key: s } : s));
        const result = await overlays.report({ ...body, systems, mode: q.format === 'json' ? q.mode : q.mode === 'job' ? 'job' : 'sync' }, scopeOf(ctx));
        if ('job' in result) {
          ctx.status = 202;
          ctx.set('Location', `/api/jobs/${result.job}`);
          ctx.body = { job: result.job, status: 'queued', location: `/api/jobs/${result.job}` };
        } else if (q.format === 'geojson') {
          ctx.type = 'application/geo+json';
          ctx.body = overlayToGeoJSON(result.report);
        } else if (q.format === 'csv') {
          sendCsv(ctx, `overlay-${body.territory.code}`, overlayToCsv(result.report));
        } else if (q.format === 'xlsx') {
          sendXlsx(ctx, `overlay-${body.territory.code}`, await overlayToXlsx(result.report, lang(ctx)));
        } else {
          ctx.body = result.report;
        }
      },
    },
    {
      method: 'get',
      path: '/api/overlays/alignment',
      summary: 'Alignment of system A against system B: every grid of A, its shares in the grids of B, the straddling grids',
      tag: 'overlays',
      access: { permission: 'overlays:read' },
      request: { query: AlignmentQuery },
      handler: async (ctx) => {
        const q = AlignmentQuery.parse(ctx.query);
        const report = await overlays.alignment(q, scopeOf(ctx));
        if (q.format === 'csv') sendCsv(ctx, `alignment-${q.a}-${q.b}`, alignmentToCsv(report));
        else ctx.body = report;
      },
    },
    {
      method: 'post',
      path: '/api/overlays/banks/:system/ledger',
      summary: 'Import filing ledger counts (建档) per bank grid and category from CSV (UTF-8 or GBK)',
      tag: 'overlays',
      access: { permission: 'overlays:write', scope: (ctx) => ({ system: ctx.params.system! }) },
      request: { params: SystemParams, contentTypes: ['text/csv'] },
      handler: async (ctx) => {
        const { system } = SystemParams.parse(ctx.params);
        const raw = await readBody(ctx, bodyLimit);
        if (raw.length === 0) throw badRequest('empty_body', 'the request body is empty; expected CSV with columns grid, category, filed, total');
        const records: { row: number; values: string[] }[] = [];
        for await (const record of parseCsv((async function* () {
          yield raw;
        })())) records.push(record);
        ctx.body = await overlays.importLedger(system, records);
      },
    },
    {
      method: 'post',
      path: '/api/overlays/banks/:system/points',
      summary: "Replace a bank's outlets (网点) and equipment (ATMs …) from a GeoJSON FeatureCollection of points",
      tag: 'overlays',
      access: { permission: 'overlays:write', scope: (ctx) => ({ system: ctx.params.system! }) },
      request: { params: SystemParams, contentTypes: ['application/json', 'application/geo+json'] },
      handler: async (ctx) => {
        const { system } = SystemParams.parse(ctx.params);
        ctx.body = await overlays.importPoints(system, await readJson(ctx, bodyLimit));
      },
    },
    {
      method: 'get',
      path: '/api/overlays/banks/:system/filing',
      summary: 'Filing rates (建档面) per grid, category and bank against the year 1 or year 2 targets; grids below target',
      tag: 'overlays',
      access: { permission: 'overlays:read', scope: (ctx) => ({ system: ctx.params.system! }) },
      request: { params: SystemParams, query: FilingQuery },
      handler: async (ctx) => {
        const { system } = SystemParams.parse(ctx.params);
        const q = FilingQuery.parse(ctx.query);
        const targets = {
          ...(q.urbanResidents !== undefined && { 'urban-residents': q.urbanResidents }),
          ...(q.merchants !== undefined && { merchants: q.merchants }),
          ...(q.ruralHouseholds !== undefined && { 'rural-households': q.ruralHouseholds }),
        };
        const report = await overlays.filing(system, q.year === '2' ? 2 : 1, targets, scopeOf(ctx));
        if (q.format === 'csv') {
          const rows = report.grids.flatMap((g) => Object.entries(g.categories).map(([category, c]) => [g.code, g.name, g.areaType, category, c.filed, c.total, c.rate, c.target, c.source, c.met]));
          sendCsv(ctx, `filing-${system}`, toCsv(['code', 'name', 'area_type', 'category', 'filed', 'total', 'rate', 'target', 'total_source', 'met'], rows));
        } else ctx.body = report;
      },
    },
    {
      method: 'get',
      path: '/api/overlays/banks/:system/check',
      summary: 'Inside one bank: its hierarchy as a partition, each grid inside one community or village, a worker per grid, outlets missing or outside their grid',
      tag: 'overlays',
      access: { permission: 'overlays:read', scope: (ctx) => ({ system: ctx.params.system! }) },
      request: { params: SystemParams, query: BankCheckQuery },
      handler: async (ctx) => {
        const { system } = SystemParams.parse(ctx.params);
        const q = BankCheckQuery.parse(ctx.query);
        ctx.body = await overlays.bankCheck(system, { units: { system: q.units, level: q.unitLevel }, nestLevel: q.nestLevel, threshold: q.threshold }, scopeOf(ctx));
      },
    },
  ];
}
