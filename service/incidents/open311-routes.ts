import type { Context, Middleware } from 'koa';
import { z, ZodError } from 'zod';
import { AppError, notFound } from '../errors';
import { readBody, parseJson } from '../http/body';
import { lang } from '../http/params';
import type { RouteDef } from '../http/route';
import { parseW3Datetime, type Open311Status } from './open311';
import { MAX_RESULTS, type Open311Api } from './open311-service';
import { xmlDocument, type XmlValue } from './open311-xml';

const TAG = 'open311';
const BODY_LIMIT = 64 * 1024;
const SPECIFICATION = 'http://wiki.open311.org/GeoReport_v2';
/** When this endpoint's behaviour last changed, for the discovery document's `changeset`. */
const CHANGESET = '2026-12-03T00:00:00+08:00';

type Format = 'json' | 'xml';
const CONTENT_TYPES: Record<Format, string> = { json: 'application/json; charset=utf-8', xml: 'text/xml; charset=utf-8' };

/** Element names of list entries in the standard's XML documents. */
const XML_ITEMS = {
  services: 'service',
  attributes: 'attribute',
  values: 'value',
  service_requests: 'request',
  errors: 'error',
  endpoints: 'endpoint',
  formats: 'format',
} as const;

const W3Datetime = z.string().transform((s, ctx) => {
  const d = parseW3Datetime(s);
  if (!d) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a W3C date-time (e.g. 2026-12-03T09:30:00+08:00, or a date 2026-12-03)` });
    return z.NEVER;
  }
  return d;
});
const Decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/, 'expected a decimal number')
    .transform(Number)
    .pipe(z.number().min(min).max(max));

const Common = { api_key: z.string().optional(), jurisdiction_id: z.string().optional(), lang: z.string().optional() };
const FormatParams = z.object({ format: z.string() }).strict();
const CodeParams = z.object({ service_code: z.string(), format: z.string() }).strict();
const IdParams = z.object({ id: z.string(), format: z.string() }).strict();
const TokenParams = z.object({ token: z.string(), format: z.string() }).strict();
const ServicesQuery = z.object(Common).strict();
const DiscoveryQuery = z.object({}).strict();

const CreateBody = z
  .object({
    ...Common,
    service_code: z.string().min(1),
    lat: Decimal(-90, 90).optional(),
    long: Decimal(-180, 180).optional(),
    address_string: z.string().max(500).optional(),
    address_id: z.string().regex(/^\d+$/, 'expected the register id of an address').transform(Number).optional(),
    description: z.string().max(4000).optional(),
    media_url: z.url({ protocol: /^https?$/ }).max(2000).optional(),
    first_name: z.string().max(50).optional(),
    last_name: z.string().max(50).optional(),
    phone: z.string().regex(/^[0-9+\- ]{3,20}$/, 'expected 3–20 digits, spaces, + or -').optional(),
    email: z.email().max(200).optional(),
    device_id: z.string().max(200).optional(),
    account_id: z.string().max(200).optional(),
  })
  .strict();

const RequestsQuery = z
  .object({
    ...Common,
    service_request_id: z
      .string()
      .transform((s) => s.split(',').map((id) => id.trim()))
      .pipe(z.array(z.string().min(1)).min(1).max(MAX_RESULTS))
      .optional(),
    service_code: z.string().min(1).optional(),
    start_date: W3Datetime.optional(),
    end_date: W3Datetime.optional(),
    status: z
      .string()
      .transform((s) => s.split(',').map((v) => v.trim()))
      .pipe(z.array(z.enum(['open', 'closed'])).min(1))
      .optional(),
    updated_after: W3Datetime.optional(),
    updated_before: W3Datetime.optional(),
    page: z.coerce.number().int().min(1).default(1),
    page_size: z.coerce.number().int().min(1).max(MAX_RESULTS).default(MAX_RESULTS),
  })
  .strict();

/**
 * GeoReport v2 (issue #12) at /open311/v2/, each resource as `.json` or `.xml`. Answers and errors are in
 * the standard's shapes, not the rest of the API's: errors are a list of `{code, description}` whose code
 * is the HTTP status, with this service's stable error code at the start of the description.
 */
export function open311Routes(api: Open311Api): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/open311/discovery.:format',
      summary: 'Open311 service discovery: where the GeoReport v2 endpoint is and which formats it speaks',
      tag: TAG,
      access: { permission: 'open311:read' },
      request: { params: FormatParams, query: DiscoveryQuery },
      handler: open311(async (ctx) => {
        DiscoveryQuery.parse(ctx.query);
        const discovery = {
          changeset: CHANGESET,
          contact: '',
          key_service: 'api_key is issued per client by the operator of this service (README "Open311")',
          endpoints: [{ specification: SPECIFICATION, url: `${ctx.protocol}://${ctx.host}/open311/v2`, changeset: CHANGESET, type: 'production', formats: ['text/xml', 'application/json'] }],
        };
        return { root: 'discovery', body: discovery };
      }),
    },
    {
      method: 'get',
      path: '/open311/v2/services.:format',
      summary: 'GeoReport services: the minor classes of the incident classification',
      tag: TAG,
      access: { permission: 'open311:read' },
      request: { params: FormatParams, query: ServicesQuery },
      handler: open311(async (ctx) => {
        ServicesQuery.parse(ctx.query);
        return { root: 'services', body: api.services(lang(ctx)) as unknown as XmlValue };
      }),
    },
    {
      method: 'get',
      path: '/open311/v2/services/:service_code.:format',
      summary: "A GeoReport service definition: the class's extra fields as attributes",
      tag: TAG,
      access: { permission: 'open311:read' },
      request: { params: CodeParams, query: ServicesQuery },
      handler: open311(async (ctx) => {
        ServicesQuery.parse(ctx.query);
        return { root: 'service_definition', body: api.definition(CodeParams.parse(ctx.params).service_code) as unknown as XmlValue };
      }),
    },
    {
      method: 'post',
      path: '/open311/v2/requests.:format',
      summary: 'Create a GeoReport service request (an incident with source "api"); idempotent with an Idempotency-Key header, which is then its token',
      tag: TAG,
      access: { permission: 'open311:report' },
      request: { params: FormatParams, body: CreateBody, contentTypes: ['application/x-www-form-urlencoded', 'application/json'] },
      handler: open311(async (ctx) => {
        const raw = await readForm(ctx);
        const key = await api.authenticate(typeof raw.api_key === 'string' ? raw.api_key : undefined);
        const input = CreateBody.parse(raw);
        const token = ctx.get('idempotency-key') || undefined;
        if (token && !/^[A-Za-z0-9._~-]{1,100}$/.test(token)) {
          throw new AppError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1–100 characters of A–Z, a–z, 0–9, ".", "_", "~" or "-" (it becomes the request token)', { field: 'Idempotency-Key' });
        }
        const created = await api.create(key, input, { idempotencyKey: token });
        ctx.status = 201;
        return { root: 'service_requests', body: [created] };
      }),
    },
    {
      method: 'get',
      path: '/open311/v2/requests.:format',
      summary: 'GeoReport service requests: filters service_request_id, service_code, start_date, end_date, status; extensions page/page_size, updated_after/updated_before',
      tag: TAG,
      access: { permission: 'open311:read' },
      request: { params: FormatParams, query: RequestsQuery },
      handler: open311(async (ctx) => {
        const key = await api.authenticate(queryKey(ctx));
        const q = RequestsQuery.parse(ctx.query);
        const statuses = q.status ? [...new Set(q.status)] : undefined;
        const requests = await api.list(key, { ...q, status: statuses?.length === 1 ? (statuses[0] as Open311Status) : undefined }, lang(ctx));
        return { root: 'service_requests', body: requests as unknown as XmlValue };
      }),
    },
    {
      method: 'get',
      path: '/open311/v2/requests/:id.:format',
      summary: 'One GeoReport service request by its id (the case number)',
      tag: TAG,
      access: { permission: 'open311:read' },
      request: { params: IdParams, query: ServicesQuery },
      handler: open311(async (ctx) => {
        const key = await api.authenticate(queryKey(ctx));
        ServicesQuery.parse(ctx.query);
        return { root: 'service_requests', body: [await api.get(key, IdParams.parse(ctx.params).id, lang(ctx))] as unknown as XmlValue };
      }),
    },
    {
      method: 'get',
      path: '/open311/v2/tokens/:token.:format',
      summary: "The service request id behind a token (the POST's Idempotency-Key, or a case number)",
      tag: TAG,
      access: { permission: 'open311:read' },
      request: { params: TokenParams, query: ServicesQuery },
      handler: open311(async (ctx) => {
        const key = await api.authenticate(queryKey(ctx));
        ServicesQuery.parse(ctx.query);
        return { root: 'service_requests', body: [await api.token(key, TokenParams.parse(ctx.params).token)] };
      }),
    },
  ];
}

function queryKey(ctx: Context): string | undefined {
  return typeof ctx.query.api_key === 'string' ? ctx.query.api_key : undefined;
}

/**
 * Runs a GeoReport handler and writes its answer, or its error as the standard's list, in the format the
 * path asks for. An unknown format is a 404 in XML, the format every client must read.
 */
function open311(handler: (ctx: Context) => Promise<{ root: string; body: XmlValue }>): Middleware {
  return async (ctx) => {
    const format = ctx.params.format === 'json' || ctx.params.format === 'xml' ? (ctx.params.format as Format) : null;
    try {
      if (!format) throw notFound('unknown_format', `format "${ctx.params.format}" is not served; use .xml or .json`);
      const { root, body } = await handler(ctx);
      write(ctx, format, root, body);
    } catch (err) {
      const error = open311Error(err);
      if (!error) throw err;
      ctx.status = error.status;
      write(ctx, format ?? 'xml', 'errors', [{ code: error.status, description: error.description }]);
    }
  };
}

function write(ctx: Context, format: Format, root: string, body: XmlValue): void {
  ctx.type = CONTENT_TYPES[format];
  ctx.body = format === 'json' ? JSON.stringify(body) : xmlDocument(root, body, XML_ITEMS);
}

/**
 * The standard's error for an input or access problem; the incident service's 422s (a point outside the
 * territory, an unknown address) are a 400 here, the status GeoReport gives a request it cannot accept.
 * Anything else is left to the error middleware (a logged 500).
 */
function open311Error(err: unknown): { status: number; description: string } | null {
  if (err instanceof ZodError) {
    return { status: 400, description: `invalid_request: ${err.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`).join('; ')}` };
  }
  if (err instanceof AppError && err.status < 500) {
    return { status: err.status === 422 ? 400 : err.status, description: `${err.code}: ${err.message}` };
  }
  return null;
}

/** The POST body: form-encoded as the standard says, or JSON; empty fields count as absent. */
async function readForm(ctx: Context): Promise<Record<string, unknown>> {
  const raw = await readBody(ctx, BODY_LIMIT);
  let entries: [string, unknown][];
  if (ctx.is('application/json')) {
    const json = parseJson(raw);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new AppError(400, 'invalid_body', 'the JSON body must be an object of request fields');
    entries = Object.entries(json).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v]);
  } else {
    entries = [];
    const seen = new Set<string>();
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) {
      if (seen.has(k)) throw new AppError(400, 'repeated_field', `field ${k} is sent more than once`, { field: k });
      seen.add(k);
      entries.push([k, v]);
    }
  }
  return Object.fromEntries(entries.filter(([, v]) => v !== ''));
}
