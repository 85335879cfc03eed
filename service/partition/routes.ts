import { Router } from '@koa/router';
import { z } from 'zod';
import type { Jobs } from '../jobs/service';
import type { PartitionService } from './service';
import { reportToCsv, reportToGeoJSON } from '../geometry/partition/index';
import { readBody, parseJson } from '../http/body';
import { query } from '../http/params';

const ValidateQuery = z.object({
  parent: z.string().optional(),
  mode: z.enum(['auto', 'sync', 'job']).default('auto'),
  areaTolerance: z.coerce.number().positive().optional(),
  sliverWidth: z.coerce.number().positive().optional(),
  edgeTolerance: z.coerce.number().positive().optional(),
});
const ReportQuery = z.object({ parent: z.string().optional(), format: z.enum(['json', 'geojson', 'csv']).default('json') });

export function partitionRouter(partition: PartitionService, jobs: Jobs, bodyLimit: number): Router {
  const router = new Router();

  router.post('/api/systems/:system/validate', async (ctx) => {
    const q = query(ctx, ValidateQuery);
    const raw = await readBody(ctx, bodyLimit);
    const proposal = raw.length > 0 && raw.toString('utf8').trim() !== '' ? parseJson(raw) : undefined;
    const options = {
      ...(q.areaTolerance !== undefined && { areaTolerance: q.areaTolerance }),
      ...(q.sliverWidth !== undefined && { sliverWidth: q.sliverWidth }),
      ...(q.edgeTolerance !== undefined && { edgeTolerance: q.edgeTolerance }),
    };
    const result = await partition.validate(ctx.params.system!, { parent: q.parent, options, proposal, mode: q.mode });
    if ('job' in result) {
      ctx.status = 202;
      ctx.set('Location', `/api/jobs/${result.job}`);
      ctx.body = { job: result.job, status: 'queued', location: `/api/jobs/${result.job}` };
    } else {
      ctx.body = result.report;
    }
  });

  router.get('/api/systems/:system/report', async (ctx) => {
    const q = query(ctx, ReportQuery);
    const report = await partition.report(ctx.params.system!, q.parent ?? null);
    if (q.format === 'geojson') {
      ctx.type = 'application/geo+json';
      ctx.body = reportToGeoJSON(report);
    } else if (q.format === 'csv') {
      ctx.type = 'text/csv; charset=utf-8';
      ctx.set('Content-Disposition', `attachment; filename="${ctx.params.system}-partition-report.csv"`);
      ctx.body = '\uFEFF' + reportToCsv(report);
    } else {
      ctx.body = report;
    }
  });

  router.get('/api/systems/:system/fixes', async (ctx) => {
    const report = await partition.report(ctx.params.system!, null);
    ctx.body = { system: report.system, generatedAt: report.generatedAt, stale: report.stale, fixes: report.fixes };
  });

  router.post('/api/systems/:system/fixes/:id/apply', async (ctx) => {
    ctx.body = await partition.applyFix(ctx.params.system!, ctx.params.id!);
  });

  router.get('/api/jobs/:id', async (ctx) => {
    ctx.body = await jobs.get(ctx.params.id!);
  });

  return router;
}
