import fs from 'node:fs';
import type { Context } from 'koa';
import { z } from 'zod';
import { ancestorsInScope, MASKED_FIELDS, maskGrid } from '../access';
import { badRequest } from '../errors';
import { bodyChunks, readJson, withSpooledFile } from '../http/body';
import { callerOf } from '../http/caller';
import { AsOf, Bbox, Flag, ifMatch, lang, query } from '../http/params';
import type { RouteDef } from '../http/route';
import type { AreaScope } from '../kernel/scope';
import type { Grid } from '../kernel/types';
import type { SystemService } from '../systems';
import { exportGeoJson, exportShapefile, registerCsv, registerXlsx, type RegisterCounts } from './export';
import { gridToFeature, toCollection } from './features';
import { decodeGridImportFile, streamGridGeoJson } from './import-body';
import type { GridService } from './service';

const ListQuery = z.object({ level: z.string().optional(), parent: z.string().optional(), bbox: Bbox.optional() });
const WriteQuery = z.object({ repair: Flag });
const ImportQuery = z.object({ mode: z.enum(['append', 'replace']).default('append'), repair: Flag, strict: Flag, parent: z.string().optional(), crs: z.string().optional() });
const ExportQuery = z.object({
  format: z.enum(['geojson', 'shapefile', 'csv', 'xlsx']).default('geojson'),
  encoding: z.enum(['utf-8', 'gbk']).default('utf-8'),
  lang: z.string().optional(),
  // The grids as they stood at a date or instant, from the grid history (issue #14).
  asOf: AsOf.optional(),
});
const DeleteQuery = z.object({ cascade: Flag });
const RenumberQuery = z.object({ dryRun: Flag });

/** Per-grid address counts for the register (issue #5). */
export type RegisterCountsOf = (system: string) => Promise<Map<string, RegisterCounts>>;

/** The grids of a system as they stood at an instant, in the caller's scope (the history of issue #14). */
export type GridsAsOf = (system: string, at: string, scope: AreaScope) => Promise<Grid[]>;

const systemScope = (ctx: Context) => ({ system: ctx.params.system! });
/** Grids as the caller may see them: people masked for roles without personal data (issue #10). */
const visible = (ctx: Context) => (callerOf(ctx).personalData ? (grids: Grid[]) => grids : (grids: Grid[]) => grids.map(maskGrid));
const gridScope = (ctx: Context) => ({ system: ctx.params.system!, code: ctx.params.code! });

/**
 * @param bodyLimit largest JSON body of a single-grid write
 * @param importLimit largest import upload (`IMPORT_MAX_BYTES`; a whole-country GeoJSON is ~300 MB)
 */
export function gridRoutes(systems: SystemService, grids: GridService, bodyLimit: number, registerCounts: RegisterCountsOf, importLimit: number = bodyLimit, gridsAsOf?: GridsAsOf): RouteDef[] {
  const tag = 'grids';
  const base = '/api/systems/:system';
  const walk = (summary: string, suffix: string, fn: (system: string, code: string, ctx: Context) => Promise<Parameters<typeof toCollection>[0]>): RouteDef => ({
    method: 'get',
    path: `${base}/grids/:code/${suffix}`,
    tag,
    summary,
    access: { permission: 'grids:read', scope: gridScope },
    handler: async (ctx) => {
      ctx.type = 'application/geo+json';
      ctx.body = toCollection(visible(ctx)(await fn(ctx.params.system!, ctx.params.code!, ctx)));
    },
  });
  return [
    {
      method: 'get',
      path: `${base}/grids`,
      tag,
      summary: 'Grids of a system as a FeatureCollection, filtered by level, parent or bbox',
      access: { permission: 'grids:read', scope: systemScope },
      request: { query: ListQuery },
      handler: async (ctx) => {
        const q = query(ctx, ListQuery);
        ctx.type = 'application/geo+json';
        ctx.body = toCollection(visible(ctx)(await grids.list(ctx.params.system!, { ...q, scope: callerOf(ctx).scope })));
      },
    },
    {
      method: 'get',
      path: `${base}/grids/:code`,
      tag,
      summary: 'One grid as a Feature; ETag carries its version',
      access: { permission: 'grids:read', scope: gridScope },
      handler: async (ctx) => {
        const g = await grids.get(ctx.params.system!, ctx.params.code!);
        ctx.set('ETag', `"v${g.version}"`);
        ctx.type = 'application/geo+json';
        ctx.body = gridToFeature(visible(ctx)([g])[0]!);
      },
    },
    {
      method: 'put',
      path: `${base}/grids/:code`,
      tag,
      summary: 'Create or replace one grid (If-Match for optimistic concurrency)',
      access: { permission: 'grids:write', scope: gridScope },
      request: { query: WriteQuery },
      handler: async (ctx) => {
        const { repair } = query(ctx, WriteQuery);
        const { grid, created } = await grids.put(ctx.params.system!, ctx.params.code!, await readJson(ctx, bodyLimit), { repair, expectedVersion: ifMatch(ctx) });
        ctx.status = created ? 201 : 200;
        ctx.set('ETag', `"v${grid.version}"`);
        ctx.body = gridToFeature(grid);
      },
    },
    {
      method: 'patch',
      path: `${base}/grids/:code`,
      tag,
      summary: 'Change some fields or the geometry of one grid',
      access: { permission: 'grids:write', scope: gridScope },
      request: { query: WriteQuery },
      handler: async (ctx) => {
        const { repair } = query(ctx, WriteQuery);
        const grid = await grids.patch(ctx.params.system!, ctx.params.code!, await readJson(ctx, bodyLimit), { repair, expectedVersion: ifMatch(ctx) });
        ctx.set('ETag', `"v${grid.version}"`);
        ctx.body = gridToFeature(grid);
      },
    },
    {
      method: 'delete',
      path: `${base}/grids/:code`,
      tag,
      summary: 'Delete a grid (cascade=true for its subtree)',
      access: { permission: 'grids:write', scope: gridScope },
      request: { query: DeleteQuery },
      handler: async (ctx) => {
        const { cascade } = query(ctx, DeleteQuery);
        ctx.body = await grids.remove(ctx.params.system!, ctx.params.code!, { cascade, expectedVersion: ifMatch(ctx) });
      },
    },
    walk('Children of a grid', 'children', (s, c) => grids.children(s, c)),
    // Ancestors above the caller's scope are other units: their officials are not shown (issue #10).
    walk('Ancestors of a grid, parent first', 'ancestors', async (s, c, ctx) => ancestorsInScope(callerOf(ctx).scope, s, await grids.ancestors(s, c))),
    walk('A grid and every grid below it', 'subtree', (s, c) => grids.subtree(s, c)),
    {
      method: 'post',
      path: `${base}/grids/:code/renumber`,
      tag,
      summary: 'Number the children west→east, north→south under the code scheme',
      access: { permission: 'grids:write', scope: gridScope },
      request: { query: RenumberQuery },
      handler: async (ctx) => {
        const { dryRun } = query(ctx, RenumberQuery);
        ctx.body = await grids.renumber(ctx.params.system!, ctx.params.code!, { dryRun });
      },
    },
    {
      method: 'post',
      path: `${base}/import`,
      tag,
      summary: 'Import grids from GeoJSON or a zipped Shapefile, atomically, in any Chinese CRS',
      access: { permission: 'grids:import', scope: (ctx) => ({ system: ctx.params.system!, ...(typeof ctx.query.parent === 'string' ? { code: ctx.query.parent } : {}) }) },
      request: { query: ImportQuery, contentTypes: ['application/geo+json', 'application/json', 'application/zip'] },
      handler: async (ctx) => {
        const q = query(ctx, ImportQuery);
        // Spooled to a file first (up to IMPORT_MAX_BYTES), so a slow upload holds no transaction open; a
        // zipped shapefile is then read entry by entry from disk (issue #16), GeoJSON parsed feature by
        // feature from the file (issue #15).
        ctx.body = await withSpooledFile(bodyChunks(ctx, importLimit), '.upload', async (file) => {
          const head = Buffer.alloc(4);
          const handle = await fs.promises.open(file, 'r');
          try {
            await handle.read(head, 0, 4, 0);
          } finally {
            await handle.close();
          }
          const isZip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
          if (isZip || ctx.is('application/zip', 'application/x-zip-compressed')) {
            const { features, crs } = await decodeGridImportFile(file, true, q.crs);
            return { ...(await grids.import(ctx.params.system!, features, q)), crs };
          }
          const source = streamGridGeoJson(fs.createReadStream(file, { highWaterMark: 1 << 20 }), q.crs);
          return { ...(await grids.import(ctx.params.system!, source.features, q)), crs: source.crs() };
        });
      },
    },
    {
      method: 'get',
      path: `${base}/export`,
      tag,
      summary: 'Export as GeoJSON, Shapefile (UTF-8/GBK) or the responsibility register (CSV/XLSX)',
      access: { permission: 'grids:export', scope: systemScope },
      request: { query: ExportQuery },
      handler: async (ctx) => {
        const q = query(ctx, ExportQuery);
        const system = await systems.require(ctx.params.system!);
        const caller = callerOf(ctx);
        if (q.asOf && !gridsAsOf) throw badRequest('as_of_unavailable', 'asOf: this service keeps no grid history');
        const all = visible(ctx)(q.asOf ? await gridsAsOf!(system.key, q.asOf, caller.scope) : await grids.list(system.key, { scope: caller.scope }));
        // Address counts describe today's grids: a past state's register leaves them out.
        const counts = q.asOf ? async () => undefined : () => registerCounts(system.key);
        const fileBase = q.asOf ? `${system.key}-grids-${q.asOf.slice(0, 10)}` : `${system.key}-grids`;
        if (q.asOf) ctx.set('X-As-Of', q.asOf);
        // Exports say what was masked (issue #10 §4) and whether they cover only the caller's area.
        ctx.set('X-Masked-Fields', caller.personalData ? 'none' : MASKED_FIELDS.join(','));
        ctx.set('X-Scope', caller.scope === 'all' ? 'all' : caller.scope.filter((r) => r.system === system.key).map((r) => encodeURIComponent(r.code ?? '*')).join(',') || 'none');
        if (q.format === 'geojson') {
          ctx.type = 'application/geo+json';
          ctx.set('Content-Disposition', `attachment; filename="${fileBase}.geojson"`);
          ctx.body = { ...exportGeoJson(system, all), masked: caller.personalData ? [] : [...MASKED_FIELDS] };
        } else if (q.format === 'shapefile') {
          // Written before the headers are set: a 422 (a value the DBF cannot hold) must not arrive as an attachment.
          const zip = await exportShapefile(system, all, q.encoding);
          ctx.type = 'application/zip';
          ctx.set('Content-Disposition', `attachment; filename="${fileBase}.zip"`);
          ctx.body = zip;
        } else if (q.format === 'xlsx') {
          ctx.type = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
          ctx.set('Content-Disposition', `attachment; filename="${fileBase}-register.xlsx"`);
          ctx.body = await registerXlsx(system, all, lang(ctx), await counts());
        } else {
          ctx.type = 'text/csv; charset=utf-8';
          ctx.set('Content-Disposition', `attachment; filename="${fileBase}-register.csv"`);
          ctx.body = registerCsv(system, all, lang(ctx), await counts());
        }
      },
    },
  ];
}
