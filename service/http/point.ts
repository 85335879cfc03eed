import { Router } from '@koa/router';
import type { Knex } from 'knex';
import { z } from 'zod';
import { lookupPoint } from '../domain/point';
import { query } from './params';

const PointQuery = z.object({
  lon: z.coerce.number().min(-180).max(180),
  lat: z.coerce.number().min(-90).max(90),
});

export function pointRouter(knex: Knex): Router {
  const router = new Router();
  router.get('/api/point', async (ctx) => {
    const { lon, lat } = query(ctx, PointQuery);
    ctx.body = await lookupPoint(knex, lon, lat);
  });
  return router;
}
