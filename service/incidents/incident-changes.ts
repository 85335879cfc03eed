import type { Queryable } from '../db/tx';
import type { ChangeBus, ChangeEvent } from '../db/changes';
import type { IncidentService } from './service';

/**
 * The incident service announcing, after each committed write, an `incidents` change on the ChangeBus
 * (issue #12: the incident tile layer is fresh as soon as a case is reported or moves a step, in this
 * process and, through NOTIFY, in every process on the same PostGIS server). A report or a step touches
 * the box of its case's point; a re-route (the old point is not known here), the overdue scan and a bulk
 * history load may touch any case, so they announce "everywhere".
 */
export function publishIncidentChanges(incidents: IncidentService, changes: ChangeBus, knex: Queryable): IncidentService {
  const announce = (bbox: ChangeEvent['bbox']) => changes.publish(knex, { kind: 'incidents', system: '', codes: [], bbox });
  const at = ({ lon, lat }: { lon: number; lat: number }): ChangeEvent['bbox'] => [lon, lat, lon, lat];
  return {
    ...incidents,
    async create(input, options) {
      const result = await incidents.create(input, options);
      if (result.created) await announce(at(result.incident.location));
      return result;
    },
    async transition(id, input, options) {
      const view = await incidents.transition(id, input, options);
      await announce(at(view.location));
      return view;
    },
    async reroute(id, input, options) {
      const view = await incidents.reroute(id, input, options);
      await announce(null);
      return view;
    },
    async scanOverdue(options) {
      const result = await incidents.scanOverdue(options);
      if (result.yellow + result.red > 0) await announce(null);
      return result;
    },
    async importHistory(cases) {
      const result = await incidents.importHistory(cases);
      await announce(null);
      return result;
    },
  };
}
