import type { Database } from '../db/engine';
import { createProblemQueries } from './problem-store';
import { ProblemsSource, problemsSourceId } from './problems-source';
import type { TileSourceProvider } from './source';

/**
 * One problems source per grid system with a whole-system partition report. A system's first report
 * adds its source and a deleted or renamed system drops or replaces it; later reports only reload the
 * source (ProblemsSource.onChange), so the re-check after every grid edit costs no discovery.
 */
export function problemsSourceProvider(db: Database): TileSourceProvider {
  const queries = createProblemQueries(db.knex);
  let withReport = new Set<string>();
  return {
    rediscoverOn: (event) => event.kind === 'system' || (event.kind === 'report' && !withReport.has(event.system)),
    async discover(current) {
      const systems = await queries.systems();
      withReport = new Set(systems.map((s) => s.key));
      return systems.map((system) => {
        const existing = current.get(problemsSourceId(system.key));
        const same = existing instanceof ProblemsSource && existing.system.id === system.id && existing.system.name === system.name;
        return same ? existing : new ProblemsSource(system, queries);
      });
    },
  };
}
