import { Router } from '@koa/router';
import type { SystemService } from './service';
import { readJson } from '../http/body';
import { ifMatch } from '../http/params';

export function systemsRouter(systems: SystemService, bodyLimit: number): Router {
  const router = new Router({ prefix: '/api/systems' });
  router.get('/', async (ctx) => {
    ctx.body = { systems: await systems.list() };
  });
  router.post('/', async (ctx) => {
    const created = await systems.create(await readJson(ctx, bodyLimit));
    ctx.status = 201;
    ctx.set('Location', `/api/systems/${created.key}`);
    ctx.body = created;
  });
  router.get('/:system', async (ctx) => {
    const s = await systems.get(ctx.params.system!);
    ctx.set('ETag', `"v${s.version}"`);
    ctx.body = s;
  });
  router.patch('/:system', async (ctx) => {
    const s = await systems.patch(ctx.params.system!, await readJson(ctx, bodyLimit), ifMatch(ctx));
    ctx.set('ETag', `"v${s.version}"`);
    ctx.body = s;
  });
  router.delete('/:system', async (ctx) => {
    await systems.remove(ctx.params.system!);
    ctx.status = 204;
  });
  return router;
}
