import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Router } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AddressService } from './service';
import { geoJsonRecords, tabularRecords } from './sources';
import { readXlsxRows } from '../formats/xlsx-reader';
import type { SourceRecord } from './rows';
import { AppError, badRequest } from '../errors';
import { parseCsv } from '../formats/csv';
import { FormatError } from '../formats/errors';
import { CrsError, parseCrs } from '../geometry/crs/index';
import { Bbox, Flag, query } from '../http/params';

const FORMATS = ['csv', 'xlsx', 'geojson'] as const;
type Format = (typeof FORMATS)[number];

const ImportQuery = z.object({
  crs: z.string().default('EPSG:4326'),
  format: z.enum(FORMATS).optional(),
  encoding: z.enum(['auto', 'utf-8', 'gbk']).default('auto'),
  atomic: Flag,
  // 就近划入 reach for businesses and organisations outside every grid; 0 turns it off.
  nearest: z.coerce.number().min(0).max(100_000).default(200),
});

const ListQuery = z.object({
  system: z.string().optional(),
  grid: z.string().optional(),
  status: z.enum(['assigned', 'ambiguous', 'nearest', 'unassigned']).optional(),
  bbox: Bbox.optional(),
  external_id: z.string().optional(),
  kind: z.enum(['residential', 'business', 'organisation', 'public']).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  offset: z.coerce.number().int().min(0).default(0),
});

const StatsQuery = z.object({ limit: z.coerce.number().int().min(0).max(10_000).default(100) });

export function addressesRouter(addresses: AddressService, bodyLimit: number): Router {
  const router = new Router();

  router.post('/api/addresses/import', async (ctx) => {
    const q = query(ctx, ImportQuery);
    const crs = crsOf(q.crs);
    const format = q.format ?? formatOf(ctx);
    const body = limited(ctx, bodyLimit);
    const options = { crs, atomic: q.atomic, nearestM: q.nearest > 0 ? q.nearest : null };
    try {
      if (format === 'xlsx') {
        ctx.body = await withSpooledFile(body, (file) => addresses.import(tabularRecords(readXlsxRows(file)), options));
      } else {
        const records: AsyncIterable<SourceRecord> =
          format === 'csv' ? tabularRecords(parseCsv(body, { encoding: q.encoding })) : geoJsonRecords(body, crs);
        ctx.body = await addresses.import(records, options);
      }
    } catch (err) {
      if (err instanceof FormatError) throw badRequest(err.code, `${format.toUpperCase()} import: ${err.message}`);
      throw err;
    }
  });

  router.get('/api/addresses', async (ctx) => {
    const q = query(ctx, ListQuery);
    ctx.type = 'application/geo+json';
    ctx.body = await addresses.list({
      system: q.system,
      grid: q.grid,
      status: q.status,
      bbox: q.bbox,
      externalIds: q.external_id ? q.external_id.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
      kind: q.kind,
      limit: q.limit,
      offset: q.offset,
    });
  });

  router.get('/api/systems/:system/stats', async (ctx) => {
    const { limit } = query(ctx, StatsQuery);
    ctx.body = await addresses.stats(ctx.params.system!, limit);
  });

  return router;
}

function crsOf(name: string) {
  try {
    return parseCrs(name);
  } catch (err) {
    if (err instanceof CrsError) throw badRequest(err.code, err.message);
    throw err;
  }
}

function formatOf(ctx: Context): Format {
  if (ctx.is('text/csv', 'application/csv')) return 'csv';
  if (ctx.is('application/geo+json', 'application/json')) return 'geojson';
  if (ctx.is('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')) return 'xlsx';
  throw badRequest('format_required', `say format=csv, xlsx or geojson (the content type "${ctx.get('content-type') || 'none'}" does not tell)`);
}

/** The request body as a stream of chunks, failing with 413 once it passes `limit` bytes. */
async function* limited(ctx: Context, limit: number): AsyncGenerator<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new AppError(413, 'body_too_large', `request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AppError(413, 'body_too_large', `request body exceeds the limit of ${limit} bytes`);
    yield chunk as Buffer;
  }
}

/** An XLSX file is a zip read from its end, so the upload goes to a temporary file first (never to memory). */
async function withSpooledFile<T>(body: AsyncIterable<Buffer>, use: (file: string) => Promise<T>): Promise<T> {
  const file = path.join(os.tmpdir(), `gridatlas-upload-${randomBytes(8).toString('hex')}.xlsx`);
  try {
    await pipeline(body, fs.createWriteStream(file));
    return await use(file);
  } finally {
    await fs.promises.rm(file, { force: true });
  }
}
