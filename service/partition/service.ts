import { randomUUID } from 'node:crypto';
import type { ChangeBus } from '../db/changes';
import { conflict, notFound } from '../errors';
import {
  ISSUE_KINDS,
  proposeFixes,
  readGrid,
  startValidationWorker,
  validatePartition,
  validateStoredSystemInWorker,
  validateSystem,
  validateSystemInWorker,
  ValidationReuse,
  type FixProposal,
  type PartitionGrid,
  type PartitionOptions,
  type PartitionReport,
  type WorkerGrid,
} from '../geometry/partition/index';
import type { GridService } from '../grids';
import type { JobContext, Jobs } from '../jobs';
import type { StoredSystem } from '../kernel/types';
import type { Logger } from '../logger';
import { timed, type SingleRun } from '../ops';
import type { SystemService } from '../systems';
import { applyProposal } from './proposal';
import { startRecheck } from './recheck';
import { compact, fixable, fixesFor, withIds, type StoredReport } from './report';
import type { PartitionQueries } from './store';

export { ISSUES_PER_KIND, type StoredReport } from './report';

export interface ValidateRequest {
  parent?: string;
  options: Omit<PartitionOptions, 'parents'>;
  /** Dry run: proposed grids (added or replacing by code) and codes to remove; nothing is saved. */
  proposal?: unknown;
  mode: 'auto' | 'sync' | 'job';
}

/**
 * From this many grids (or characters of base64 WKB, ~21 a vertex; or bytes of stored geometry, ~¾ of
 * that) on, a validation or fix proposal runs in a worker thread so the event loop stays free (issue
 * #15); below it, starting a thread costs more than it blocks.
 */
const WORKER_THRESHOLD = 1000;
const WORKER_THRESHOLD_CHARS = 700_000;
const WORKER_THRESHOLD_BYTES = 525_000;
/** Systems above this many grids are validated as a job unless the caller insists on waiting. */
const JOB_THRESHOLD = 5000;

export function createPartitionService(deps: {
  store: PartitionQueries;
  /** Where stored reports are read for GET routes: a read replica's store (issue #16); `store` when absent. */
  reads?: Pick<PartitionQueries, 'latest' | 'latestFull' | 'latestVersion' | 'latestWithVersion'>;
  systems: SystemService;
  grids: GridService;
  jobs: Jobs;
  changes: ChangeBus;
  logger: Logger;
  /** With several processes on one database: each change is re-checked once (issue #16). */
  singleRun?: SingleRun;
  /** How long another process waits before taking over a change its maker did not re-check. */
  takeoverMs?: number;
}) {
  const { store: queries, systems, grids, jobs, changes, logger } = deps;
  /**
   * The JSON replies of the latest compact reports, by system and scope, each with the stored row version it
   * was read at. A read checks the version (one small statement) and sends the kept text: the stored report
   * is not read, parsed and serialised again for every client (issue #16: 15 clients re-reading the report
   * kept the embedded engine's thread busy and starved tiles and lookups).
   */
  const replies = new Map<string, ReportReply>();
  /**
   * What the last whole-system validation run on this thread left to reuse (`ValidationReuse`; the worker
   * keeps its own), and the queue that keeps one such validation between its read and its end.
   */
  const inline = new ValidationReuse();
  let inlineQueue: Promise<unknown> = Promise.resolve();
  /** A system of this service's database: row versions of two databases in one process are unrelated. */
  const instance = randomUUID();
  const sourceOf = (system: StoredSystem) => `${instance}/${system.id}`;
  const recheck = startRecheck({ store: queries, systems, changes, logger, singleRun: deps.singleRun, takeoverMs: deps.takeoverMs });

  /** The grids a validation needs: the whole system, or a subtree with its chain of ancestors. */
  async function gridsFor(system: StoredSystem, parent: string | undefined): Promise<PartitionGrid[]> {
    if (!parent) return queries.grids(system, { all: true });
    const subtree = await grids.subtree(system.key, parent);
    const ancestors = await grids.ancestors(system.key, parent);
    return [...ancestors, ...subtree].map((g) => ({ code: g.code, parentCode: g.parentCode, level: g.level, geometry: g.geometry }));
  }

  /** Whether geometry work on these grids goes to the worker thread (`WORKER_THRESHOLD`). */
  const offLoop = (all: WorkerGrid[]) => all.length >= WORKER_THRESHOLD || all.reduce((n, g) => n + (typeof g.geometry === 'string' ? g.geometry.length : 0), 0) >= WORKER_THRESHOLD_CHARS;

  /**
   * Validates family by family (`validateSystem`); from `WORKER_THRESHOLD` grids on in a worker thread,
   * so the event loop keeps serving (issue #15). Fix proposals only for a dry run: a stored report's are
   * made when asked for (`fixes`), which keeps whole dense grids out of every stored report.
   */
  async function validateOffLoop(system: StoredSystem, all: WorkerGrid[], scope: string | null, options: ValidateRequest['options'], withFixes: boolean, ctx?: JobContext): Promise<{ report: PartitionReport; fixes: FixProposal[] }> {
    const started = performance.now();
    let progress = Promise.resolve();
    const onProgress = (done: number, total: number) => {
      if (ctx) progress = progress.then(() => ctx.progress(done / total, `${done} of ${total} parents checked`));
    };
    let result: { report: PartitionReport; fixes: FixProposal[] };
    if (offLoop(all)) {
      const { report, proposals } = await validateSystemInWorker({ system, grids: all, scope, options, fixes: withFixes }, onProgress);
      result = { report, fixes: withIds(report, proposals) };
    } else {
      const grids = all.map(readGrid);
      const report = validateSystem(system, grids, scope, options, onProgress);
      result = { report, fixes: withFixes ? fixesFor(system, grids, report) : [] };
    }
    await progress;
    logger.debug({ system: system.key, grids: all.length, ms: Math.round(performance.now() - started) }, 'partition validated');
    return result;
  }

  /**
   * Validates a whole stored system like `validateOffLoop`, reading it with its row versions so that
   * unchanged grids and families are taken from the last validation (`ValidationReuse`, issue #15); in the
   * worker from `WORKER_THRESHOLD` grids or `WORKER_THRESHOLD_BYTES` on.
   */
  async function validateStored(system: StoredSystem, size: { grids: number; bytes: number }, options: ValidateRequest['options'], ctx?: JobContext): Promise<PartitionReport> {
    const started = performance.now();
    let progress = Promise.resolve();
    const onProgress = (done: number, total: number) => {
      if (ctx) progress = progress.then(() => ctx.progress(done / total, `${done} of ${total} parents checked`));
    };
    const source = sourceOf(system);
    let report: PartitionReport;
    if (size.grids >= WORKER_THRESHOLD || size.bytes >= WORKER_THRESHOLD_BYTES) {
      const reader = { digest: () => queries.gridsDigest(system), read: (known: ReadonlyMap<string, string>) => queries.storedGrids(system, known) };
      report = (await validateStoredSystemInWorker({ system, scope: null, options, fixes: false, source }, reader, onProgress)).report;
    } else {
      const run = inlineQueue.then(async () => {
        const digest = inline.digest(source);
        const same = digest !== null && (await queries.gridsDigest(system)) === digest;
        const grids = inline.take(source, same ? null : await queries.storedGrids(system, inline.knows(source)));
        const made = validateSystem(system, grids, null, options, onProgress, inline.prepared());
        inline.done();
        return made;
      });
      inlineQueue = run.catch(() => undefined);
      report = await run;
    }
    await progress;
    logger.debug({ system: system.key, grids: size.grids, ms: Math.round(performance.now() - started) }, 'partition validated');
    return report;
  }

  /**
   * Fix proposals for the findings of a stored report (whole-system), made from the current grids of the
   * families concerned; ids are stable (`withIds`), `issue` is the finding's `seq`.
   */
  async function proposalsFor(system: StoredSystem, report: StoredReport): Promise<FixProposal[]> {
    const candidates = report.issues.filter(fixable);
    if (candidates.length === 0) return [];
    const families = [...new Set(candidates.map((i) => i.parent).filter((c): c is string => c !== null))];
    const input = [
      ...(families.length > 0 ? await queries.grids(system, { families }) : []),
      ...(candidates.some((i) => i.parent === null) ? await queries.grids(system, { topLevel: true }) : []),
    ];
    const slim: PartitionReport = { ...report, issues: candidates };
    const raw = offLoop(input)
      ? (await validateSystemInWorker({ system, grids: input, scope: null, options: report.options, fixes: true, report: slim })).proposals
      : proposeFixes(system, input, slim);
    return withIds(slim, raw).map((f) => ({ ...f, issue: candidates[f.issue]!.seq ?? f.issue }));
  }

  /**
   * Stores the report (every finding) and returns its compact form (the first findings of each kind). A
   * whole-system report read at `readSnapshot`: changes re-checked meanwhile on the report it replaces,
   * which its read did not see, are re-checked on it.
   */
  async function store(system: StoredSystem, scope: string | null, report: PartitionReport, durationMs: number, readSnapshot?: string): Promise<StoredReport> {
    const full: StoredReport = { ...report, scope, durationMs, stale: false, omitted: {} };
    // A whole-system report replaces the one re-checks merge into: never in the middle of one.
    const missed = scope === null ? await recheck.exclusive(system.key, () => queries.insertReport(system, scope, full, readSnapshot)) : await queries.insertReport(system, scope, full);
    recheck.requeue(system.key, missed);
    await changes.publish(queries.handle, { kind: 'report', system: system.key, codes: [], bbox: null });
    return compact(full);
  }

  async function run(system: StoredSystem, size: { grids: number; bytes: number }, request: ValidateRequest, ctx?: JobContext): Promise<StoredReport | PartitionReport> {
    const started = performance.now();
    if (request.parent === undefined && request.proposal === undefined) {
      // Before the read: every change this snapshot shows is in what the validation reads (`store`).
      const readSnapshot = await queries.snapshot();
      const report = await timed('partition_validate', () => validateStored(system, size, request.options, ctx));
      return store(system, null, report, performance.now() - started, readSnapshot);
    }
    const current: WorkerGrid[] = await gridsFor(system, request.parent);
    const all = request.proposal === undefined ? current : applyProposal(system, current as PartitionGrid[], request.proposal);
    const dryRun = request.proposal !== undefined;
    const { report, fixes } = await timed('partition_validate', () => validateOffLoop(system, all, request.parent ?? null, request.options, dryRun, ctx));
    const duration = performance.now() - started;
    if (dryRun) return { ...report, dryRun: true, fixes } as PartitionReport;
    return store(system, request.parent ?? null, report, duration);
  }

  return {
    /** Resolves when queued incremental re-checks have run (tests and orderly shutdown). */
    settled: recheck.settled,
    stop: recheck.stop,

    async validate(key: string, request: ValidateRequest): Promise<{ report: StoredReport | PartitionReport } | { job: string }> {
      const system = await systems.require(key);
      if (request.parent) await grids.get(key, request.parent);
      const size = await queries.gridSize(system);
      const asJob = request.mode === 'job' || (request.mode === 'auto' && size.grids > JOB_THRESHOLD);
      // A whole system this large goes to the worker (`validateStored`): it starts while the grids are read.
      if (request.parent === undefined && (size.grids >= WORKER_THRESHOLD || size.bytes >= WORKER_THRESHOLD_BYTES)) startValidationWorker();
      if (!asJob) return { report: await run(system, size, request) };
      return { job: await jobs.start('validate', key, (ctx) => run(system, size, request, ctx)) };
    },

    /**
     * The latest report: compact (the first `ISSUES_PER_KIND` findings of each kind, `omitted` counting the
     * rest), or with every finding (`full`, for file exports).
     */
    async report(key: string, parent: string | null, options: { full?: boolean } = {}): Promise<StoredReport> {
      const system = await systems.require(key);
      // Read-your-writes: a report fetched right after an edit includes that edit's re-check.
      await this.settled();
      const reads = deps.reads ?? queries;
      const r = options.full ? await reads.latestFull(system, parent) : await reads.latest(system, parent);
      if (!r) throw noReport(key, parent);
      return { ...r, omitted: r.omitted ?? {} };
    },

    /**
     * The latest compact report as JSON text with its ETag (the stored row's version): `report` as the
     * client receives it, kept while the stored report stays the same.
     */
    async reportReply(key: string, parent: string | null): Promise<ReportReply> {
      const system = await systems.require(key);
      await this.settled();
      const reads = deps.reads ?? queries;
      const slot = `${system.id}/${parent ?? ''}`;
      const version = await reads.latestVersion(system, parent);
      if (version === null) throw noReport(key, parent);
      const kept = replies.get(slot);
      if (kept?.version === version) return kept;
      const row = await reads.latestWithVersion(system, parent);
      if (!row) throw noReport(key, parent);
      const reply: ReportReply = {
        version: row.version,
        etag: `"report-${row.version}"`,
        json: Buffer.from(JSON.stringify({ ...row.report, omitted: row.report.omitted ?? {} })),
      };
      replies.delete(slot);
      replies.set(slot, reply);
      // The least recently read slot goes first; a compact report is at most a few hundred KB.
      if (replies.size > KEPT_REPLIES) replies.delete(replies.keys().next().value!);
      return reply;
    },

    /** One page of the latest report's findings (optionally of one kind), with the exact total. */
    async issues(key: string, parent: string | null, page: { kind?: string; offset: number; limit: number }) {
      const system = await systems.require(key);
      await this.settled();
      const found = await queries.issuesPage(system, parent, page);
      if (!found) throw noReport(key, parent);
      return { system: key, scope: parent, ...(page.kind ? { kind: page.kind } : {}), offset: page.offset, limit: page.limit, ...found };
    },

    /** Fix proposals for the latest whole-system report, made from the current grids on request. */
    async fixes(key: string): Promise<{ report: StoredReport; fixes: FixProposal[] }> {
      const system = await systems.require(key);
      await this.settled();
      const report = await queries.latestFull(system, null);
      if (!report) throw noReport(key, null);
      return { report, fixes: report.stale ? [] : await proposalsFor(system, report) };
    },

    /** Applies one fix proposal of the latest report after re-validating the grids it changes. */
    async applyFix(key: string, id: string): Promise<{ applied: FixProposal; report: StoredReport }> {
      const system = await systems.require(key);
      const report = await queries.latestFull(system, null);
      if (report?.stale) throw conflict('report_stale', `the report of system ${key} is stale; validate again before applying fixes`);
      const fix = report ? (await proposalsFor(system, report)).find((f) => f.id === id) : undefined;
      if (!report || !fix) throw notFound('fix_not_found', `the latest report of system ${key} has no fix proposal "${id}"`);
      const changed = new Set(fix.result.map((r) => r.code));
      // Only the families the fix touches: the changed grids' parents with all their children.
      const affected = await queries.grids(system, { codes: [...changed] });
      const families = [...new Set(affected.map((g) => g.parentCode).filter((c): c is string => c !== null))];
      const current = await queries.grids(system, { families });
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
      await grids.patchMany(key, fix.result.map((r) => ({ code: r.code, body: { geometry: r.geometry } })), { repair: false });
      await this.settled();
      return { applied: fix, report: (await queries.latest(system, null))! };
    },
  };
}

/** A stored report's JSON reply: its text, kept as sent, and the stored row version it was read at. */
export interface ReportReply {
  version: string;
  etag: string;
  json: Buffer;
}

/** Replies kept (systems × scopes read): a compact report is bounded (`ISSUES_PER_KIND` findings per kind). */
const KEPT_REPLIES = 32;

function noReport(key: string, parent: string | null) {
  return notFound('report_not_found', `system ${key} has no partition report${parent ? ` for ${parent}` : ''} yet; POST /api/systems/${key}/validate first`);
}

export type PartitionService = ReturnType<typeof createPartitionService>;
