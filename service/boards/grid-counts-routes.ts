import { z } from 'zod';
import { badRequest } from '../errors';
import { callerOf } from '../http/caller';
import { Bbox } from '../http/params';
import type { RouteDef } from '../http/route';
import { GRID_COUNTS_MAX, type GridCountsService } from './grid-counts';

const Params = z.object({ system: z.string().min(1) }).strict();
const Query = z
  .object({
    bbox: Bbox.optional(),
    parent: z.string().min(1).optional(),
    level: z.string().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(GRID_COUNTS_MAX).default(2000),
  })
  .strict();

/** The grid board view's counts (issue #17 item 4), for the map page's "网格看板" toggle. */
export function gridCountsRoutes(counts: GridCountsService): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/api/systems/:system/grid-counts',
      summary: 'Per grid in a bbox or under a parent: households, people, open/overdue/closed incidents, filing rate of bank grids (aggregates, filtered by scope)',
      tag: 'boards',
      // A parent names a grid: outside the caller's area it is refused; a box is answered filtered by scope.
      access: { permission: 'boards:read', scope: (ctx) => ({ system: ctx.params.system!, code: typeof ctx.query.parent === 'string' ? ctx.query.parent : undefined }) },
      request: { params: Params, query: Query },
      handler: async (ctx) => {
        const { system } = Params.parse(ctx.params);
        const q = Query.parse(ctx.query);
        if ((q.bbox === undefined) === (q.parent === undefined)) throw badRequest('selection_required', 'give either bbox=minLon,minLat,maxLon,maxLat or parent=<grid code>, not both', { field: q.bbox ? 'parent' : 'bbox' });
        const selection = q.bbox ? { bbox: q.bbox } : { parent: q.parent! };
        ctx.set('Cache-Control', 'private, no-cache');
        ctx.body = await counts.counts(system, { ...selection, level: q.level, limit: q.limit, scope: callerOf(ctx).scope });
      },
    },
  ];
}
