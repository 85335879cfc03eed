/**
 * The changeset workflow (issue #14; DOMAIN.md "Boundary changes": the street proposes, the district
 * approves): draft → submitted → approved or rejected → applied. A rejected changeset can be reopened as
 * a draft, a submitted one withdrawn; an approved one that is rebased goes back to submitted, since the
 * proof its approver accepted has changed.
 */
export const STATUSES = ['draft', 'submitted', 'approved', 'rejected', 'applied'] as const;
export type ChangesetStatus = (typeof STATUSES)[number];

export const ACTIONS = ['edit', 'submit', 'withdraw', 'approve', 'reject', 'reopen', 'rebase', 'apply'] as const;
export type ChangesetAction = (typeof ACTIONS)[number];

const TRANSITIONS: Record<ChangesetStatus, Partial<Record<ChangesetAction, ChangesetStatus>>> = {
  draft: { edit: 'draft', submit: 'submitted', rebase: 'draft' },
  submitted: { withdraw: 'draft', approve: 'approved', reject: 'rejected', rebase: 'submitted' },
  approved: { apply: 'applied', rebase: 'submitted' },
  rejected: { reopen: 'draft' },
  applied: {},
};

/** The actions a changeset in `status` allows, in a stable order. */
export function allowedActions(status: ChangesetStatus): ChangesetAction[] {
  return ACTIONS.filter((a) => TRANSITIONS[status][a] !== undefined);
}

/** The status after `action`, or null when the action is not allowed from `status`. */
export function nextStatus(status: ChangesetStatus, action: ChangesetAction): ChangesetStatus | null {
  return TRANSITIONS[status][action] ?? null;
}
