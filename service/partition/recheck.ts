import type { ChangeBus, ChangeEvent } from '../db/changes';
import { validatePartition, type PartitionReport } from '../geometry/partition/index';
import type { StoredSystem } from '../kernel/types';
import type { Logger } from '../logger';
import { timed, type SingleRun } from '../ops';
import type { SystemService } from '../systems';
import { mergeReports, type StoredReport } from './report';
import type { PartitionQueries, RecheckedChange } from './store';

/**
 * Incremental re-check (issue #3): after grids change, re-validate only the families the change can
 * touch — the changed grids' parents and the changed grids as parents — and merge into the latest report.
 * Changes are batched for 20 ms; `settled()` waits for the queue (read-your-writes, tests, shutdown).
 * A change the report's own validation already read (its transaction visible in the report's read
 * snapshot) is skipped however late it arrives; one re-checked on a report that a full validation, which
 * read before it, then replaced is handed back by that validation (`requeue`).
 */
export function startRecheck(deps: {
  store: PartitionQueries;
  systems: SystemService;
  changes: ChangeBus;
  logger: Logger;
  /** With several processes on one database: each change is re-checked once (issue #16). */
  singleRun?: SingleRun;
  /** How long another process waits before taking over a change its maker did not re-check. */
  takeoverMs?: number;
}) {
  const { store, systems, changes, logger, singleRun } = deps;
  const pending = new Map<string, ChangeEvent[]>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  async function recheck(key: string, heard: RecheckedChange[]): Promise<void> {
    const system = await systems.find(key);
    if (!system) return;
    const report = await store.latestFull(system, null);
    if (!report) {
      // Nothing to re-check, but a first validation may be under way that read before these.
      await store.recordUnreported(system, heard);
      return;
    }
    const events = await store.unseen(system, heard);
    if (events.length === 0) return;
    if (report.stale || events.some((e) => e.bbox === null || e.kind === 'system')) {
      // Recorded even on a report already stale: a validation that read before these replaces it.
      await store.markStale(system, events);
      if (!report.stale) await changes.publish(store.handle, { kind: 'report', system: key, codes: [], bbox: null });
      return;
    }
    await recheckFamilies(system, report, events);
  }

  /**
   * The families a change can touch: each changed grid's parent (its siblings) and the changed grid as a
   * parent (its children). A grid that no longer exists (deleted) is found through its change's bbox:
   * every grid there that has children may have been its parent.
   */
  async function touchedFamilies(system: StoredSystem, events: RecheckedChange[]): Promise<{ families: Set<string>; top: boolean }> {
    const families = new Set<string>();
    let top = false;
    const rows = await store.changedGrids(system, [...new Set(events.flatMap((e) => e.codes))]);
    const found = new Set(rows.map((r) => r.code));
    const lost = events.filter((e) => e.codes.length === 0 || e.codes.some((c) => !found.has(c)));
    for (const code of await store.parentsNear(system, lost.map((e) => e.bbox!))) families.add(code);
    for (const r of rows) {
      if (r.parent_code) families.add(r.parent_code);
      else top = true;
      if (r.has_children) families.add(r.code);
    }
    return { families, top };
  }

  async function recheckFamilies(system: StoredSystem, report: StoredReport, events: RecheckedChange[]): Promise<StoredReport> {
    const started = performance.now();
    const { families, top } = await touchedFamilies(system, events);
    const codes = [...families];
    const input = codes.length === 0 ? [] : await store.grids(system, { families: codes });
    const partial: PartitionReport[] = [];
    if (codes.length) partial.push(validatePartition(system, input, { ...report.options, parents: codes }));
    if (top) partial.push(validatePartition(system, await store.grids(system, { topLevel: true }), report.options));
    const redone = new Set<string | null>([...codes, ...(top ? [null] : [])]);
    const keptIssues = report.issues.filter((issue) => !redone.has(issue.parent)).map(({ seq: _seq, ...issue }) => issue);
    const kept: PartitionReport = { ...report, parents: report.parents.filter((p) => !redone.has(p.parent)), issues: keptIssues };
    const merged = mergeReports(system.key, [kept, ...partial], report.options);
    // Fix proposals are made on request from the stored findings (service.ts), so nothing to carry here.
    const stored: StoredReport = { ...merged, scope: null, durationMs: Math.round(performance.now() - started), stale: false, omitted: {} };
    await store.replaceLatest(system, stored, events);
    await changes.publish(store.handle, { kind: 'report', system: system.key, codes: [], bbox: null });
    return stored;
  }

  /**
   * Re-checks the changes this process wins the claim of, under a per-system lock: two processes never both
   * re-check one change, nor interleave their read-merge-write of one report.
   */
  async function recheckOnce(key: string, events: ChangeEvent[]): Promise<void> {
    if (!singleRun) return exclusive(key, () => recheck(key, events));
    const won = await singleRun.claim(events.flatMap((e) => (e.id ? [`recheck:${e.id}`] : [])));
    const mine = events.filter((e) => !e.id || won.has(`recheck:${e.id}`));
    if (mine.length === 0) return;
    await exclusive(key, () => timed('partition_recheck', () => recheck(key, mine)));
    logger.debug({ system: key, changes: mine.length }, 'report re-checked');
  }

  const locks = new Map<string, Promise<unknown>>();
  /**
   * Runs `work` on a system's whole-system report alone: after this process's earlier work on it (a
   * re-check's read-merge-write must not straddle a full validation's store), and under the lease other
   * processes take for it.
   */
  function exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
    const run = (locks.get(key) ?? Promise.resolve()).then(() => (singleRun ? singleRun.exclusive(`partition-report:${key}`, work) : work()));
    const tail = run.catch(() => undefined);
    locks.set(key, tail);
    void tail.then(() => {
      if (locks.get(key) === tail) locks.delete(key);
    });
    return run;
  }

  /** Runs after what is queued, under the system's lock like any re-check, without claiming (see `requeue`). */
  function enqueue(key: string, events: RecheckedChange[]): void {
    running = running.then(() => exclusive(key, () => recheck(key, events)).catch((err) => logger.error({ system: key, err: (err as Error).message }, 'incremental re-check failed')));
  }

  const takeovers = new Set<NodeJS.Timeout>();
  const unsubscribe = changes.on((event) => {
    if (event.kind !== 'grids' && event.kind !== 'system') return;
    // The process that made a change re-checks it (its reader then sees its own edit); another process
    // claims it only after a delay, so it takes over only from a maker that stopped first.
    if (singleRun && event.origin !== changes.origin) {
      const t = setTimeout(() => {
        takeovers.delete(t);
        running = running.then(() =>
          recheckOnce(event.system, [event]).catch((err) => logger.error({ system: event.system, err: (err as Error).message }, 'incremental re-check failed')),
        );
      }, deps.takeoverMs ?? 2000);
      takeovers.add(t);
      return;
    }
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
          await recheckOnce(key, events).catch((err) => logger.error({ system: key, err: (err as Error).message }, 'incremental re-check failed'));
        }
      });
    }, 20);
  });

  return {
    /**
     * Re-checks on the latest report changes a full validation stored without having read them (they were
     * re-checked on the report it replaced, `PartitionQueries.insertReport`); already claimed, so not again.
     */
    requeue(key: string, events: RecheckedChange[]): void {
      if (events.length > 0) enqueue(key, events);
    },
    exclusive,
    /** Stops listening and drops take-overs not yet due (orderly shutdown); the claims stay for another process. */
    stop(): void {
      unsubscribe();
      for (const t of takeovers) clearTimeout(t);
      takeovers.clear();
    },
    /** Resolves when queued incremental re-checks have run. */
    async settled(): Promise<void> {
      while (timer || pending.size) await new Promise((r) => setTimeout(r, 10));
      await running;
    },
  };
}
