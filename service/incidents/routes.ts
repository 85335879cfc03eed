import type { Context } from 'koa';
import { z } from 'zod';
import { AppError, badRequest } from '../errors';
import { readBody, readJson } from '../http/body';
import { callerOf } from '../http/caller';
import { Bbox, lang } from '../http/params';
import type { RouteDef } from '../http/route';
import type { AreaScope } from '../kernel/scope';
import { TIME_LIMIT_TYPES } from './calendar';
import { CALENDAR_YEARS } from './calendar-days';
import { bulletinCsv, bulletinHtml, bulletinXlsx } from './bulletin';
import { imageType, PHOTO_LIMIT_BYTES } from './photos';
import { SOURCES, type IncidentService } from './service';
import { ACTIONS, ROUTES, STATUSES } from './workflow';

const JSON_LIMIT = 1024 * 1024;
const TAG = 'incidents';

const Point = z.object({ x: z.number(), y: z.number(), crs: z.string().optional() }).strict();
const Actor = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('grid_worker'), unit: z.string().min(1), name: z.string().min(1) }).strict(),
  z.object({ kind: z.literal('unit_officer'), unit: z.string().min(1), name: z.string().min(1) }).strict(),
  z.object({ kind: z.literal('department'), department: z.string().min(1), name: z.string().min(1) }).strict(),
  z.object({ kind: z.literal('command_centre'), name: z.string().min(1) }).strict(),
]);
const TimeLimitBody = z.object({ type: z.enum(TIME_LIMIT_TYPES), amount: z.number().positive() }).strict();

export const CreateBody = z
  .object({
    category: z.string().min(1),
    point: Point,
    addressId: z.number().int().positive().optional(),
    source: z.enum(SOURCES),
    reporter: z.object({ name: z.string().max(100).optional(), phone: z.string().regex(/^[0-9+\- ]{3,20}$/).optional() }).strict().optional(),
    description: z.string().min(1).max(4000),
    priority: z.number().int().min(1).max(5).optional(),
    route: z.enum(ROUTES).optional(),
  })
  .strict();

export const TransitionBody = z
  .object({
    action: z.enum(ACTIONS),
    actor: Actor,
    note: z.string().max(4000).optional(),
    location: Point.optional(),
    photos: z.array(z.number().int().positive()).max(20).optional(),
    department: z.string().optional(),
    extension: TimeLimitBody.optional(),
    evaluation: z.object({ score: z.number().int().min(1).max(5), note: z.string().max(2000).optional() }).strict().optional(),
  })
  .strict();

const RerouteBody = z.object({ actor: Actor, point: Point.optional(), category: z.string().optional(), note: z.string().max(4000).optional() }).strict();

const Id = z.object({ id: z.coerce.number().int().positive() }).strict();
const PhotoParams = z.object({ id: z.coerce.number().int().positive(), photo: z.coerce.number().int().positive() }).strict();
const Instant = z.string().transform((s, ctx) => {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00+08:00` : s);
  if (Number.isNaN(+d)) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a date (YYYY-MM-DD, Beijing time) or an ISO 8601 instant` });
    return z.NEVER;
  }
  return d;
});

const ListQuery = z
  .object({
    status: z
      .string()
      .transform((s) => s.split(','))
      .pipe(z.array(z.enum(STATUSES)))
      .optional(),
    category: z.string().optional(),
    unit: z.string().optional(),
    source: z.enum(SOURCES).optional(),
    overdue: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    card: z.enum(['none', 'yellow', 'red']).optional(),
    bbox: Bbox.optional(),
    from: Instant.optional(),
    to: Instant.optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

const StatsQuery = z
  .object({
    from: Instant,
    to: Instant,
    unit: z.string().optional(),
    by: z.enum(['unit', 'department', 'worker', 'category']).default('unit'),
  })
  .strict();

const BulletinQuery = z
  .object({
    period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$/, 'period must be YYYY-MM (a month) or YYYY-Qn (a quarter)'),
    unit: z.string().optional(),
    format: z.enum(['csv', 'xlsx', 'html']).default('csv'),
    lang: z.string().optional(),
  })
  .strict();

const CalendarQuery = z.object({ year: z.coerce.number().int().min(2025).max(2027).optional() }).strict();
const PhotoQuery = z.object({ stage: z.enum(['before', 'after']) }).strict();

/** The part of the territory the caller may see, set by the access feature's authorizer (issue #10) on `ctx.state.scope`. */
function areaScope(ctx: Context): AreaScope {
  return callerOf(ctx).scope;
}

/** The incident routes of issue #11, each with its access declaration. */
export function incidentRoutes(incidents: IncidentService): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/api/incidents/classification',
      summary: 'The incident classification (major → minor classes), departments and policy',
      tag: TAG,
      access: { permission: 'incidents:read' },
      handler: (ctx) => {
        ctx.body = incidents.classification.doc;
      },
    },
    {
      method: 'get',
      path: '/api/incidents/calendar',
      summary: 'The working calendar: working hours, public holidays and adjusted working days (调休)',
      tag: TAG,
      access: { permission: 'incidents:read' },
      request: { query: CalendarQuery },
      handler: (ctx) => {
        const { year } = CalendarQuery.parse(ctx.query);
        const { calendar } = incidents;
        const years = calendar.years.filter((y) => !year || y.year === year);
        ctx.body = {
          timezone: 'Asia/Shanghai',
          workingHours: calendar.hours,
          workingDayHours: calendar.dayMs / 3_600_000,
          coveredYears: CALENDAR_YEARS,
          years: years.map((y) => ({
            year: y.year,
            source: y.source,
            provisional: y.provisional,
            days: [...Object.keys(y.holidays), ...Object.keys(y.workdays)].sort().map((d) => calendar.describeDay(d)),
          })),
        };
      },
    },
    {
      method: 'get',
      path: '/api/incidents/stats',
      summary: 'Indicators for a period by unit (rolled up), department, worker or category',
      tag: TAG,
      access: { permission: 'incidents:stats' },
      request: { query: StatsQuery },
      handler: async (ctx) => {
        const q = StatsQuery.parse(ctx.query);
        if (!(q.to > q.from)) throw badRequest('invalid_period', `to (${q.to.toISOString()}) must be after from (${q.from.toISOString()})`, { field: 'to' });
        ctx.body = { from: q.from.toISOString(), to: q.to.toISOString(), unit: q.unit ?? null, by: q.by, ...(await incidents.stats({ ...q, scope: areaScope(ctx) })) };
      },
    },
    {
      method: 'get',
      path: '/api/incidents/bulletin',
      summary: 'The monthly or quarterly bulletin (月报/季报), one row per unit: CSV, XLSX or a printable HTML page',
      tag: TAG,
      access: { permission: 'incidents:stats' },
      request: { query: BulletinQuery },
      handler: async (ctx) => {
        const q = BulletinQuery.parse(ctx.query);
        const bulletin = await incidents.bulletin(q.period, q.unit, areaScope(ctx));
        const language = lang(ctx);
        const file = `incidents-${q.period}${q.unit ? `-${q.unit}` : ''}`;
        if (q.format === 'html') {
          ctx.type = 'text/html; charset=utf-8';
          ctx.body = bulletinHtml(bulletin, language);
          return;
        }
        if (q.format === 'xlsx') {
          ctx.type = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
          ctx.attachment(`${file}.xlsx`);
          ctx.body = await bulletinXlsx(bulletin, language);
          return;
        }
        ctx.type = 'text/csv; charset=utf-8';
        ctx.attachment(`${file}.csv`);
        ctx.body = bulletinCsv(bulletin, language);
      },
    },
    {
      method: 'post',
      path: '/api/incidents',
      summary: 'Report an incident (idempotent with an Idempotency-Key header)',
      tag: TAG,
      access: { permission: 'incidents:create' },
      request: { body: CreateBody },
      handler: async (ctx) => {
        const body = CreateBody.parse(await readJson(ctx, JSON_LIMIT));
        const key = ctx.get('idempotency-key') || undefined;
        if (key && key.length > 200) throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be at most 200 characters', { field: 'Idempotency-Key' });
        const { incident, created } = await incidents.create(body, { idempotencyKey: key });
        ctx.status = created ? 201 : 200;
        ctx.set('Location', `/api/incidents/${incident.id}`);
        ctx.body = incident;
      },
    },
    {
      method: 'get',
      path: '/api/incidents',
      summary: 'List incidents with filters (status, category, unit subtree, source, overdue, card, bbox, dates, paging)',
      tag: TAG,
      access: { permission: 'incidents:read' },
      request: { query: ListQuery },
      handler: async (ctx) => {
        const q = ListQuery.parse(ctx.query);
        const { total, items } = await incidents.list({ ...q, scope: areaScope(ctx) });
        ctx.body = { total, limit: q.limit, offset: q.offset, items };
      },
    },
    {
      method: 'get',
      path: '/api/incidents/:id',
      summary: 'One incident with its log and photos',
      tag: TAG,
      access: { permission: 'incidents:read' },
      request: { params: Id },
      handler: async (ctx) => {
        const { id } = Id.parse(ctx.params);
        await incidents.requireInScope(id, areaScope(ctx));
        ctx.body = await incidents.get(id);
      },
    },
    {
      method: 'get',
      path: '/api/incidents/:id/reporter',
      summary: "The reporter's name and phone, unmasked",
      tag: TAG,
      access: { permission: 'incidents:reporter' },
      request: { params: Id },
      handler: async (ctx) => {
        const { id } = Id.parse(ctx.params);
        await incidents.requireInScope(id, areaScope(ctx));
        ctx.set('Cache-Control', 'no-store');
        ctx.body = await incidents.reporter(id);
      },
    },
    {
      method: 'patch',
      path: '/api/incidents/:id',
      summary: 'Move the point or change the category of an open case; it is routed again and the log says why',
      tag: TAG,
      access: { permission: 'incidents:act' },
      request: { params: Id, body: RerouteBody },
      handler: async (ctx) => {
        const { id } = Id.parse(ctx.params);
        await incidents.requireInScope(id, areaScope(ctx));
        ctx.body = await incidents.reroute(id, RerouteBody.parse(await readJson(ctx, JSON_LIMIT)));
      },
    },
    {
      method: 'post',
      path: '/api/incidents/:id/transitions',
      summary: "One step of the case loop, as the route's transition table allows",
      tag: TAG,
      access: { permission: 'incidents:act' },
      request: { params: Id, body: TransitionBody },
      handler: async (ctx) => {
        const { id } = Id.parse(ctx.params);
        await incidents.requireInScope(id, areaScope(ctx));
        ctx.body = await incidents.transition(id, TransitionBody.parse(await readJson(ctx, JSON_LIMIT)));
      },
    },
    {
      method: 'post',
      path: '/api/incidents/:id/photos',
      summary: 'Add a photo before or after handling (JPEG, PNG, WebP or GIF, checked by content)',
      tag: TAG,
      access: { permission: 'incidents:act' },
      request: { params: Id, query: PhotoQuery, contentTypes: ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] },
      handler: async (ctx) => {
        const { id } = Id.parse(ctx.params);
        await incidents.requireInScope(id, areaScope(ctx));
        const { stage } = PhotoQuery.parse(ctx.query);
        const bytes = await readBody(ctx, PHOTO_LIMIT_BYTES);
        const type = imageType(bytes);
        if (!type) throw new AppError(415, 'not_an_image', 'the photo is not a JPEG, PNG, WebP or GIF image (checked by its content)', { field: 'body' });
        const photo = await incidents.addPhoto(id, stage, type, bytes);
        ctx.status = 201;
        ctx.set('Location', `/api/incidents/${id}/photos/${photo.id}`);
        ctx.body = photo;
      },
    },
    {
      method: 'get',
      path: '/api/incidents/:id/photos/:photo',
      summary: 'One photo, with its image type',
      tag: TAG,
      access: { permission: 'incidents:read' },
      request: { params: PhotoParams },
      handler: async (ctx) => {
        const { id, photo } = PhotoParams.parse(ctx.params);
        await incidents.requireInScope(id, areaScope(ctx));
        const p = await incidents.photo(id, photo);
        ctx.type = p.contentType;
        ctx.set('ETag', `"${p.sha256}"`);
        ctx.set('Cache-Control', 'private, max-age=31536000, immutable');
        ctx.set('X-Content-Type-Options', 'nosniff');
        ctx.body = p.bytes;
      },
    },
  ];
}
