import type { RouteDef } from '../http/route';
import type { Jobs } from './service';

export function jobRoutes(jobs: Jobs): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/api/jobs/:id',
      tag: 'jobs',
      summary: 'A background job: status, progress and, when done, its result',
      access: { permission: 'jobs:read' },
      handler: async (ctx) => {
        ctx.body = await jobs.get(ctx.params.id!);
      },
    },
  ];
}
