import type { Context } from 'koa';
import { z } from 'zod';
import { writeXlsx } from '../formats/xlsx';
import { toCsv } from '../formats/csv';
import { badRequest } from '../errors';
import { decodeGridImportFile } from '../grids';
import { bodyChunks, readJson, withSpooledFile } from '../http/body';
import { callerOf } from '../http/caller';
import { AsOf, lang, query } from '../http/params';
import type { RouteDef } from '../http/route';
import type { GridFeature, Operation } from './operations';
import { datedPieces } from './proof';
import { changeRecordTable } from './record';
import type { Changeset, ChangesetService, DatedChange, GridVersion } from './service';
import { STATUSES } from './workflow';

const Position = z.array(z.number()).min(2).max(3);
const PolygonCoords = z.array(z.array(Position).min(4)).min(1);
const Geometry = z.discriminatedUnion('type', [
  z.object({ type: z.literal('Polygon'), coordinates: PolygonCoords }).strict(),
  z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(PolygonCoords).min(1) }).strict(),
]);
const Feature = z
  .object({ type: z.literal('Feature'), id: z.union([z.string(), z.number()]).optional(), properties: z.record(z.string(), z.unknown()), geometry: Geometry.nullable() })
  .strict();
/** Grids as grid import takes them: a FeatureCollection (or a plain array of Features). */
const Features = z
  .union([z.object({ type: z.literal('FeatureCollection'), features: z.array(Feature) }).strict(), z.array(Feature)])
  .transform((v) => (Array.isArray(v) ? v : v.features) as GridFeature[]);
const Code = z.string().min(1);

const OperationSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('redraw'), grids: Features }).strict(),
  z.object({ op: z.literal('split'), code: Code, into: Features }).strict(),
  z.object({ op: z.literal('merge'), codes: z.array(Code).min(2), into: z.object({ code: Code, name: z.string().optional() }).strict(), geometry: Geometry.optional() }).strict(),
  z.object({ op: z.literal('add'), grids: Features }).strict(),
  z.object({ op: z.literal('remove'), code: Code, giveTo: z.array(Code).min(1), grids: Features.optional() }).strict(),
  z.object({ op: z.literal('reparent'), code: Code, parent: Code }).strict(),
  z.object({ op: z.literal('rename'), code: Code, name: z.string().min(1).optional(), newCode: Code.optional() }).strict(),
]);

const CreateBody = z.object({ reason: z.string().trim().min(1), operations: z.array(OperationSchema).min(1) }).strict();
const AppendBody = z.object({ operations: z.array(OperationSchema).min(1) }).strict();
const ApproveBody = z.object({ comment: z.string().optional(), accept: z.array(z.string()).default([]) }).strict();
const RejectBody = z.object({ comment: z.string().trim().min(1) }).strict();
const ListQuery = z.object({ status: z.enum(STATUSES).optional() }).strict();
const AsOfQuery = z.object({ asOf: AsOf }).strict();
const BetweenQuery = z.object({ from: AsOf, to: AsOf, format: z.enum(['json', 'geojson']).default('json') }).strict();
const RecordQuery = z.object({ format: z.enum(['json', 'csv', 'xlsx']).default('json'), lang: z.string().optional() }).strict();
/** An operation whose grids come as a file (zipped Shapefile or GeoJSON) in the body, as grid import takes it. */
const UploadQuery = z
  .object({
    op: z.enum(['redraw', 'split', 'add', 'remove']),
    code: Code.optional(),
    giveTo: z.string().optional().transform((v) => (v === undefined ? undefined : v.split(',').map((c) => c.trim()).filter(Boolean))),
    crs: z.string().optional(),
  })
  .strict();
/** DBF field names are often upper case, and a DBF has no absent value: only the grid fields an operation reads are kept. */
const FILE_FIELDS: Record<string, string> = { code: 'code', name: 'name', level: 'level', parent: 'parent', parent_code: 'parent' };

/** The features of an uploaded file as operation grids: the geometry, with code, name, level and parent. */
function fileGrids(features: unknown[]): GridFeature[] {
  const parsed = z.array(Feature).safeParse(
    features.map((f) => {
      const props = ((f as { properties?: Record<string, unknown> | null }).properties ?? {}) as Record<string, unknown>;
      const kept: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(props)) {
        const field = FILE_FIELDS[k.toLowerCase()];
        if (field && v !== null && v !== '') kept[field] = typeof v === 'number' ? String(v) : v;
      }
      return { type: 'Feature', properties: kept, geometry: (f as { geometry?: unknown }).geometry ?? null };
    }),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest('invalid_features', `feature ${String(issue.path[0])}: ${issue.path.slice(1).join('.')} ${issue.message}; expected Polygon or MultiPolygon grids`);
  }
  if (parsed.data.length === 0) throw badRequest('invalid_features', 'the file holds no features');
  return parsed.data as GridFeature[];
}

/** One operation from an uploaded file and the query naming what it acts on. */
function uploadedOperation(q: z.infer<typeof UploadQuery>, grids: GridFeature[]): Operation {
  const need = <T>(v: T | undefined, name: string): T => {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) throw badRequest('invalid_request', `op=${q.op} needs the query parameter ${name}`);
    return v;
  };
  switch (q.op) {
    case 'redraw':
      return { op: 'redraw', grids };
    case 'add':
      return { op: 'add', grids };
    case 'split':
      return { op: 'split', code: need(q.code, 'code'), into: grids };
    case 'remove':
      return { op: 'remove', code: need(q.code, 'code'), giveTo: need(q.giveTo, 'giveTo'), grids };
  }
}

const Id = z.object({ system: z.string(), id: z.coerce.number().int().positive() });

/** The acting user, as the authorizer admitted them (issue #10); "anonymous" for a public caller. */
const actor = (ctx: Context): string => callerOf(ctx).user?.username ?? 'anonymous';
const systemScope = (ctx: Context) => ({ system: ctx.params.system! });

function versionToFeature(v: GridVersion) {
  return {
    type: 'Feature' as const,
    id: v.code,
    geometry: v.geometry,
    properties: {
      code: v.code,
      name: v.name,
      level: v.level,
      parent: v.parentCode,
      ...v.properties,
      version: v.version,
      valid_from: v.validFrom,
      valid_to: v.validTo,
      changeset: v.changesetId,
      proposed_by: v.proposedBy,
      approved_by: v.approvedBy,
    },
  };
}

/** The diff layer between two dates: per grid the area added and removed (a whole grid when it came or went). */
function diffLayer(changes: DatedChange[]) {
  return changes.flatMap((c) =>
    datedPieces([c]).map((p) => ({
      type: 'Feature' as const,
      geometry: p.geometry,
      properties: { change: p.change, grid: p.grid, code: p.code, code_before: c.codeBefore, code_after: c.codeAfter, area_m2: p.area_m2 },
    })),
  );
}

export function changesetRoutes(changesets: ChangesetService, bodyLimit: number): RouteDef[] {
  const tag = 'changesets';
  const base = '/api/systems/:system/changesets';
  const id = (ctx: Context) => Id.parse(ctx.params).id;
  const action = (verb: string, summary: string, permission: string, run: (ctx: Context) => Promise<Changeset>, body?: z.ZodType): RouteDef => ({
    method: 'post',
    path: `${base}/:id/${verb}`,
    tag,
    summary,
    access: { permission, scope: systemScope },
    ...(body ? { request: { body } } : {}),
    handler: async (ctx) => {
      ctx.body = await run(ctx);
    },
  });
  return [
    {
      method: 'get',
      path: base,
      tag,
      summary: 'Changesets of a system, optionally by status',
      access: { permission: 'changesets:read', scope: systemScope },
      request: { query: ListQuery },
      handler: async (ctx) => {
        const q = query(ctx, ListQuery);
        ctx.body = { changesets: await changesets.list(ctx.params.system!, q.status) };
      },
    },
    {
      method: 'post',
      path: base,
      tag,
      summary: 'Propose a changeset (a draft): operations with a reason; proof and impact are computed',
      access: { permission: 'changesets:propose', scope: systemScope },
      request: { body: CreateBody },
      handler: async (ctx) => {
        const body = CreateBody.parse(await readJson(ctx, bodyLimit));
        ctx.status = 201;
        ctx.body = await changesets.create(ctx.params.system!, { reason: body.reason, operations: body.operations as Operation[] }, actor(ctx));
      },
    },
    {
      method: 'get',
      path: `${base}/:id`,
      tag,
      summary: 'One changeset with its operations, proof, impact and workflow events',
      access: { permission: 'changesets:read', scope: systemScope },
      handler: async (ctx) => {
        ctx.body = await changesets.get(ctx.params.system!, id(ctx));
      },
    },
    {
      method: 'get',
      path: `${base}/:id/diff`,
      tag,
      summary: 'The diff layer against the current grids: added and removed area per grid (GeoJSON)',
      access: { permission: 'changesets:read', scope: systemScope },
      handler: async (ctx) => {
        ctx.type = 'application/geo+json';
        ctx.body = await changesets.diff(ctx.params.system!, id(ctx));
      },
    },
    action('operations', 'Append operations to a draft; the proof is recomputed', 'changesets:propose', async (ctx) => {
      const body = AppendBody.parse(await readJson(ctx, bodyLimit));
      return changesets.append(ctx.params.system!, id(ctx), body.operations as Operation[], actor(ctx));
    }, AppendBody),
    {
      method: 'post',
      path: `${base}/:id/operations/file`,
      tag,
      summary: 'Append one operation whose grids come as a zipped Shapefile or GeoJSON file (as grid import reads them)',
      access: { permission: 'changesets:propose', scope: systemScope },
      request: { query: UploadQuery, contentTypes: ['application/zip', 'application/geo+json', 'application/json'] },
      handler: async (ctx) => {
        const q = query(ctx, UploadQuery);
        // Spooled to disk like the grid import: a shapefile's zip is read entry by entry, never whole in memory.
        const { features, crs } = await withSpooledFile(bodyChunks(ctx, bodyLimit), '.upload', (file) =>
          decodeGridImportFile(file, Boolean(ctx.is('application/zip', 'application/x-zip-compressed')), q.crs),
        );
        ctx.set('X-Source-Crs', crs);
        ctx.body = await changesets.append(ctx.params.system!, id(ctx), [uploadedOperation(q, fileGrids(features))], actor(ctx));
      },
    },
    action('submit', 'Submit a draft for approval', 'changesets:propose', (ctx) => changesets.submit(ctx.params.system!, id(ctx), actor(ctx))),
    action('withdraw', 'Withdraw a submitted changeset back to draft', 'changesets:propose', (ctx) => changesets.withdraw(ctx.params.system!, id(ctx), actor(ctx))),
    action('reopen', 'Reopen a rejected changeset as a draft', 'changesets:propose', (ctx) => changesets.reopen(ctx.params.system!, id(ctx), actor(ctx))),
    action('rebase', 'Re-base on the current grids and recompute the proof (voids an approval)', 'changesets:propose', (ctx) => changesets.rebase(ctx.params.system!, id(ctx), actor(ctx))),
    action('approve', 'Approve (审定); every finding of the proof must be accepted by id', 'changesets:approve', async (ctx) => {
      const body = ApproveBody.parse(await readJson(ctx, bodyLimit));
      return changesets.approve(ctx.params.system!, id(ctx), actor(ctx), body);
    }, ApproveBody),
    action('reject', 'Reject with a comment', 'changesets:approve', async (ctx) => {
      const body = RejectBody.parse(await readJson(ctx, bodyLimit));
      return changesets.reject(ctx.params.system!, id(ctx), actor(ctx), body.comment);
    }, RejectBody),
    action('apply', 'Apply an approved changeset atomically (409 changeset_stale when its grids changed)', 'changesets:apply', (ctx) => changesets.apply(ctx.params.system!, id(ctx), actor(ctx))),
    {
      method: 'get',
      path: '/api/systems/:system/grids/:code/history',
      tag,
      summary: 'Every version of a grid (following recodes), with validity and the changeset that made it',
      access: { permission: 'changesets:read', scope: (ctx) => ({ system: ctx.params.system!, code: ctx.params.code! }) },
      handler: async (ctx) => {
        const versions = await changesets.history(ctx.params.system!, ctx.params.code!);
        ctx.type = 'application/geo+json';
        ctx.body = { type: 'FeatureCollection', features: versions.map(versionToFeature) };
      },
    },
    {
      method: 'get',
      path: '/api/systems/:system/history/diff',
      tag,
      summary: 'Grids added, removed and changed between two dates, with the area gained and lost (JSON, or a GeoJSON diff layer)',
      access: { permission: 'changesets:read', scope: systemScope },
      request: { query: BetweenQuery },
      handler: async (ctx) => {
        const q = query(ctx, BetweenQuery);
        const changes = await changesets.between(ctx.params.system!, q.from, q.to, callerOf(ctx).scope);
        if (q.format === 'geojson') {
          ctx.type = 'application/geo+json';
          ctx.body = { type: 'FeatureCollection', from: q.from, to: q.to, features: diffLayer(changes) };
          return;
        }
        const strip = (c: (typeof changes)[number]) => {
          const { added: _a, removed: _r, ...rest } = c;
          return rest;
        };
        ctx.body = {
          system: ctx.params.system,
          from: q.from,
          to: q.to,
          added: changes.filter((c) => c.change === 'added').map(strip),
          removed: changes.filter((c) => c.change === 'removed').map(strip),
          changed: changes.filter((c) => c.change === 'changed').map(strip),
        };
      },
    },
    {
      method: 'get',
      path: '/api/systems/:system/change-record',
      tag,
      summary: 'The change record (调整记录) of applied changesets: one row per grid changed (JSON, CSV or XLSX; zh-CN, ?lang=en)',
      access: { permission: 'changesets:read', scope: systemScope },
      request: { query: RecordQuery },
      handler: async (ctx) => {
        const q = query(ctx, RecordQuery);
        const rows = await changesets.record(ctx.params.system!, callerOf(ctx).scope);
        if (q.format === 'json') {
          ctx.body = { rows };
          return;
        }
        const table = changeRecordTable(rows, lang(ctx));
        const file = `${ctx.params.system}-change-record`;
        if (q.format === 'csv') {
          ctx.type = 'text/csv; charset=utf-8';
          ctx.set('Content-Disposition', `attachment; filename="${file}.csv"`);
          ctx.body = toCsv(table.header, table.rows, { bom: true });
        } else {
          ctx.type = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
          ctx.set('Content-Disposition', `attachment; filename="${file}.xlsx"`);
          ctx.body = await writeXlsx(lang(ctx) === 'en' ? 'change record' : '网格调整记录', table.header, table.rows);
        }
      },
    },
    {
      method: 'get',
      path: '/api/systems/:system/history',
      tag,
      summary: 'The grids of a system as they stood at a date or instant (?asOf=2026-01-01)',
      access: { permission: 'changesets:read', scope: systemScope },
      request: { query: AsOfQuery },
      handler: async (ctx) => {
        const q = query(ctx, AsOfQuery);
        ctx.type = 'application/geo+json';
        ctx.body = { type: 'FeatureCollection', asOf: q.asOf, features: (await changesets.asOf(ctx.params.system!, q.asOf, callerOf(ctx).scope)).map(versionToFeature) };
      },
    },
  ];
}
