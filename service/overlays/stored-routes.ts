import type { Context } from 'koa';
import { z } from 'zod';
import { callerOf } from '../http/caller';
import { lang } from '../http/params';
import { readJson } from '../http/body';
import type { RouteDef } from '../http/route';
import { overlayToCsv, overlayToGeoJSON, overlayToXlsx } from '../geometry/overlay/index';
import { ReportBody, sendCsv, sendXlsx } from './routes';
import type { StoredOverlays } from './stored';

const IdParams = z.object({ id: z.coerce.number().int().positive() }).strict();
export const StoredReportQuery = z.object({ format: z.enum(['json', 'geojson', 'csv', 'xlsx']).default('json'), lang: z.string().optional() }).strict();

const scopeOf = (ctx: Context) => callerOf(ctx).scope;

/**
 * Stored overlays (issue #13 item 9): kept current after every grid change, served as the faces tile
 * layer `overlays.{id}` and as reports without recomputation.
 */
export function storedOverlayRoutes(stored: StoredOverlays, bodyLimit: number): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/api/overlays/stored',
      summary: 'Store an overlay (the report body): its faces are kept current after every grid change and served as a tile layer',
      tag: 'overlays',
      // A stored overlay is shared (every reader's tile layer): writing one is overlays:write, and the service
      // asks that the caller sees every system it reads whole.
      access: { permission: 'overlays:write' },
      request: { body: ReportBody, contentTypes: ['application/json'] },
      handler: async (ctx) => {
        const body = ReportBody.parse(await readJson(ctx, bodyLimit));
        const systems = body.systems.map((s) => (typeof s === 'string' ? { key: s } : s));
        const created = await stored.create({ ...body, systems }, scopeOf(ctx));
        ctx.status = 201;
        ctx.set('Location', `/api/overlays/stored/${created.id}`);
        ctx.body = { ...created, tiles: `/tiles/overlays.${created.id}.json` };
      },
    },
    {
      method: 'get',
      path: '/api/overlays/stored',
      summary: 'The stored overlays you may read',
      tag: 'overlays',
      access: { permission: 'overlays:read' },
      handler: async (ctx) => {
        ctx.body = { overlays: (await stored.list(scopeOf(ctx))).map((o) => ({ ...o, tiles: `/tiles/overlays.${o.id}.json` })) };
      },
    },
    {
      method: 'get',
      path: '/api/overlays/stored/:id',
      summary: "A stored overlay's report (json, geojson faces, csv or xlsx tables), cut to your area",
      tag: 'overlays',
      access: { permission: 'overlays:read' },
      request: { params: IdParams, query: StoredReportQuery },
      handler: async (ctx) => {
        const { id } = IdParams.parse(ctx.params);
        const q = StoredReportQuery.parse(ctx.query);
        const report = await stored.report(id, scopeOf(ctx), q.format === 'json' || q.format === 'geojson');
        if (q.format === 'geojson') {
          ctx.type = 'application/geo+json';
          ctx.body = overlayToGeoJSON(report);
        } else if (q.format === 'csv') sendCsv(ctx, `overlay-${id}`, overlayToCsv(report));
        else if (q.format === 'xlsx') sendXlsx(ctx, `overlay-${id}`, await overlayToXlsx(report, lang(ctx)));
        else ctx.body = report;
      },
    },
    {
      method: 'delete',
      path: '/api/overlays/stored/:id',
      summary: 'Remove a stored overlay and its tile layer',
      tag: 'overlays',
      access: { permission: 'overlays:write' },
      request: { params: IdParams },
      handler: async (ctx) => {
        const { id } = IdParams.parse(ctx.params);
        await stored.remove(id, scopeOf(ctx));
        ctx.status = 204;
      },
    },
  ];
}
