import type { Queryable } from '../db/tx';
import { locatePoint } from '../point';
import classificationFixture from '../../fixtures/incidents/classification.json';
import { WorkingCalendar } from './calendar';
import { Classification } from './classification';
import { createOpen311Api, type Open311Api } from './open311-service';
import { createOpen311Store } from './open311-store';
import { createIncidentService, type IncidentService } from './service';
import { createIncidentStore, type Locate } from './store';

export { WorkingCalendar } from './calendar';
export { Classification } from './classification';
export { createIncidentService, type IncidentService } from './service';
export { startOverdueScanner } from './scanner';
export { incidentRoutes } from './routes';
export type { Open311Api } from './open311-service';
export { open311Routes } from './open311-routes';
export { publishIncidentChanges } from './incident-changes';
export { incidentSourceProvider } from './tiles';
export { createIncidentCounts, type GridIncidentCounts } from './counts-store';
export { OPEN_STATUSES } from './workflow';
export { createBoundaryRerouting, type BoundaryRerouting, type OpenCaseInArea, type ReroutedCase } from './boundary';

/** The incident feature over one database, with the shipped classification and calendar. */
export function createIncidents(db: Queryable, locate: Locate, options: { classification?: unknown; now?: () => Date } = {}): IncidentService {
  return createIncidentService({
    store: createIncidentStore(db, locate),
    classification: new Classification(options.classification ?? classificationFixture),
    calendar: new WorkingCalendar(),
    now: options.now,
  });
}

/** Open311 GeoReport v2 (issue #12) over the incident service. */
export function createOpen311(db: Queryable, incidents: IncidentService): Open311Api {
  return createOpen311Api({ store: createOpen311Store(db, locatePoint), incidents });
}
