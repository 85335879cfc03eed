import type { Context } from 'koa';
import { z } from 'zod';
import type { RouteDef } from '../http/route';
import { lang } from '../http/params';
import type { BoardService } from './service';

const GridParams = z.object({ system: z.string().min(1), code: z.string().min(1) }).strict();
const SystemParams = z.object({ system: z.string().min(1) }).strict();
const BoardQuery = z.object({ format: z.enum(['html', 'pdf']).default('html'), lang: z.string().optional() }).strict();
const ResponsibilityQuery = z.object({ format: z.enum(['html', 'pdf', 'xlsx']).default('html'), lang: z.string().optional(), level: z.string().min(1).optional() }).strict();
const StaffingQuery = z.object({ under: z.string().min(1).optional(), level: z.string().min(1).optional() }).strict();

const TAG = 'boards';

/** `attachment; filename*=` in RFC 5987 form, so Chinese grid names survive in every browser. */
function download(ctx: Context, type: string, filename: string, body: Buffer, inline = false): void {
  ctx.type = type;
  ctx.set('Content-Disposition', `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(filename)}`);
  ctx.body = body;
}

/** The boards' routes (issue #17): the public board, the responsibility map and the staffing report. */
export function boardRoutes(boards: BoardService): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/api/boards/:system/:code',
      summary: 'Public board (公示牌) of one grid: printable A4 HTML, or PDF',
      tag: TAG,
      // Published output: only what published.ts lets through (DOMAIN.md "Access and privacy").
      access: { public: true },
      request: { params: GridParams, query: BoardQuery },
      handler: async (ctx) => {
        const { system, code } = GridParams.parse(ctx.params);
        const q = BoardQuery.parse(ctx.query);
        // Koa 3's ctx.origin is the Origin header; the link starts where the board was asked for (X-Forwarded-* with TRUST_PROXY).
        const options = { lang: lang(ctx), origin: `${ctx.protocol}://${ctx.host}` };
        if (q.format === 'pdf') return download(ctx, 'application/pdf', `${code}-board.pdf`, await boards.boardPdf(system, code, options), true);
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = await boards.boardHtml(system, code, options);
      },
    },
    {
      method: 'get',
      path: '/api/boards/:system/:code/responsibility',
      summary: 'Responsibility map with detail table (网格责任人分布图及明细表) of a street or community: A3 HTML, PDF or XLSX',
      tag: TAG,
      access: { permission: 'boards:read', scope: (ctx) => ({ system: ctx.params.system!, code: ctx.params.code! }) },
      request: { params: GridParams, query: ResponsibilityQuery },
      handler: async (ctx) => {
        const { system, code } = GridParams.parse(ctx.params);
        const q = ResponsibilityQuery.parse(ctx.query);
        const options = { lang: lang(ctx), level: q.level };
        if (q.format === 'pdf') return download(ctx, 'application/pdf', `${code}-responsibility.pdf`, await boards.responsibilityPdf(system, code, options), true);
        if (q.format === 'xlsx') {
          const xlsx = await boards.responsibilityXlsx(system, code, options);
          return download(ctx, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', `${code}-responsibility.xlsx`, xlsx);
        }
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = await boards.responsibilityHtml(system, code, options);
      },
    },
    {
      method: 'get',
      path: '/api/systems/:system/staffing',
      summary: 'Grids with no responsible person or more than one (one worker per grid)',
      tag: TAG,
      access: { permission: 'boards:read', scope: (ctx) => ({ system: ctx.params.system!, code: typeof ctx.query.under === 'string' ? ctx.query.under : undefined }) },
      request: { params: SystemParams, query: StaffingQuery },
      handler: async (ctx) => {
        const { system } = SystemParams.parse(ctx.params);
        ctx.body = await boards.staffing(system, StaffingQuery.parse(ctx.query));
      },
    },
  ];
}
