import type { Context } from 'koa';
import { z } from 'zod';
import { readJson } from '../http/body';
import { query } from '../http/params';
import type { RouteDef } from '../http/route';
import type { GridFeature, Operation } from './operations';
import type { Changeset, ChangesetService, GridVersion } from './service';
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
const AsOfQuery = z
  .object({ asOf: z.string().regex(/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/, 'expected a date such as 2026-01-01 or an ISO timestamp') })
  .strict();
const Id = z.object({ system: z.string(), id: z.coerce.number().int().positive() });

/** The acting user; until access control lands (issue #10) an unauthenticated caller is "anonymous". */
const actor = (ctx: Context): string => (ctx.state as { principal?: { username?: string } }).principal?.username ?? 'anonymous';
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
      path: '/api/systems/:system/history',
      tag,
      summary: 'The grids of a system as they stood at a date or instant (?asOf=2026-01-01)',
      access: { permission: 'changesets:read', scope: systemScope },
      request: { query: AsOfQuery },
      handler: async (ctx) => {
        const q = query(ctx, AsOfQuery);
        ctx.type = 'application/geo+json';
        ctx.body = { type: 'FeatureCollection', asOf: q.asOf, features: (await changesets.asOf(ctx.params.system!, q.asOf)).map(versionToFeature) };
      },
    },
  ];
}
