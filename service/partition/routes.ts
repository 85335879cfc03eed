import type { Context } from 'koa';
import { z } from 'zod';
import { ISSUE_KINDS, reportToCsv, reportToGeoJSON } from '../geometry/partition/index';
import { AppError } from '../errors';
import { parseJson, readBody } from '../http/body';
import { callerOf } from '../http/caller';
import { query } from '../http/params';
import type { RouteDef } from '../http/route';
import { rootsIn } from '../kernel/scope';
import type { PartitionService } from './service';

const ValidateQuery = z.object({
  parent: z.string().optional(),
  mode: z.enum(['auto', 'sync', 'job']).default('auto'),
  areaTolerance: z.coerce.number().positive().optional(),
  sliverWidth: z.coerce.number().positive().optional(),
  edgeTolerance: z.coerce.number().positive().optional(),
});
const ReportQuery = z.object({ parent: z.string().optional(), format: z.enum(['json', 'geojson', 'csv']).default('json') });
const IssuesQuery = z
  .object({
    parent: z.string().optional(),
    kind: z.enum(ISSUE_KINDS).optional(),
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict();

/**
 * A caller scoped to some grids of the system reads the report of one of its subtrees (`?parent=`),
 * never the whole system's (issue #10: reports are filtered by scope).
 */
function requireSubtree(ctx: Context, parent: string | undefined): void {
  if (parent === undefined && rootsIn(callerOf(ctx).scope, ctx.params.system!) !== null) {
    throw new AppError(403, 'out_of_scope', 'you may read the report of your own subtree only: add ?parent=<your grid>');
  }
}

/** The subtree a request names (`?parent=`), else the whole system. */
const subtreeScope = (ctx: Context) => ({ system: ctx.params.system!, ...(typeof ctx.query.parent === 'string' ? { code: ctx.query.parent } : {}) });

export function partitionRoutes(partition: PartitionService, bodyLimit: number): RouteDef[] {
  const tag = 'partition';
  const base = '/api/systems/:system';
  return [
    {
      method: 'post',
      path: `${base}/validate`,
      tag,
      summary: 'Prove the partition (gaps, overlaps, slivers, outside, structure); a body makes it a dry run',
      access: { permission: 'partition:validate', scope: subtreeScope },
      request: { query: ValidateQuery },
      handler: async (ctx) => {
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
      },
    },
    {
      method: 'get',
      path: `${base}/report`,
      tag,
      summary: 'The latest partition report (JSON with ETag/304, GeoJSON of the problems, or CSV per parent)',
      access: { permission: 'partition:read', scope: subtreeScope },
      request: { query: ReportQuery },
      handler: async (ctx) => {
        const q = query(ctx, ReportQuery);
        requireSubtree(ctx, q.parent);
        if (q.format === 'json') {
          // The first findings per kind, the rest paged (…/report/issues); the text is kept while the report stays.
          const reply = await partition.reportReply(ctx.params.system!, q.parent ?? null);
          ctx.set('ETag', reply.etag);
          ctx.set('Cache-Control', 'private, no-cache');
          ctx.status = 200;
          if (ctx.fresh) {
            ctx.status = 304;
            return;
          }
          ctx.type = 'application/json; charset=utf-8';
          ctx.body = reply.json;
          return;
        }
        // The files carry every finding.
        const report = await partition.report(ctx.params.system!, q.parent ?? null, { full: true });
        if (q.format === 'geojson') {
          ctx.type = 'application/geo+json';
          ctx.body = reportToGeoJSON(report);
        } else if (q.format === 'csv') {
          ctx.type = 'text/csv; charset=utf-8';
          ctx.set('Content-Disposition', `attachment; filename="${ctx.params.system}-partition-report.csv"`);
          ctx.body = '\uFEFF' + reportToCsv(report);
        }
      },
    },
    {
      method: 'get',
      path: `${base}/report/issues`,
      tag,
      summary: 'Every finding of the latest partition report, paged (optionally one kind), with the exact total',
      access: { permission: 'partition:read', scope: subtreeScope },
      request: { query: IssuesQuery },
      handler: async (ctx) => {
        const q = query(ctx, IssuesQuery);
        requireSubtree(ctx, q.parent);
        ctx.body = await partition.issues(ctx.params.system!, q.parent ?? null, { kind: q.kind, offset: q.offset, limit: q.limit });
      },
    },
    {
      method: 'get',
      path: `${base}/fixes`,
      tag,
      summary: 'Fix proposals of the latest report: which grid absorbs each small gap, overlap or sliver',
      access: { permission: 'partition:read', scope: subtreeScope },
      handler: async (ctx) => {
        requireSubtree(ctx, undefined);
        const { report, fixes } = await partition.fixes(ctx.params.system!);
        ctx.body = { system: report.system, generatedAt: report.generatedAt, stale: report.stale, fixes };
      },
    },
    {
      method: 'post',
      path: `${base}/fixes/:id/apply`,
      tag,
      summary: 'Apply one fix proposal atomically after re-validating the families it touches',
      access: { permission: 'partition:fix', scope: subtreeScope },
      handler: async (ctx) => {
        ctx.body = await partition.applyFix(ctx.params.system!, ctx.params.id!);
      },
    },
  ];
}
