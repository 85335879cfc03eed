import type { Context } from 'koa';
import { z } from 'zod';
import { restrictRegister, RESTRICTED_PERMISSION } from '../access';
import { badRequest } from '../errors';
import { parseCsv } from '../formats/csv';
import { FormatError } from '../formats/errors';
import { readXlsxRows } from '../formats/xlsx-reader';
import { parseCrs } from '../geometry/crs/index';
import { bodyChunks, withSpooledFile } from '../http/body';
import { callerOf } from '../http/caller';
import { Bbox, Flag, query } from '../http/params';
import type { RouteDef } from '../http/route';
import type { SourceRecord } from './rows';
import type { AddressService } from './service';
import { geoJsonRecords, tabularRecords } from './sources';

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

export function addressRoutes(addresses: AddressService, bodyLimit: number): RouteDef[] {
  const tag = 'addresses';
  return [
    {
      method: 'post',
      path: '/api/addresses/import',
      tag,
      summary: 'Stream addresses and households from CSV, XLSX or GeoJSON in any Chinese CRS; assign them to every system',
      access: { permission: 'addresses:import' },
      request: { query: ImportQuery, contentTypes: ['text/csv', 'application/geo+json', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'] },
      handler: async (ctx) => {
        const q = query(ctx, ImportQuery);
        const crs = parseCrs(q.crs);
        const format = q.format ?? formatOf(ctx);
        const body = bodyChunks(ctx, bodyLimit);
        const options = { crs, atomic: q.atomic, nearestM: q.nearest > 0 ? q.nearest : null };
        try {
          if (format === 'xlsx') {
            ctx.body = await withSpooledFile(body, '.xlsx', (file) => addresses.import(tabularRecords(readXlsxRows(file)), options));
          } else {
            const records: AsyncIterable<SourceRecord> =
              format === 'csv' ? tabularRecords(parseCsv(body, { encoding: q.encoding })) : geoJsonRecords(body, crs);
            ctx.body = await addresses.import(records, options);
          }
        } catch (err) {
          if (err instanceof FormatError) throw badRequest(err.code, `${format.toUpperCase()} import: ${err.message}`);
          throw err;
        }
      },
    },
    {
      method: 'get',
      path: '/api/addresses',
      tag,
      summary: 'Addresses as GeoJSON, filtered by system and grid subtree, status, bbox, external id or kind',
      access: { permission: 'addresses:read' },
      request: { query: ListQuery },
      handler: async (ctx) => {
        const q = query(ctx, ListQuery);
        const caller = callerOf(ctx);
        const found = await addresses.list({
          system: q.system,
          grid: q.grid,
          status: q.status,
          bbox: q.bbox,
          externalIds: q.external_id ? q.external_id.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
          kind: q.kind,
          scope: caller.scope,
          limit: q.limit,
          offset: q.offset,
        });
        ctx.type = 'application/geo+json';
        if (caller.permissions.includes(RESTRICTED_PERMISSION)) {
          ctx.body = found;
        } else {
          // Police-sourced fields only for callers allowed them (issue #10 §4); the answer says what it left out.
          const { collection, masked } = restrictRegister(found);
          if (masked.length > 0) ctx.set('X-Masked-Fields', masked.join(','));
          ctx.body = masked.length > 0 ? { ...collection, masked } : collection;
        }
      },
    },
    {
      method: 'get',
      path: '/api/systems/:system/stats',
      tag,
      summary: 'Per grid: addresses, buildings, households and population, rolled up, against the size rules',
      access: { permission: 'addresses:stats', scope: (ctx) => ({ system: ctx.params.system! }) },
      request: { query: StatsQuery },
      handler: async (ctx) => {
        const { limit } = query(ctx, StatsQuery);
        ctx.body = await addresses.stats(ctx.params.system!, limit, callerOf(ctx).scope);
      },
    },
  ];
}

function formatOf(ctx: Context): Format {
  if (ctx.is('text/csv', 'application/csv')) return 'csv';
  if (ctx.is('application/geo+json', 'application/json')) return 'geojson';
  if (ctx.is('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')) return 'xlsx';
  throw badRequest('format_required', `say format=csv, xlsx or geojson (the content type "${ctx.get('content-type') || 'none'}" does not tell)`);
}
