import { z } from 'zod';
import { AppError } from '../errors';
import { callerOf } from '../http/caller';
import { AsOf, Flag, query } from '../http/params';
import type { AreaScope } from '../kernel/scope';
import type { RouteDef } from '../http/route';
import type { PointAnswer } from './service';

const PointQuery = z.object({
  lon: z.coerce.number().min(-180).max(180),
  lat: z.coerce.number().min(-90).max(90),
  // Also answer with the nearest address and its grids (issue #5), within `within` metres.
  nearest_address: Flag,
  within: z.coerce.number().positive().max(10_000).default(200),
  // The grids as they stood at a date or instant (issue #14 history).
  asOf: AsOf.optional(),
});

export interface PointRouteDeps {
  /** Answers are restricted to the caller's scope (issue #10). */
  lookup(lon: number, lat: number, scope: AreaScope, asOf?: string): Promise<PointAnswer>;
  nearestAddress(lon: number, lat: number, within: number, scope: AreaScope): Promise<unknown>;
}

export function pointRoutes(deps: PointRouteDeps): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/api/point',
      tag: 'point',
      summary: 'For every system, the chain of grids containing a point, finest first (and the nearest address)',
      access: { permission: 'point:read' },
      request: { query: PointQuery },
      handler: async (ctx) => {
        const { lon, lat, nearest_address, within, asOf } = query(ctx, PointQuery);
        const { scope, permissions } = callerOf(ctx);
        const answer = await deps.lookup(lon, lat, scope, asOf);
        // The nearest address is register data: only for callers who may read addresses.
        if (nearest_address && !permissions.includes('addresses:read')) throw new AppError(403, 'forbidden', 'nearest_address needs the addresses:read permission');
        ctx.body = nearest_address ? { ...answer, nearestAddress: await deps.nearestAddress(lon, lat, within, scope) } : answer;
      },
    },
  ];
}
