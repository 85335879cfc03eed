import type { Context } from 'koa';
import { z } from 'zod';
import { badRequest } from '../errors';

/** Parses the query string with a zod schema; problems become 400 `invalid_request` naming the parameter. */
export function query<T extends z.ZodType>(ctx: Context, schema: T): z.infer<T> {
  return schema.parse(ctx.query);
}

export const Bbox = z
  .string()
  .transform((s, ctx) => {
    const n = s.split(',').map(Number);
    if (n.length !== 4 || n.some((v) => !Number.isFinite(v)) || n[0]! > n[2]! || n[1]! > n[3]!) {
      ctx.addIssue({ code: 'custom', message: `bbox "${s}" must be minLon,minLat,maxLon,maxLat with min ≤ max` });
      return z.NEVER;
    }
    return n as [number, number, number, number];
  });

/**
 * An instant of the grid history (issue #14): a date — the start of that day in the database's time zone —
 * or an ISO 8601 date-time; a date that does not exist (2026-02-30) is refused here, not by the database.
 */
export const AsOf = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/, 'expected a date such as 2026-01-01 or an ISO date-time such as 2026-01-01T08:00:00+08:00')
  .refine((v) => {
    const day = v.slice(0, 10);
    const d = new Date(`${day}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === day && !Number.isNaN(Date.parse(v.replace(' ', 'T')));
  }, 'not a real date or time');

export const Flag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');

/** The version a client expects, from `If-Match` (a plain number or an ETag like "v3"); null when absent. */
export function ifMatch(ctx: Context): number | null {
  const h = ctx.get('if-match');
  if (!h) return null;
  const m = /^(?:W\/)?"?v?(\d+)"?$/.exec(h.trim());
  if (!m) throw badRequest('invalid_if_match', `If-Match "${h}" is not a version; expected a number such as "3"`);
  return Number(m[1]);
}

export function lang(ctx: Context): 'zh-CN' | 'en' {
  const q = String(ctx.query.lang ?? '');
  if (q) return q.toLowerCase().startsWith('en') ? 'en' : 'zh-CN';
  return ctx.acceptsLanguages('zh-CN', 'zh', 'en') === 'en' ? 'en' : 'zh-CN';
}
