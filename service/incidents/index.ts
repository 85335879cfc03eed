import type { Queryable } from '../db/tx';
import classificationFixture from '../../fixtures/incidents/classification.json';
import { WorkingCalendar } from './calendar';
import { Classification } from './classification';
import { createIncidentService, type IncidentService } from './service';
import { createIncidentStore, type Locate } from './store';

export { WorkingCalendar } from './calendar';
export { Classification } from './classification';
export { createIncidentService, type IncidentService } from './service';
export { startOverdueScanner } from './scanner';
export { incidentRoutes } from './routes';

/** The incident feature over one database, with the shipped classification and calendar. */
export function createIncidents(db: Queryable, locate: Locate, options: { classification?: unknown; now?: () => Date } = {}): IncidentService {
  return createIncidentService({
    store: createIncidentStore(db, locate),
    classification: new Classification(options.classification ?? classificationFixture),
    calendar: new WorkingCalendar(),
    now: options.now,
  });
}
