import { unprocessable } from '../errors';
import type { TimeLimit, WorkingCalendar } from './calendar';
import type { Classification, Policy } from './classification';
import { escalation } from './routing';
import type { TransitionInput } from './service';
import type { IncidentPatch, IncidentRecord } from './store';
import type { Action, Status } from './workflow';

/** Actions whose reason must be written down. */
const NOTE_REQUIRED: ReadonlySet<Action> = new Set(['reject', 'return_for_rework', 'request_postponement', 'deny_postponement', 'reopen']);

/** The deadline columns of a stage that starts at `from`. */
export function stageDeadline(calendar: WorkingCalendar, policy: Policy, limit: TimeLimit, from: Date): IncidentPatch {
  const { due, warnAt } = calendar.deadline(from, limit, policy.yellowShare);
  return { stageLimit: limit, stageStartedAt: from, dueAt: due, warnAt };
}

const noStage: IncidentPatch = { stageLimit: null, stageStartedAt: null, dueAt: null, warnAt: null };

/**
 * What one allowed transition does to a case besides its status: stage deadlines (register → handle limit,
 * feed back → verify limit, rework and re-open restart the handle limit, postponement extends it), the
 * timestamps statistics count, handling time in working hours at closure, and "late" when a stage ends
 * after its deadline. Pure, so the demo history goes through the same rules as the service.
 * @throws {AppError} 422 when the action needs a note, a department, an extension or an evaluation
 */
export function transitionEffects(
  r: IncidentRecord,
  input: TransitionInput,
  to: Status,
  at: Date,
  classification: Classification,
  calendar: WorkingCalendar,
): { patch: IncidentPatch; details: Record<string, unknown> } {
  const policy = classification.policy;
  const stage = (limit: TimeLimit, from: Date) => stageDeadline(calendar, policy, limit, from);
  if (NOTE_REQUIRED.has(input.action) && !input.note?.trim()) {
    throw unprocessable('note_required', `action "${input.action}" needs a note saying why`, { field: 'note' });
  }
  const patch: IncidentPatch = { status: to };
  const details: Record<string, unknown> = {};
  if (r.dueAt && at > r.dueAt) patch.wasOverdue = true;
  const handle = classification.category(r.category).timeLimits.handle;
  switch (input.action) {
    case 'register':
      Object.assign(patch, { registeredAt: at }, stage(handle, at));
      break;
    case 'reject':
      Object.assign(patch, noStage);
      break;
    case 'dispatch':
      patch.dispatchedAt = r.dispatchedAt ?? at;
      break;
    case 'accept':
      break;
    case 'feed_back':
      Object.assign(patch, { fedBackAt: at, handler: input.actor.name }, stage(policy.verifyWithin, at));
      break;
    case 'close':
      Object.assign(patch, { closedAt: at, handlingWorkingMs: calendar.workingTimeBetween(r.registeredAt ?? r.reportedAt, at) }, noStage);
      break;
    case 'return_for_rework':
      Object.assign(patch, { reworks: r.reworks + 1 }, stage(handle, at));
      break;
    case 'evaluate':
      if (!input.evaluation) throw unprocessable('evaluation_required', 'action "evaluate" needs evaluation: { score: 1–5, note? }', { field: 'evaluation' });
      Object.assign(patch, { evaluatedAt: at, evaluation: input.evaluation });
      break;
    case 'escalate': {
      const up = escalation(r.chain, r.handlingLevel);
      Object.assign(patch, { handlingLevel: up.handlingLevel, handlingUnit: up.handling.code, escalations: r.escalations + 1 });
      Object.assign(details, { fromLevel: r.handlingLevel, toLevel: up.handlingLevel, toUnit: up.handling.code });
      break;
    }
    case 'hand_to_department': {
      if (!input.department) throw unprocessable('department_required', 'action "hand_to_department" needs department: a configured department key', { field: 'department' });
      patch.department = classification.department(input.department).key;
      patch.dispatchedAt = r.dispatchedAt ?? at;
      Object.assign(details, { fromDepartment: r.department, toDepartment: patch.department });
      break;
    }
    case 'request_postponement':
      if (!input.extension) throw unprocessable('extension_required', 'action "request_postponement" needs extension: a time limit such as { type: "working_days", amount: 2 }', { field: 'extension' });
      patch.postponementRequest = { extension: input.extension, note: input.note! };
      details.extension = input.extension;
      break;
    case 'approve_postponement': {
      const request = r.postponementRequest!;
      const from = r.dueAt && r.dueAt > at ? r.dueAt : at;
      const { due, warnAt } = calendar.deadline(from, request.extension, policy.yellowShare);
      Object.assign(patch, { dueAt: due, warnAt, postponements: r.postponements + 1, postponementRequest: null });
      Object.assign(details, { extension: request.extension, previousDue: iso(r.dueAt), due: due.toISOString() });
      break;
    }
    case 'deny_postponement':
      patch.postponementRequest = null;
      break;
    case 'reopen':
      Object.assign(patch, { closedAt: null, evaluatedAt: null, evaluation: null, handlingWorkingMs: null }, stage(handle, at));
      break;
  }
  return { patch, details };
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
