import { Router } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { exportGeoJson, exportShapefile, registerCsv, registerXlsx, type RegisterCounts } from '../domain/export';
import { featuresOf, gridToFeature, toCollection, type GridService } from '../domain/grids';
import type { SystemService } from '../domain/systems';
import { badRequest } from '../errors';
import { FormatError } from '../formats/errors';
import { readShapefileZip } from '../formats/shapefile';
import { CrsError, parseCrs, toWgs84, type CrsId } from '../geometry/crs/index';
import { crsFromPrj } from '../geometry/crs/prj';
import { parseJson, readBody, readJson } from './body';
import { Bbox, Flag, ifMatch, lang, query } from './params';

const ListQuery = z.object({ level: z.string().optional(), parent: z.string().optional(), bbox: Bbox.optional() });
const WriteQuery = z.object({ repair: Flag });
const ImportQuery = z.object({ mode: z.enum(['append', 'replace']).default('append'), repair: Flag, parent: z.string().optional(), crs: z.string().optional() });
const ExportQuery = z.object({ format: z.enum(['geojson', 'shapefile', 'csv', 'xlsx']).default('geojson'), encoding: z.enum(['utf-8', 'gbk']).default('utf-8') });
const DeleteQuery = z.object({ cascade: Flag });

/** Per-grid address counts for the register (issue #5). */
export type RegisterCountsOf = (system: string) => Promise<Map<string, RegisterCounts>>;

export function gridsRouter(systems: SystemService, grids: GridService, bodyLimit: number, registerCounts: RegisterCountsOf): Router {
  const router = new Router({ prefix: '/api/systems/:system' });

  router.get('/grids', async (ctx) => {
    const q = query(ctx, ListQuery);
    ctx.type = 'application/geo+json';
    ctx.body = toCollection(await grids.list(ctx.params.system!, q));
  });

  router.get('/grids/:code', async (ctx) => {
    const g = await grids.get(ctx.params.system!, ctx.params.code!);
    ctx.set('ETag', `"v${g.version}"`);
    ctx.type = 'application/geo+json';
    ctx.body = gridToFeature(g);
  });

  router.put('/grids/:code', async (ctx) => {
    const { repair } = query(ctx, WriteQuery);
    const { grid, created } = await grids.put(ctx.params.system!, ctx.params.code!, await readJson(ctx, bodyLimit), { repair, expectedVersion: ifMatch(ctx) });
    ctx.status = created ? 201 : 200;
    ctx.set('ETag', `"v${grid.version}"`);
    ctx.body = gridToFeature(grid);
  });

  router.patch('/grids/:code', async (ctx) => {
    const { repair } = query(ctx, WriteQuery);
    const grid = await grids.patch(ctx.params.system!, ctx.params.code!, await readJson(ctx, bodyLimit), { repair, expectedVersion: ifMatch(ctx) });
    ctx.set('ETag', `"v${grid.version}"`);
    ctx.body = gridToFeature(grid);
  });

  router.delete('/grids/:code', async (ctx) => {
    const { cascade } = query(ctx, DeleteQuery);
    ctx.body = await grids.remove(ctx.params.system!, ctx.params.code!, { cascade, expectedVersion: ifMatch(ctx) });
  });

  router.get('/grids/:code/children', async (ctx) => {
    ctx.type = 'application/geo+json';
    ctx.body = toCollection(await grids.children(ctx.params.system!, ctx.params.code!));
  });
  router.get('/grids/:code/ancestors', async (ctx) => {
    ctx.type = 'application/geo+json';
    ctx.body = toCollection(await grids.ancestors(ctx.params.system!, ctx.params.code!));
  });
  router.get('/grids/:code/subtree', async (ctx) => {
    ctx.type = 'application/geo+json';
    ctx.body = toCollection(await grids.subtree(ctx.params.system!, ctx.params.code!));
  });

  router.post('/grids/:code/renumber', async (ctx) => {
    const { dryRun } = query(ctx, z.object({ dryRun: Flag }));
    ctx.body = await grids.renumber(ctx.params.system!, ctx.params.code!, { dryRun });
  });

  router.post('/import', async (ctx) => {
    const q = query(ctx, ImportQuery);
    const { features, crs } = await readImportFeatures(ctx, bodyLimit, q.crs);
    const result = await grids.import(ctx.params.system!, toWgs84Features(features, crs), q);
    ctx.body = { ...result, crs };
  });

  router.get('/export', async (ctx) => {
    const q = query(ctx, ExportQuery);
    const system = await systems.require(ctx.params.system!);
    const all = await grids.list(system.key, {});
    const fileBase = `${system.key}-grids`;
    if (q.format === 'geojson') {
      ctx.type = 'application/geo+json';
      ctx.set('Content-Disposition', `attachment; filename="${fileBase}.geojson"`);
      ctx.body = exportGeoJson(system, all);
    } else if (q.format === 'shapefile') {
      // Written before the headers are set: a 422 (a value the DBF cannot hold) must not arrive as an attachment.
      const zip = await exportShapefile(system, all, q.encoding);
      ctx.type = 'application/zip';
      ctx.set('Content-Disposition', `attachment; filename="${fileBase}.zip"`);
      ctx.body = zip;
    } else if (q.format === 'xlsx') {
      ctx.type = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
      ctx.set('Content-Disposition', `attachment; filename="${fileBase}-register.xlsx"`);
      ctx.body = await registerXlsx(system, all, lang(ctx), await registerCounts(system.key));
    } else {
      ctx.type = 'text/csv; charset=utf-8';
      ctx.set('Content-Disposition', `attachment; filename="${fileBase}-register.csv"`);
      ctx.body = registerCsv(system, all, lang(ctx), await registerCounts(system.key));
    }
  });

  return router;
}

function crsParam(value: string, where: string): CrsId {
  try {
    return parseCrs(value);
  } catch (err) {
    if (err instanceof CrsError) throw badRequest(err.code, `${where}: ${err.message}`);
    throw err;
  }
}

/**
 * A GeoJSON body, or a zipped Shapefile (recognised by its zip signature or content type), with the CRS
 * its coordinates are in: `?crs=` wins, then the shapefile's .prj or a GeoJSON `crs` member, else EPSG:4326.
 */
async function readImportFeatures(ctx: Context, bodyLimit: number, declared: string | undefined): Promise<{ features: unknown[]; crs: CrsId }> {
  const raw = await readBody(ctx, bodyLimit);
  const override = declared ? crsParam(declared, 'query parameter crs') : null;
  const isZip = raw.length >= 4 && raw[0] === 0x50 && raw[1] === 0x4b && raw[2] === 0x03 && raw[3] === 0x04;
  if (isZip || ctx.is('application/zip', 'application/x-zip-compressed')) {
    let shapefile;
    try {
      shapefile = await readShapefileZip(raw);
    } catch (err) {
      if (err instanceof FormatError) throw badRequest(err.code, `shapefile import: ${err.message}`);
      throw err;
    }
    let crs = override ?? (shapefile.prj ? crsFromPrj(shapefile.prj) : 'EPSG:4326');
    if (!crs) {
      throw badRequest(
        'unsupported_crs',
        `shapefile import: the .prj declares a coordinate system gridatlas does not convert (${shapefile.prj!.slice(0, 80)}…); reproject to EPSG:4326, CGCS2000 or a CGCS2000 Gauss-Krüger zone, or pass ?crs= if the .prj is wrong`,
      );
    }
    crs = crs === 'EPSG:4490' ? 'EPSG:4326' : crs;
    return { features: shapefile.features, crs };
  }
  const body = parseJson(raw);
  const named = (body as { crs?: { properties?: { name?: unknown } } })?.crs?.properties?.name;
  const crs = override ?? (typeof named === 'string' ? crsParam(named, 'GeoJSON crs member') : 'EPSG:4326');
  return { features: featuresOf(body), crs: crs === 'EPSG:4490' ? 'EPSG:4326' : crs };
}

/** Converts polygon coordinates to EPSG:4326; anything malformed is left for the import checks to name. */
function toWgs84Features(features: unknown[], crs: CrsId): unknown[] {
  if (crs === 'EPSG:4326') return features;
  const convert = toWgs84(crs);
  const mapPositions = (value: unknown, depth: number): unknown => {
    if (!Array.isArray(value)) return value;
    if (depth === 0) {
      return typeof value[0] === 'number' && typeof value[1] === 'number' ? convert(value[0], value[1]) : value;
    }
    return value.map((v) => mapPositions(v, depth - 1));
  };
  return features.map((f) => {
    const g = (f as { geometry?: { type?: unknown; coordinates?: unknown } })?.geometry;
    if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon')) return f;
    return { ...(f as object), geometry: { ...g, coordinates: mapPositions(g.coordinates, g.type === 'Polygon' ? 2 : 3) } };
  });
}
