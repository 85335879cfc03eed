import { Router } from '@koa/router';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { AddressService } from '../addresses/service';
import { lookupPoint } from './service';
import { Flag, query } from '../http/params';

const PointQuery = z.object({
  lon: z.coerce.number().min(-180).max(180),
  lat: z.coerce.number().min(-90).max(90),
  // Also answer with the nearest address and its grids (issue #5), within `within` metres.
  nearest_address: Flag,
  within: z.coerce.number().positive().max(10_000).default(200),
});

export function pointRouter(knex: Knex, addresses: AddressService): Router {
  const router = new Router();
  router.get('/api/point', async (ctx) => {
    const { lon, lat, nearest_address, within } = query(ctx, PointQuery);
    const answer = await lookupPoint(knex, lon, lat);
    ctx.body = nearest_address ? { ...answer, nearestAddress: await addresses.nearest(lon, lat, within) } : answer;
  });
  return router;
}
