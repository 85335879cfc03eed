import type { Context } from 'koa';
import { z } from 'zod';
import { AppError, badRequest } from '../errors';
import { parseJson, readBody } from '../http/body';
import { lang } from '../http/params';
import type { RouteDef } from '../http/route';
import { ReportLimit } from './limit';
import { reportFormHtml, reportReceiptHtml } from './page';
import type { ReportService } from './service';

const TAG = 'report';
const FORM_LIMIT = 16 * 1024;

const Where = z.object({ system: z.string().min(1), grid: z.string().min(1), lang: z.string().optional() }).strict();
const Report = z
  .object({
    category: z.string().min(1, 'choose a category'),
    description: z.string().trim().min(1, 'describe what happened and where').max(4000),
    name: z.string().trim().max(100).optional(),
    phone: z
      .string()
      .trim()
      .regex(/^([0-9+\- ]{3,20})?$/, 'a phone number is 3–20 digits, spaces, + or -')
      .optional(),
  })
  .strict();

/** Form posts (the page) and JSON (apps) carry the same fields. */
async function reportBody(ctx: Context): Promise<Record<string, string>> {
  const raw = await readBody(ctx, FORM_LIMIT);
  if (ctx.is('application/json')) {
    const parsed = parseJson(raw);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('invalid_body', 'the report must be a JSON object');
    return parsed as Record<string, string>;
  }
  if (!ctx.is('application/x-www-form-urlencoded')) throw new AppError(415, 'unsupported_media_type', 'send the report as a form (application/x-www-form-urlencoded) or as JSON');
  return Object.fromEntries([...new URLSearchParams(raw.toString('utf8'))].filter(([, v]) => v !== ''));
}

const wantsJson = (ctx: Context) => ctx.accepts('html', 'json') === 'json';

/** The resident's report page behind a board's QR code (issue #17 §2), and its submission. */
export function reportRoutes(reports: ReportService, limit = new ReportLimit(5, 10 * 60_000)): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/report',
      summary: 'Incident report form for one grid (the target of the QR code on its public board)',
      tag: TAG,
      access: { public: true },
      request: { query: Where },
      handler: async (ctx) => {
        const q = Where.parse(ctx.query);
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = reportFormHtml(await reports.form(q.system, q.grid, lang(ctx)));
      },
    },
    {
      method: 'post',
      path: '/report',
      summary: 'Report an incident in one grid as a resident (form or JSON; at most 5 per client address in 10 minutes)',
      tag: TAG,
      // Anyone may report, as on the hotline; the case is created with source "resident" and its reporter masked.
      access: { public: true },
      request: { query: Where, body: Report },
      handler: async (ctx) => {
        const q = Where.parse(ctx.query);
        const language = lang(ctx);
        const fields = await reportBody(ctx);
        const wait = limit.take(ctx.ip || 'unknown');
        if (wait > 0) {
          ctx.set('Retry-After', String(wait));
          throw new AppError(429, 'too_many_reports', `this address has sent ${limit.max} reports in ${limit.windowMs / 60_000} minutes; try again in ${wait} s or call the service hotline`);
        }
        try {
          const report = Report.parse(fields);
          const receipt = await reports.submit(q.system, q.grid, report, language);
          ctx.status = 201;
          if (wantsJson(ctx)) {
            ctx.body = { caseNo: receipt.caseNo, grid: receipt.grid, category: receipt.category, handledBy: receipt.handledBy };
            return;
          }
          ctx.type = 'text/html; charset=utf-8';
          ctx.body = reportReceiptHtml(receipt);
        } catch (err) {
          // The page answers a wrong entry with the form again, filled in, and the reason; apps get the coded error.
          const error = err instanceof z.ZodError ? { status: 400, code: 'invalid_report', message: err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') } : err instanceof AppError && err.status < 500 && err.status !== 404 ? { status: err.status, code: err.code, message: err.message } : null;
          if (!error || wantsJson(ctx)) throw err;
          const form = await reports.form(q.system, q.grid, language);
          ctx.status = error.status;
          ctx.type = 'text/html; charset=utf-8';
          ctx.body = reportFormHtml({ ...form, values: fields, error: { code: error.code, message: error.message } });
        }
      },
    },
  ];
}
