import { notFound } from '../errors';
import { callerOf } from '../http/caller';
import type { RouteDef } from '../http/route';
import { seesSystem } from '../kernel/scope';
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
        const job = await jobs.get(ctx.params.id!);
        // A job of a system outside the caller's scope does not exist for them (issue #10).
        if (job.system !== null && !seesSystem(callerOf(ctx).scope, job.system)) throw notFound('job_not_found', `job "${ctx.params.id}" does not exist`);
        ctx.body = job;
      },
    },
  ];
}
