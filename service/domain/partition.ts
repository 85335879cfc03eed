import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { MultiPolygon, Polygon } from 'geojson';
import type { ChangeBus, ChangeEvent } from '../db/changes';
import type { StoredSystem } from '../db/queries/systems';
import { AppError, badRequest, conflict, notFound } from '../errors';
import {
  ISSUE_KINDS,
  mergeReports,
  proposeFixes,
  validatePartition,
  validateSystem,
  validateSystemInWorker,
  type FixProposal,
  type PartitionGrid,
  type PartitionOptions,
  type PartitionReport,
} from '../geometry/partition/index';
import type { Logger } from '../logger';
import { featuresOf, type GridService } from './grids';
import type { JobContext, Jobs } from './jobs';
import type { WorkerGrid } from '../geometry/partition/validate-worker';
import type { SystemService } from './systems';

/** A stored report: the validator's report plus where it came from and the fixes it suggests. */
export interface StoredReport extends PartitionReport {
  scope: string | null;
  durationMs: number;
  /** True once grids changed in a way the incremental re-check could not follow (a whole-system replace). */
  stale: boolean;
  fixes: FixProposal[];
}

export interface ValidateRequest {
  parent?: string;
  options: Omit<PartitionOptions, 'parents'>;
  /** Dry run: proposed grids (added or replacing by code) and codes to remove; nothing is saved. */
  proposal?: unknown;
  mode: 'auto' | 'sync' | 'job';
}

/**
 * From this many grids, or this much GeoJSON text (dense boundaries), on, a validation runs in a worker
 * thread so the event loop stays free (issue #15); below both, it blocks for less than handing over costs.
 */
const WORKER_THRESHOLD = 1000;
const WORKER_THRESHOLD_CHARS = 1_000_000;
/** Systems above this many grids are validated as a job unless the caller insists on waiting. */
const JOB_THRESHOLD = 5000;

export function createPartitionService(deps: {
  knex: Knex;
  systems: SystemService;
  grids: GridService;
  jobs: Jobs;
  changes: ChangeBus;
  logger: Logger;
}) {
  const { knex, systems, grids, jobs, changes, logger } = deps;

  async function loadGrids(system: StoredSystem, where: string, bindings: Knex.RawBinding[]): Promise<PartitionGrid[]> {
    return (await loadGridText(system, where, bindings)).map((g) => ({ ...g, geometry: g.geometry ? JSON.parse(g.geometry) : null }));
  }

  /** Grids with their geometry as GeoJSON text, for a worker to parse. */
  async function loadGridText(system: StoredSystem, where: string, bindings: Knex.RawBinding[]): Promise<(WorkerGrid & { geometry: string | null })[]> {
    const rows: { code: string; parent_code: string | null; level: string; geojson: string | null }[] = (
      await knex.raw(
        `select code, parent_code, level, ST_AsGeoJSON(geom, 9) as geojson from grids where system_id = ? ${where} order by code`,
        [system.id, ...bindings],
      )
    ).rows;
    return rows.map((r) => ({ code: r.code, parentCode: r.parent_code, level: r.level, geometry: r.geojson }));
  }

  /** The grids a validation needs: the whole system, or a subtree with its chain of ancestors. */
  async function gridsFor(system: StoredSystem, parent: string | undefined): Promise<PartitionGrid[]> {
    if (!parent) return loadGrids(system, '', []);
    const subtree = await grids.subtree(system.key, parent);
    const ancestors = await grids.ancestors(system.key, parent);
    return [...ancestors, ...subtree].map((g) => ({ code: g.code, parentCode: g.parentCode, level: g.level, geometry: g.geometry }));
  }

  function applyProposal(system: StoredSystem, current: PartitionGrid[], proposal: unknown): PartitionGrid[] {
    const p = (proposal ?? {}) as { grids?: unknown; remove?: unknown };
    if (typeof p !== 'object' || Array.isArray(p)) throw badRequest('invalid_proposal', 'a dry run body is {"grids": FeatureCollection, "remove": [codes]}');
    const byCode = new Map(current.map((g) => [g.code, g]));
    if (p.remove !== undefined) {
      if (!Array.isArray(p.remove) || p.remove.some((c) => typeof c !== 'string')) throw badRequest('invalid_proposal', 'remove must be an array of grid codes');
      const unknown = (p.remove as string[]).filter((c) => !byCode.has(c));
      if (unknown.length) throw badRequest('unknown_grid', `cannot remove grids that do not exist in system ${system.key}: ${unknown.join(', ')}`);
      for (const c of p.remove as string[]) byCode.delete(c);
    }
    if (p.grids !== undefined) {
      const features = featuresOf(p.grids);
      const seen = new Set<string>();
      const problems: string[] = [];
      features.forEach((f, i) => {
        const props = ((f as { properties?: Record<string, unknown> }).properties ?? {}) as Record<string, unknown>;
        const code = typeof props.code === 'string' || typeof props.code === 'number' ? String(props.code) : null;
        const geometry = (f as { geometry?: Polygon | MultiPolygon | null }).geometry ?? null;
        if (!code) return problems.push(`feature ${i}: properties.code is missing`);
        if (seen.has(code)) return problems.push(`feature ${i} (code ${code}): code appears twice in the proposal`);
        seen.add(code);
        const type = (geometry as { type?: unknown } | null)?.type;
        if (geometry && type !== 'Polygon' && type !== 'MultiPolygon') {
          return problems.push(`feature ${i} (code ${code}): geometry type ${String(type)} is not allowed; expected Polygon or MultiPolygon`);
        }
        const before = byCode.get(code);
        const parent = props.parent === undefined ? before?.parentCode ?? null : props.parent === null ? null : String(props.parent);
        const level = typeof props.level === 'string' ? props.level : before?.level;
        if (!level) return problems.push(`feature ${i} (code ${code}): properties.level is missing for a new grid`);
        byCode.set(code, { code, parentCode: parent, level, geometry: geometry ?? before?.geometry ?? null });
        return undefined;
      });
      if (problems.length) throw new AppError(422, 'invalid_proposal', `the proposal has ${problems.length} problem(s): ${problems.slice(0, 5).join('; ')}`, { errors: problems });
    }
    return [...byCode.values()];
  }

  /**
   * Validates family by family (`validateSystem`); from `WORKER_THRESHOLD` grids on in a worker thread,
   * which also proposes the fixes, so the event loop keeps serving (issue #15).
   */
  async function validateOffLoop(system: StoredSystem, all: WorkerGrid[], scope: string | null, options: ValidateRequest['options'], ctx?: JobContext): Promise<{ report: PartitionReport; fixes: FixProposal[] }> {
    const started = performance.now();
    let progress = Promise.resolve();
    const onProgress = (done: number, total: number) => {
      if (ctx) progress = progress.then(() => ctx.progress(done / total, `${done} of ${total} parents checked`));
    };
    let result: { report: PartitionReport; fixes: FixProposal[] };
    const chars = all.reduce((n, g) => n + (typeof g.geometry === 'string' ? g.geometry.length : 0), 0);
    if (all.length >= WORKER_THRESHOLD || chars >= WORKER_THRESHOLD_CHARS) {
      const { report, proposals } = await validateSystemInWorker({ system, grids: all, scope, options, fixes: true }, onProgress);
      result = { report, fixes: withIds(report, proposals, 0) };
    } else {
      const grids = all.map((g) => ({ ...g, geometry: typeof g.geometry === 'string' ? JSON.parse(g.geometry) : g.geometry }));
      const report = validateSystem(system, grids, scope, options, onProgress);
      result = { report, fixes: fixesFor(system, grids, report, 0) };
    }
    await progress;
    logger.debug({ system: system.key, grids: all.length, ms: Math.round(performance.now() - started) }, 'partition validated');
    return result;
  }

  async function store(system: StoredSystem, scope: string | null, report: PartitionReport, durationMs: number, fixes: FixProposal[]): Promise<StoredReport> {
    const stored: StoredReport = { ...report, scope, durationMs, stale: false, fixes };
    await knex('partition_reports').insert({ system_id: system.id, scope, report: JSON.stringify(stored), duration_ms: Math.round(durationMs) });
    // Only the latest report per system and scope is served; older ones are history for at most a few runs.
    await knex.raw(
      `delete from partition_reports where system_id = ? and scope is not distinct from ? and id not in (
         select id from partition_reports where system_id = ? and scope is not distinct from ? order by created_at desc, id desc limit 5)`,
      [system.id, scope, system.id, scope],
    );
    await changes.publish(knex, { kind: 'report', system: system.key, codes: [], bbox: null });
    return stored;
  }

  async function latest(system: StoredSystem, scope: string | null): Promise<StoredReport | null> {
    const row = await knex('partition_reports').where({ system_id: system.id }).whereRaw('scope is not distinct from ?', [scope]).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).first('report');
    return row ? (typeof row.report === 'string' ? JSON.parse(row.report) : row.report) : null;
  }

  async function run(system: StoredSystem, request: ValidateRequest, ctx?: JobContext): Promise<StoredReport | PartitionReport> {
    const started = performance.now();
    const current: WorkerGrid[] = request.parent === undefined && request.proposal === undefined ? await loadGridText(system, '', []) : await gridsFor(system, request.parent);
    const all = request.proposal === undefined ? current : applyProposal(system, current as PartitionGrid[], request.proposal);
    const { report, fixes } = await validateOffLoop(system, all, request.parent ?? null, request.options, ctx);
    const duration = performance.now() - started;
    if (request.proposal !== undefined) return { ...report, dryRun: true, fixes } as PartitionReport;
    return store(system, request.parent ?? null, report, duration, fixes);
  }

  // Incremental re-check (issue #3): after grids change, re-validate only the families the change can
  // touch — the changed grids' parents and the changed grids as parents — and merge into the latest report.
  const pending = new Map<string, ChangeEvent[]>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  async function recheck(key: string, events: ChangeEvent[]): Promise<void> {
    const system = await knex('grid_systems').where({ key }).first('id');
    if (!system) return;
    const full = await systems.require(key);
    const report = await latest(full, null);
    if (!report) return;
    if (events.some((e) => e.bbox === null || e.kind === 'system')) {
      if (!report.stale) {
        await knex.raw(`update partition_reports set report = jsonb_set(report, '{stale}', 'true') where system_id = ? and scope is null`, [full.id]);
        await changes.publish(knex, { kind: 'report', system: key, codes: [], bbox: null });
      }
      return;
    }
    await recheckFamilies(full, report, events);
  }

  /**
   * The families a change can touch: each changed grid's parent (its siblings) and the changed grid as a
   * parent (its children). A grid that no longer exists (deleted) is found through its change's bbox:
   * every grid there that has children may have been its parent.
   */
  async function touchedFamilies(system: StoredSystem, events: ChangeEvent[]): Promise<{ families: Set<string>; top: boolean }> {
    const families = new Set<string>();
    let top = false;
    const changed = [...new Set(events.flatMap((e) => e.codes))];
    const rows: { code: string; parent_code: string | null; has_children: boolean }[] = (
      await knex.raw(
        `select g.code, g.parent_code, exists(select 1 from grids c where c.system_id = g.system_id and c.parent_code = g.code) as has_children
         from grids g where g.system_id = ? and g.code = any(?::text[])`,
        [system.id, changed],
      )
    ).rows;
    const found = new Set(rows.map((r) => r.code));
    const lost = events.filter((e) => e.codes.length === 0 || e.codes.some((c) => !found.has(c)));
    if (lost.length > 0) {
      const parents: { code: string }[] = (
        await knex.raw(
          `select g.code from grids g
           where g.system_id = ? and exists(select 1 from grids c where c.system_id = g.system_id and c.parent_code = g.code)
             and (${lost.map(() => 'g.geom && ST_MakeEnvelope(?, ?, ?, ?, 4326)').join(' or ')})`,
          [system.id, ...lost.flatMap((e) => e.bbox!)],
        )
      ).rows;
      for (const p of parents) families.add(p.code);
    }
    for (const r of rows) {
      if (r.parent_code) families.add(r.parent_code);
      else top = true;
      if (r.has_children) families.add(r.code);
    }
    return { families, top };
  }

  async function recheckFamilies(system: StoredSystem, report: StoredReport, events: ChangeEvent[]): Promise<StoredReport> {
    const started = performance.now();
    const { families, top } = await touchedFamilies(system, events);
    const codes = [...families];
    const input = codes.length === 0 ? [] : await loadGrids(system, 'and (code = any(?::text[]) or parent_code = any(?::text[]))', [codes, codes]);
    const partial: PartitionReport[] = [];
    if (codes.length) partial.push(validatePartition(system, input, { ...report.options, parents: codes }));
    if (top) partial.push(validatePartition(system, await loadGrids(system, 'and parent_code is null', []), report.options));
    const redone = new Set<string | null>([...codes, ...(top ? [null] : [])]);
    const keptIndex = new Map<number, number>();
    const keptIssues = report.issues.filter((issue, i) => {
      if (redone.has(issue.parent)) return false;
      keptIndex.set(i, keptIndex.size);
      return true;
    });
    const kept: PartitionReport = { ...report, parents: report.parents.filter((p) => !redone.has(p.parent)), issues: keptIssues };
    const merged = mergeReports(system.key, [kept, ...partial], report.options);
    // Fix proposals: those of untouched families keep their ids, re-indexed; re-checked families get new ones.
    const fixes = report.fixes.filter((f) => keptIndex.has(f.issue)).map((f) => ({ ...f, issue: keptIndex.get(f.issue)! }));
    let offset = keptIssues.length;
    for (const r of partial) {
      fixes.push(...fixesFor(system, input, r, offset));
      offset += r.issues.length;
    }
    const stored: StoredReport = { ...merged, scope: null, durationMs: Math.round(performance.now() - started), stale: false, fixes };
    await knex.raw(`update partition_reports set report = ?::jsonb, created_at = now() where id = (select id from partition_reports where system_id = ? and scope is null order by created_at desc, id desc limit 1)`, [JSON.stringify(stored), system.id]);
    await changes.publish(knex, { kind: 'report', system: system.key, codes: [], bbox: null });
    return stored;
  }

  changes.on((event) => {
    if (event.kind !== 'grids' && event.kind !== 'system') return;
    const list = pending.get(event.system) ?? [];
    list.push(event);
    pending.set(event.system, list);
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      const batch = [...pending];
      pending.clear();
      running = running.then(async () => {
        for (const [key, events] of batch) {
          await recheck(key, events).catch((err) => logger.error({ system: key, err: (err as Error).message }, 'incremental re-check failed'));
        }
      });
    }, 20);
  });

  return {
    /** Resolves when queued incremental re-checks have run (tests and orderly shutdown). */
    async settled(): Promise<void> {
      while (timer || pending.size) await new Promise((r) => setTimeout(r, 10));
      await running;
    },

    async validate(key: string, request: ValidateRequest): Promise<{ report: StoredReport | PartitionReport } | { job: string }> {
      const system = await systems.require(key);
      if (request.parent) await grids.get(key, request.parent);
      const count = Number((await knex('grids').where({ system_id: system.id }).count({ n: '*' }).first())?.n ?? 0);
      const asJob = request.mode === 'job' || (request.mode === 'auto' && count > JOB_THRESHOLD);
      if (!asJob) return { report: await run(system, request) };
      return { job: await jobs.start('validate', key, (ctx) => run(system, request, ctx)) };
    },

    async report(key: string, parent: string | null): Promise<StoredReport> {
      const system = await systems.require(key);
      // Read-your-writes: a report fetched right after an edit includes that edit's re-check.
      await this.settled();
      const r = await latest(system, parent);
      if (!r) throw notFound('report_not_found', `system ${key} has no partition report${parent ? ` for ${parent}` : ''} yet; POST /api/systems/${key}/validate first`);
      return r;
    },

    /** Applies one fix proposal of the latest report after re-validating the grids it changes. */
    async applyFix(key: string, id: string): Promise<{ applied: FixProposal; report: StoredReport }> {
      const system = await systems.require(key);
      const report = await latest(system, null);
      const fix = report?.fixes.find((f) => f.id === id);
      if (!report || !fix) throw notFound('fix_not_found', `the latest report of system ${key} has no fix proposal "${id}"`);
      if (report.stale) throw conflict('report_stale', `the report of system ${key} is stale; validate again before applying fixes`);
      const changed = new Set(fix.result.map((r) => r.code));
      // Only the families the fix touches: the changed grids' parents with all their children.
      const affected = await loadGrids(system, 'and code = any(?::text[])', [[...changed]]);
      const families = [...new Set(affected.map((g) => g.parentCode).filter((c): c is string => c !== null))];
      const current = await loadGrids(system, 'and (code = any(?::text[]) or parent_code = any(?::text[]))', [families, families]);
      const proposed = current.map((g) => (changed.has(g.code) ? { ...g, geometry: fix.result.find((r) => r.code === g.code)!.geometry } : g));
      const before = validatePartition(system, current, { ...report.options, parents: families });
      const after = validatePartition(system, proposed, { ...report.options, parents: families });
      const worse = ISSUE_KINDS.filter((k) => after.summary.counts[k] > before.summary.counts[k]);
      if (after.issues.length >= before.issues.length || worse.length > 0) {
        throw conflict('fix_rejected', `applying fix ${id} would not reduce the issues of its families (before ${before.issues.length}, after ${after.issues.length}${worse.length ? `; more ${worse.join(', ')}` : ''}); validate again`, {
          before: before.summary.counts,
          after: after.summary.counts,
        });
      }
      for (const r of fix.result) await grids.patch(key, r.code, { geometry: r.geometry }, { repair: false, expectedVersion: null });
      await this.settled();
      return { applied: fix, report: (await latest(system, null))! };
    },
  };
}

export type PartitionService = ReturnType<typeof createPartitionService>;

/**
 * Fix proposals for `report` with ids that stay the same while the defect stays the same (kind, grids and
 * area), so a client can apply a proposal it fetched before an unrelated edit. `offset` re-indexes issues.
 */
function fixesFor(system: StoredSystem, grids: PartitionGrid[], report: PartitionReport, offset: number): FixProposal[] {
  return withIds(report, proposeFixes(system, grids, report), offset);
}

function withIds(report: PartitionReport, proposals: FixProposal[], offset: number): FixProposal[] {
  return proposals.map((f) => {
    const issue = report.issues[f.issue]!;
    const id = createHash('sha1')
      .update(`${f.kind}|${f.absorb}|${issue.grids.join(',')}|${issue.parent}|${Math.round(f.area_m2 * 10)}`)
      .digest('hex')
      .slice(0, 12);
    return { ...f, id, issue: f.issue + offset };
  });
}

/** Moved to the validator (it merges inside the worker too); re-exported for existing importers. */
export { mergeReports };
