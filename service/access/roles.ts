/**
 * The one role → permission table (issue #10, DOMAIN.md "Access and privacy"). Every route names one of
 * these permissions in its `access` declaration; access/routes.test.ts fails the build when a route names
 * a permission that is not here or declares no access at all.
 */
export const PERMISSIONS = [
  'systems:read',
  'systems:admin',
  'grids:read',
  'grids:write',
  'grids:import',
  'grids:export',
  'point:read',
  'addresses:import',
  'addresses:read',
  'addresses:stats',
  /**
   * Police-sourced fields of the register (key persons under supervision and the like, DOMAIN.md "Access
   * and privacy"), unmasked; everyone else gets the records without them and counts at most.
   */
  'persons:restricted',
  'partition:validate',
  'partition:read',
  'partition:fix',
  'jobs:read',
  'tiles:read',
  'changesets:read',
  'changesets:propose',
  'changesets:approve',
  'changesets:apply',
  'incidents:read',
  'incidents:create',
  'incidents:act',
  'incidents:stats',
  /** The reporter's name and phone, unmasked. */
  'incidents:reporter',
  /** Open311 clients authenticate with their own api_key on top (issue #12). */
  'open311:read',
  'open311:report',
  'overlays:read',
  'overlays:write',
  'boards:read',
  'ops:metrics',
  /** Accounts, roles, API keys, locks. */
  'access:admin',
  /** Read and export the audit log. */
  'access:audit',
  /** Change one's own password: every signed-in account but the shared public one. */
  'access:self',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['admin', 'planner', 'approver', 'auditor', 'district', 'street', 'community', 'worker', 'department', 'bank', 'police', 'public'] as const;
export type Role = (typeof ROLES)[number];

export interface RoleDef {
  permissions: readonly Permission[];
  /** Whether names and phone numbers of persons reach this role unmasked. */
  personalData: boolean;
  /**
   * What a pair of this role names: nothing (unrestricted), a system, or a grid of a system; `published`
   * roles see every system but the banks' (bank ledgers are internal, DOMAIN.md); `system` names a
   * system and optionally one of its grids, the tier (bank: head office = the whole system, a branch or
   * an account manager = its grid's subtree; DOMAIN.md "Bank grids": graded authorisation).
   */
  scope: 'none' | 'published' | 'system' | 'grid';
  zh: string;
}

const READ_MAP: Permission[] = ['systems:read', 'grids:read', 'point:read', 'tiles:read'];
/** What every signed-in account may do for itself. */
const SIGNED_IN: Permission[] = ['access:self'];
const OFFICER: Permission[] = [
  ...READ_MAP,
  ...SIGNED_IN,
  'grids:export',
  'addresses:read',
  'addresses:stats',
  'partition:read',
  'partition:validate',
  'jobs:read',
  'incidents:read',
  'incidents:create',
  'incidents:act',
  'incidents:stats',
  'incidents:reporter',
  'boards:read',
  'overlays:read',
  'changesets:read',
];

export const ROLE_TABLE: Record<Role, RoleDef> = {
  admin: { permissions: PERMISSIONS, personalData: true, scope: 'none', zh: '系统管理员' },
  planner: {
    permissions: [...OFFICER, 'grids:write', 'grids:import', 'partition:fix', 'changesets:propose'],
    personalData: true,
    scope: 'grid',
    zh: '规划编辑',
  },
  // Approves boundary changes of its district: applies fix proposals after review.
  approver: { permissions: [...OFFICER, 'partition:fix', 'changesets:approve', 'changesets:apply'], personalData: true, scope: 'grid', zh: '审批人' },
  // Every report and statistic, no personal data, no edits.
  auditor: {
    permissions: [...READ_MAP, ...SIGNED_IN, 'grids:export', 'addresses:stats', 'partition:read', 'jobs:read', 'access:audit', 'incidents:stats', 'overlays:read', 'changesets:read', 'boards:read', 'ops:metrics'],
    personalData: false,
    scope: 'none',
    zh: '审计员',
  },
  district: { permissions: OFFICER, personalData: true, scope: 'grid', zh: '区级网格中心' },
  street: { permissions: OFFICER, personalData: true, scope: 'grid', zh: '街道网格中心' },
  community: { permissions: OFFICER, personalData: true, scope: 'grid', zh: '社区网格站' },
  // The own grid's addresses and households.
  worker: {
    permissions: [...READ_MAP, ...SIGNED_IN, 'grids:export', 'addresses:read', 'addresses:stats', 'jobs:read', 'incidents:read', 'incidents:create', 'incidents:act', 'incidents:reporter', 'boards:read'],
    personalData: true,
    scope: 'grid',
    zh: '网格员',
  },
  // Incidents handed to the department, on the published map.
  department: { permissions: [...READ_MAP, ...SIGNED_IN, 'incidents:read', 'incidents:act', 'incidents:stats'], personalData: false, scope: 'published', zh: '职能部门' },
  // Its bank's grids, register export and reports only; a branch or account manager its grid's subtree.
  bank: {
    permissions: [...READ_MAP, ...SIGNED_IN, 'grids:export', 'addresses:stats', 'partition:read', 'partition:validate', 'jobs:read', 'overlays:read', 'overlays:write', 'boards:read'],
    personalData: true,
    scope: 'system',
    zh: '银行网格',
  },
  // A police station over its jurisdiction (a grid subtree): the register with its police-sourced fields.
  police: { permissions: [...READ_MAP, ...SIGNED_IN, 'addresses:read', 'addresses:stats', 'persons:restricted'], personalData: true, scope: 'grid', zh: '公安派出所' },
  // Published boundaries and counts, no personal data; anonymous requests act as this role.
  // Residents report through Open311 clients, which carry their own api_key.
  public: { permissions: [...READ_MAP, 'open311:read', 'open311:report'], personalData: false, scope: 'published', zh: '公众' },
};

export const isPermission = (p: string): p is Permission => (PERMISSIONS as readonly string[]).includes(p);
export const isRole = (r: string): r is Role => (ROLES as readonly string[]).includes(r);
export const grants = (role: Role, permission: string): boolean => (ROLE_TABLE[role].permissions as readonly string[]).includes(permission);
