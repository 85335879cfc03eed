import type { Logger } from '../logger';
import type { IncidentService } from './service';

/**
 * Runs the overdue scan every `intervalMs` (issue #11). Any number of service processes may run it against
 * one database: the scan locks the rows it cards with SKIP LOCKED, so each case is carded once.
 * @returns stop: waits for a running pass to finish
 */
export function startOverdueScanner(incidents: IncidentService, logger: Logger, intervalMs: number): () => Promise<void> {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = incidents
      // Calendar years another process loaded apply here from the next pass on.
      .loadCalendar()
      .then(() => incidents.scanOverdue())
      .then((r) => {
        if (r.yellow + r.red > 0) logger.info({ ...r }, 'overdue scan');
      })
      .catch((err) => logger.error({ err: (err as Error).message }, 'overdue scan failed'))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
