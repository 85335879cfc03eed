import type { Knex } from 'knex';
import { Router } from '@koa/router';
import classificationFixture from '../../fixtures/incidents/classification.json';
import { mountRoutes, type Authorizer } from '../http/route';
import { WorkingCalendar } from './calendar';
import { Classification } from './classification';
import { createOpen311Api, type Open311Api } from './open311-service';
import { open311Routes } from './open311-routes';
import { createOpen311Store } from './open311-store';
import { incidentRoutes } from './routes';
import { createIncidentService, type IncidentService } from './service';
import { createIncidentStore } from './store';

export { WorkingCalendar } from './calendar';
export { Classification } from './classification';
export { createIncidentService, type IncidentService } from './service';
export { startOverdueScanner } from './scanner';
export type { Open311Api } from './open311-service';
export { publishIncidentChanges } from './incident-changes';
export { incidentSourceProvider } from './tiles';

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

/** Open311 GeoReport v2 (issue #12) over the incident service. */
export function createOpen311(knex: Knex, incidents: IncidentService): Open311Api {
  return createOpen311Api({ store: createOpen311Store(knex), incidents });
}

export function open311Router(open311: Open311Api, authorize: Authorizer): Router {
  return mountRoutes(new Router(), open311Routes(open311), authorize);
}
