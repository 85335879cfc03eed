import { AppError, conflict } from '../errors';

/**
 * The case loop as data (issue #11; GB/T 30428.8 信息收集 → 立案 → 派遣 → 处理 → 反馈 → 核查结案 → 综合评价;
 * DOMAIN.md "Incidents"). Each of the four routes is a transition table: which action moves a case from
 * which status to which, and which kind of actor may take it. Nothing outside these tables decides
 * whether a transition is allowed, so the tests are generated from them.
 */
export const STATUSES = [
  'reported',
  'registered',
  'rejected',
  'dispatched',
  'in_progress',
  'postponement_requested',
  'fed_back',
  'closed',
  'evaluated',
] as const;
export type Status = (typeof STATUSES)[number];

/** Statuses in which the case still has a deadline running (what the overdue scan looks at). */
export const OPEN_STATUSES: readonly Status[] = ['reported', 'registered', 'dispatched', 'in_progress', 'postponement_requested', 'fed_back'];

export const ACTIONS = [
  'register',
  'reject',
  'dispatch',
  'accept',
  'feed_back',
  'close',
  'return_for_rework',
  'evaluate',
  'escalate',
  'hand_to_department',
  'request_postponement',
  'approve_postponement',
  'deny_postponement',
  'reopen',
] as const;
export type Action = (typeof ACTIONS)[number];

export const ROUTES = ['routine', 'coordination', 'urgent', 'approval'] as const;
export type Route = (typeof ROUTES)[number];

/**
 * Who may act, relative to the case, so no level name is written down (DOMAIN.md: levels are data per
 * system): an officer of the incident's own grid, of the unit currently handling it, or of the unit one
 * level above that; the grid's worker; the department it was handed to; the command centre.
 */
export type ActorRef =
  | { kind: 'grid_worker' }
  | { kind: 'unit_officer'; level: 'grid' | 'handling' | 'above_handling' }
  | { kind: 'department' }
  | { kind: 'command_centre' };

export interface TransitionRow {
  action: Action;
  from: readonly Status[];
  /** null: the status stays (e.g. an urgent report escalated before anyone registered it). */
  to: Status | null;
  by: readonly ActorRef[];
}

export type TransitionTable = readonly TransitionRow[];

const GW: ActorRef = { kind: 'grid_worker' };
const GRID: ActorRef = { kind: 'unit_officer', level: 'grid' };
const H: ActorRef = { kind: 'unit_officer', level: 'handling' };
const A: ActorRef = { kind: 'unit_officer', level: 'above_handling' };
const D: ActorRef = { kind: 'department' };
const C: ActorRef = { kind: 'command_centre' };

const WORKING: Status[] = ['registered', 'dispatched', 'in_progress'];
const DONE: Status[] = ['closed', 'evaluated'];

/**
 * DOMAIN.md's four routes:
 * 1. routine — the grid's worker handles it on the spot and logs it; the grid head checks it on site;
 * 2. coordination — accepted on site, taken to the community, the result reported to the street;
 * 3. urgent — reported up at once (the grid worker may escalate straight from "reported"), followed on
 *    site throughout; the command centre may take it over;
 * 4. approval — collected by the grid, accepted by the community, reviewed by the street, published.
 */
export const WORKFLOWS: Record<Route, TransitionTable> = {
  routine: [
    { action: 'register', from: ['reported'], to: 'registered', by: [GW, H, C] },
    { action: 'reject', from: ['reported'], to: 'rejected', by: [H, C] },
    { action: 'dispatch', from: ['registered'], to: 'dispatched', by: [GW, H, C] },
    { action: 'accept', from: ['dispatched'], to: 'in_progress', by: [GW, D] },
    { action: 'feed_back', from: ['in_progress'], to: 'fed_back', by: [GW, D] },
    { action: 'close', from: ['fed_back'], to: 'closed', by: [GRID, H, C] },
    { action: 'return_for_rework', from: ['fed_back'], to: 'in_progress', by: [GRID, H, C] },
    { action: 'evaluate', from: ['closed'], to: 'evaluated', by: [A, C] },
    { action: 'escalate', from: WORKING, to: 'registered', by: [GW, H, C] },
    { action: 'hand_to_department', from: WORKING, to: 'dispatched', by: [H, C] },
    { action: 'request_postponement', from: ['in_progress'], to: 'postponement_requested', by: [GW, D] },
    { action: 'approve_postponement', from: ['postponement_requested'], to: 'in_progress', by: [A, C] },
    { action: 'deny_postponement', from: ['postponement_requested'], to: 'in_progress', by: [A, C] },
    { action: 'reopen', from: DONE, to: 'dispatched', by: [A, C] },
  ],
  coordination: [
    { action: 'register', from: ['reported'], to: 'registered', by: [H, C] },
    { action: 'reject', from: ['reported'], to: 'rejected', by: [H, C] },
    { action: 'dispatch', from: ['registered'], to: 'dispatched', by: [H, C] },
    { action: 'accept', from: ['dispatched'], to: 'in_progress', by: [H, GW, D] },
    { action: 'feed_back', from: ['in_progress'], to: 'fed_back', by: [H, GW, D] },
    { action: 'close', from: ['fed_back'], to: 'closed', by: [A, C] },
    { action: 'return_for_rework', from: ['fed_back'], to: 'in_progress', by: [A, C] },
    { action: 'evaluate', from: ['closed'], to: 'evaluated', by: [A, C] },
    { action: 'escalate', from: ['reported'], to: null, by: [H, C] },
    { action: 'escalate', from: WORKING, to: 'registered', by: [H, C] },
    { action: 'hand_to_department', from: WORKING, to: 'dispatched', by: [H, A, C] },
    { action: 'request_postponement', from: ['in_progress'], to: 'postponement_requested', by: [H, D] },
    { action: 'approve_postponement', from: ['postponement_requested'], to: 'in_progress', by: [A, C] },
    { action: 'deny_postponement', from: ['postponement_requested'], to: 'in_progress', by: [A, C] },
    { action: 'reopen', from: DONE, to: 'dispatched', by: [A, C] },
  ],
  urgent: [
    { action: 'register', from: ['reported'], to: 'registered', by: [H, A, C] },
    { action: 'reject', from: ['reported'], to: 'rejected', by: [H, C] },
    { action: 'dispatch', from: ['registered'], to: 'dispatched', by: [H, C] },
    { action: 'accept', from: ['dispatched'], to: 'in_progress', by: [H, GW, D] },
    { action: 'feed_back', from: ['in_progress'], to: 'fed_back', by: [H, GW, D] },
    { action: 'close', from: ['fed_back'], to: 'closed', by: [A, C] },
    { action: 'return_for_rework', from: ['fed_back'], to: 'in_progress', by: [A, C] },
    { action: 'evaluate', from: ['closed'], to: 'evaluated', by: [C] },
    { action: 'escalate', from: ['reported'], to: null, by: [GW, H, C] },
    { action: 'escalate', from: WORKING, to: 'registered', by: [GW, H, C] },
    { action: 'hand_to_department', from: WORKING, to: 'dispatched', by: [H, A, C] },
    { action: 'request_postponement', from: ['in_progress'], to: 'postponement_requested', by: [H, D] },
    { action: 'approve_postponement', from: ['postponement_requested'], to: 'in_progress', by: [C] },
    { action: 'deny_postponement', from: ['postponement_requested'], to: 'in_progress', by: [C] },
    { action: 'reopen', from: DONE, to: 'dispatched', by: [C] },
  ],
  approval: [
    { action: 'register', from: ['reported'], to: 'registered', by: [H] },
    { action: 'reject', from: ['reported'], to: 'rejected', by: [H] },
    { action: 'dispatch', from: ['registered'], to: 'dispatched', by: [H] },
    { action: 'accept', from: ['dispatched'], to: 'in_progress', by: [A] },
    { action: 'reject', from: ['in_progress'], to: 'rejected', by: [A] },
    { action: 'feed_back', from: ['in_progress'], to: 'fed_back', by: [A, D] },
    { action: 'close', from: ['fed_back'], to: 'closed', by: [A, C] },
    { action: 'return_for_rework', from: ['fed_back'], to: 'in_progress', by: [A, C] },
    { action: 'evaluate', from: ['closed'], to: 'evaluated', by: [C] },
    { action: 'escalate', from: WORKING, to: 'registered', by: [H, A, C] },
    { action: 'hand_to_department', from: ['dispatched', 'in_progress'], to: 'dispatched', by: [A, C] },
    { action: 'request_postponement', from: ['in_progress'], to: 'postponement_requested', by: [A, D] },
    { action: 'approve_postponement', from: ['postponement_requested'], to: 'in_progress', by: [C] },
    { action: 'deny_postponement', from: ['postponement_requested'], to: 'in_progress', by: [C] },
    { action: 'reopen', from: DONE, to: 'dispatched', by: [C] },
  ],
};

/**
 * What the caller is, relative to this case: the service resolves it from the caller's unit and the
 * case's stored chain (`offset` = levels above the incident's grid; 0 is the grid itself).
 */
export type ActorRole =
  | { kind: 'grid_worker' }
  | { kind: 'unit_officer'; offset: number }
  | { kind: 'department'; own: boolean }
  | { kind: 'command_centre' };

/** Does a caller fill an actor slot of the table, given the level now handling the case? */
export function fills(ref: ActorRef, role: ActorRole, handlingOffset: number): boolean {
  switch (ref.kind) {
    case 'grid_worker':
    case 'command_centre':
      return role.kind === ref.kind;
    case 'department':
      return role.kind === 'department' && role.own;
    case 'unit_officer': {
      if (role.kind !== 'unit_officer') return false;
      const want = ref.level === 'grid' ? 0 : ref.level === 'handling' ? handlingOffset : handlingOffset + 1;
      return role.offset === want;
    }
  }
}

/** The rows that apply from a status, in table order. */
export function allowedFrom(route: Route, status: Status): TransitionRow[] {
  return WORKFLOWS[route].filter((row) => row.from.includes(status));
}

/** A readable list of who may do what next, for error details and the case view. */
export function describeAllowed(route: Route, status: Status): { action: Action; to: Status; by: ActorRef[] }[] {
  return allowedFrom(route, status).map((row) => ({ action: row.action, to: row.to ?? status, by: [...row.by] }));
}

/**
 * Decides one transition.
 * @returns the status after it
 * @throws {AppError} 409 `transition_not_allowed` when the action is not in the table from `status`
 *   (details list the allowed actions); 403 `actor_not_allowed` when it is, but not for this caller
 * @example decide('routine', 'reported', 'register', { kind: 'grid_worker' }, 0) // 'registered'
 */
export function decide(route: Route, status: Status, action: Action, role: ActorRole, handlingOffset: number): Status {
  const rows = allowedFrom(route, status);
  const row = rows.find((r) => r.action === action);
  if (!row) {
    throw conflict(
      'transition_not_allowed',
      `action "${action}" is not allowed on a ${route} case in status "${status}"; allowed: ${rows.map((r) => r.action).join(', ') || 'none'}`,
      { route, status, action, allowed: describeAllowed(route, status) },
    );
  }
  if (!row.by.some((ref) => fills(ref, role, handlingOffset))) {
    throw new AppError(403, 'actor_not_allowed', `a ${describeRole(role)} may not "${action}" a ${route} case in status "${status}"; allowed: ${row.by.map(describeRef).join(', ')}`, {
      route,
      status,
      action,
      by: row.by,
    });
  }
  return row.to ?? status;
}

export function describeRef(ref: ActorRef): string {
  return ref.kind === 'unit_officer' ? `unit_officer(${ref.level})` : ref.kind;
}

function describeRole(role: ActorRole): string {
  if (role.kind === 'unit_officer') return `unit officer ${role.offset} level(s) above the grid`;
  if (role.kind === 'department') return role.own ? 'department handling the case' : 'department not assigned to the case';
  return role.kind.replace('_', ' ');
}
