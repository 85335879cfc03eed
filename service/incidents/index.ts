import type { Knex } from 'knex';
import { Router } from '@koa/router';
import classificationFixture from '../../fixtures/incidents/classification.json';
import { mountRoutes, type Authorizer } from '../http/route';
import { WorkingCalendar } from './calendar';
import { Classification } from './classification';
import { incidentRoutes } from './routes';
import { createIncidentService, type IncidentService } from './service';
import { createIncidentStore } from './store';

export { WorkingCalendar } from './calendar';
export { Classification } from './classification';
export { createIncidentService, type IncidentService } from './service';
export { startOverdueScanner } from './scanner';

/** The incident feature over one database, with the shipped classification and calendar. */
export function createIncidents(knex: Knex, options: { classification?: unknown; now?: () => Date } = {}): IncidentService {
  return createIncidentService({
    store: createIncidentStore(knex),
    classification: new Classification(options.classification ?? classificationFixture),
    calendar: new WorkingCalendar(),
    now: options.now,
  });
}

export function incidentsRouter(incidents: IncidentService, authorize: Authorizer): Router {
  return mountRoutes(new Router(), incidentRoutes(incidents), authorize);
}
