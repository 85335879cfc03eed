import type { Context } from 'koa';
import { readJson } from '../http/body';
import { callerOf } from '../http/caller';
import { ifMatch } from '../http/params';
import type { RouteDef } from '../http/route';
import { seesSystem } from '../kernel/scope';
import { CreateSystemSchema, PatchSystemSchema } from './schema';
import type { SystemService } from './service';

const systemScope = (ctx: Context) => ({ system: ctx.params.system! });

export function systemRoutes(systems: SystemService, bodyLimit: number): RouteDef[] {
  const tag = 'systems';
  return [
    {
      method: 'get',
      path: '/api/systems',
      tag,
      summary: 'List grid systems with grid counts per level',
      access: { permission: 'systems:read' },
      handler: async (ctx) => {
        const { scope } = callerOf(ctx);
        ctx.body = { systems: (await systems.list()).filter((s) => seesSystem(scope, s.key)) };
      },
    },
    {
      method: 'post',
      path: '/api/systems',
      tag,
      summary: 'Create a grid system (levels, code scheme, overlap policy)',
      access: { permission: 'systems:admin' },
      request: { body: CreateSystemSchema },
      handler: async (ctx) => {
        const created = await systems.create(await readJson(ctx, bodyLimit));
        ctx.status = 201;
        ctx.set('Location', `/api/systems/${created.key}`);
        ctx.body = created;
      },
    },
    {
      method: 'get',
      path: '/api/systems/:system',
      tag,
      summary: 'One grid system with its bounding box; ETag carries its version',
      access: { permission: 'systems:read', scope: systemScope },
      handler: async (ctx) => {
        const s = await systems.get(ctx.params.system!);
        ctx.set('ETag', `"v${s.version}"`);
        ctx.body = s;
      },
    },
    {
      method: 'patch',
      path: '/api/systems/:system',
      tag,
      summary: 'Change a grid system (If-Match for optimistic concurrency); levels in use cannot be removed',
      access: { permission: 'systems:admin', scope: systemScope },
      request: { body: PatchSystemSchema },
      handler: async (ctx) => {
        const s = await systems.patch(ctx.params.system!, await readJson(ctx, bodyLimit), ifMatch(ctx));
        ctx.set('ETag', `"v${s.version}"`);
        ctx.body = s;
      },
    },
    {
      method: 'delete',
      path: '/api/systems/:system',
      tag,
      summary: 'Delete a grid system and all its grids',
      access: { permission: 'systems:admin', scope: systemScope },
      handler: async (ctx) => {
        await systems.remove(ctx.params.system!);
        ctx.status = 204;
      },
    },
  ];
}
