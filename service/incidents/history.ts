import type { TimeLimit, WorkingCalendar } from './calendar';
import { caseDay, caseNumber } from './case-number';
import type { Classification } from './classification';
import { stageDeadline, transitionEffects } from './effects';
import { routeCase } from './routing';
import type { ActorInput, Source } from './service';
import type { IncidentRecord, IncidentStore, NewLogEntry } from './store';
import { WORKFLOWS, decide, fills, type Action, type ActorRef, type ActorRole, type Route } from './workflow';

/** One step of a past case; `by` defaults to the first actor the table names for it. */
export interface HistoryStep {
  action: Action;
  at: Date;
  by?: ActorRef;
  name?: string;
  note?: string;
  extension?: TimeLimit;
  department?: string;
  evaluation?: { score: number; note?: string };
}

export interface HistoricalCase {
  category: string;
  route?: Route;
  point: { lon: number; lat: number };
  source: Source;
  description: string;
  reporter?: { name?: string; phone?: string };
  reportedAt: Date;
  steps: HistoryStep[];
}

/**
 * Loads past cases in bulk (the demo's year of history), through the same workflow tables and transition
 * effects as live cases; cards a scan would have shown are dated at the warning and deadline instants.
 * Cases outside the territory are skipped. One transaction: all or nothing.
 * @throws {Error} when a step is not allowed by its route's table (a bug in the script, not user input)
 */
export async function importHistory(deps: { store: IncidentStore; classification: Classification; calendar: WorkingCalendar }, cases: HistoricalCase[]): Promise<{ cases: number; log: number }> {
  const { store, classification, calendar } = deps;
  const policy = classification.policy;
  return store.transaction(async (s) => {
    // Numbers continue each unit's and day's counter; the lock keeps live reports from taking one meanwhile.
    const counters = await s.lockSequences();
    const located = await s.locateMany(cases.map((c) => [c.point.lon, c.point.lat]));
    const records: Omit<IncidentRecord, 'id' | 'version'>[] = [];
    const logs: Omit<NewLogEntry, 'incidentId'>[][] = [];
    const sequences = new Map<string, { unitCode: string; day: string; last: number }>();

    cases.forEach((c, i) => {
      const grids = located[i]!;
      const governance = grids.find((s) => s.kind === 'governance');
      if (!governance) return;
      const category = classification.category(c.category);
      const routing = routeCase(governance.chain, category, c.route);
      const day = caseDay(c.reportedAt);
      const key = `${routing.responsible.code}|${day}`;
      const counter = sequences.get(key) ?? { unitCode: routing.responsible.code, day, last: counters.get(key) ?? 0 };
      counter.last++;
      sequences.set(key, counter);
      const r: Omit<IncidentRecord, 'id' | 'version'> = {
        caseNo: caseNumber(routing.responsible.code, c.reportedAt, counter.last),
        idempotencyKey: null,
        requestHash: null,
        route: routing.route,
        status: 'reported',
        category: category.code,
        major: category.major,
        severity: category.severity,
        priority: 3,
        source: c.source,
        description: c.description,
        reporterName: c.reporter?.name ?? null,
        reporterPhone: c.reporter?.phone ?? null,
        lon: c.point.lon,
        lat: c.point.lat,
        inputPoint: { crs: 'EPSG:4326', x: c.point.lon, y: c.point.lat },
        addressId: null,
        system: governance.system,
        chain: governance.chain,
        grids,
        unitCode: routing.responsible.code,
        handlingLevel: routing.handlingLevel,
        handlingUnit: routing.handling.code,
        department: routing.department,
        handler: null,
        reportedAt: c.reportedAt,
        registeredAt: null,
        dispatchedAt: null,
        fedBackAt: null,
        closedAt: null,
        evaluatedAt: null,
        stageLimit: null,
        stageStartedAt: null,
        dueAt: null,
        warnAt: null,
        card: 'none',
        yellowAt: null,
        redAt: null,
        wasOverdue: false,
        escalations: 0,
        reworks: 0,
        postponements: 0,
        postponementRequest: null,
        handlingWorkingMs: null,
        evaluation: null,
        duplicates: [],
        ...(stageDeadline(calendar, policy, classification.registerWithin(routing.handlingLevel), c.reportedAt) as object),
      };
      const log: Omit<NewLogEntry, 'incidentId'>[] = [
        { at: c.reportedAt, actor: { kind: 'reporter', source: c.source }, action: 'report', fromStatus: null, toStatus: 'reported', note: null, location: c.point, photos: [], details: { route: r.route } },
      ];
      const system = { kind: 'system', name: 'overdue-scan' };
      for (const step of c.steps) {
        if (r.warnAt && r.card === 'none' && r.dueAt && r.warnAt < r.dueAt && r.warnAt < step.at) {
          Object.assign(r, { card: 'yellow', yellowAt: r.warnAt });
          log.push({ at: r.warnAt, actor: system, action: 'card_yellow', fromStatus: r.status, toStatus: r.status, note: null, location: null, photos: [], details: { previous: 'none' } });
        }
        if (r.dueAt && r.card !== 'red' && r.dueAt < step.at) {
          log.push({ at: r.dueAt, actor: system, action: 'card_red', fromStatus: r.status, toStatus: r.status, note: null, location: null, photos: [], details: { previous: r.card } });
          Object.assign(r, { card: 'red', redAt: r.dueAt, wasOverdue: true });
        }
        const row = WORKFLOWS[r.route].find((w) => w.action === step.action && w.from.includes(r.status));
        if (!row) throw new Error(`history: ${step.action} is not allowed from ${r.status} on a ${r.route} case`);
        // The step's own actor, else the first the table names who exists on this chain.
        const chosen = [...(step.by ? [step.by] : []), ...row.by]
          .map((ref) => ({ ref, ...actorOf(ref, r, step.name ?? '演示用户') }))
          .find((a) => fills(a.ref, a.role, r.handlingLevel));
        if (!chosen) throw new Error(`history: nobody on the chain of ${r.caseNo} may ${step.action}`);
        const { role, actor } = chosen;
        const to = decide(r.route, r.status, step.action, role, r.handlingLevel);
        const input = { action: step.action, actor, note: step.note, extension: step.extension, department: step.department, evaluation: step.evaluation };
        const { patch, details } = transitionEffects(r as IncidentRecord, input, to, step.at, classification, calendar);
        const from = r.status;
        Object.assign(r, patch);
        log.push({ at: step.at, actor: { ...actor }, action: step.action, fromStatus: from, toStatus: to, note: step.note ?? null, location: null, photos: [], details });
      }
      records.push(r);
      logs.push(log);
    });

    const ids = await s.insertMany(records);
    const entries = logs.flatMap((log, i) => log.map((e) => ({ ...e, incidentId: ids[i]! })));
    await s.appendLogMany(entries);
    await s.raiseSequences([...sequences.values()]);
    return { cases: ids.length, log: entries.length };
  });
}

/** The caller a table slot names, on this case's own chain. */
function actorOf(ref: ActorRef, r: Pick<IncidentRecord, 'chain' | 'handlingLevel' | 'department'>, name: string): { role: ActorRole; actor: ActorInput } {
  switch (ref.kind) {
    case 'grid_worker':
      return { role: { kind: 'grid_worker' }, actor: { kind: 'grid_worker', unit: r.chain[0]!.code, name } };
    case 'unit_officer': {
      const offset = ref.level === 'grid' ? 0 : ref.level === 'handling' ? r.handlingLevel : r.handlingLevel + 1;
      const unit = r.chain[Math.min(offset, r.chain.length - 1)]!;
      return { role: { kind: 'unit_officer', offset: Math.min(offset, r.chain.length - 1) }, actor: { kind: 'unit_officer', unit: unit.code, name } };
    }
    case 'department':
      return { role: { kind: 'department', own: true }, actor: { kind: 'department', department: r.department ?? '', name } };
    case 'command_centre':
      return { role: { kind: 'command_centre' }, actor: { kind: 'command_centre', name } };
  }
}
