import { hashPassword } from './password';
import type { Role } from './roles';
import type { AccessService } from './service';

/** The demo accounts' names, one per role (issue #10), all with the password `demo`. */
export const DEMO_ACCOUNTS: readonly Role[] = ['admin', 'planner', 'approver', 'auditor', 'district', 'street', 'community', 'worker', 'department', 'bank', 'police', 'public'];
export const DEMO_PASSWORD = 'demo';

export interface DemoAccount {
  username: Role;
  role: Role;
  system?: string;
  code?: string;
  /** The name was taken (e.g. `admin` created from GRIDATLAS_ADMIN_PASSWORD): left as it was. */
  skipped?: boolean;
}

/**
 * The demo password hashed once per demo account (scrypt, a salt each), started by the demo start before the
 * database opens so the hashing runs beside it instead of after the city is loaded (issue #15: first start).
 */
export function hashDemoPasswords(): Promise<string[]> {
  return Promise.all(DEMO_ACCOUNTS.map(() => hashPassword(DEMO_PASSWORD)));
}

/**
 * Seeds one account per role over units of the demo city: the district, its first street, that street's
 * first community and that community's first grid of the governance system, and the first bank's system;
 * the police station holds the first street.
 * Called by the demo start only, after it loaded the city into an empty database.
 */
export async function seedDemoAccounts(access: AccessService, hashes?: Promise<string[]>): Promise<DemoAccount[]> {
  const gov = await access.firstSystemOfKind('governance');
  const bank = await access.firstSystemOfKind('bank');
  if (!gov || !bank) throw new Error('the demo accounts need the demo city (a governance and a bank system)');
  const district = await access.firstGrid(gov, 'district', null);
  const street = district && (await access.firstGrid(gov, 'street', district));
  const community = street && (await access.firstGrid(gov, 'community', street));
  const grid = community && (await access.firstGrid(gov, 'grid', community));
  if (!district || !street || !community || !grid) throw new Error(`the demo governance system "${gov}" lacks a district → street → community → grid chain`);
  const at = (code: string) => ({ system: gov, code });
  const accounts: DemoAccount[] = [
    { username: 'admin', role: 'admin' },
    { username: 'planner', role: 'planner', ...at(street) },
    { username: 'approver', role: 'approver', ...at(district) },
    { username: 'auditor', role: 'auditor' },
    { username: 'district', role: 'district', ...at(district) },
    { username: 'street', role: 'street', ...at(street) },
    { username: 'community', role: 'community', ...at(community) },
    { username: 'worker', role: 'worker', ...at(grid) },
    { username: 'department', role: 'department' },
    { username: 'bank', role: 'bank', system: bank },
    { username: 'police', role: 'police', ...at(street) },
    { username: 'public', role: 'public' },
  ];
  const existing = new Set((await access.users()).map((u) => u.username));
  for (const a of accounts) if (existing.has(a.username)) a.skipped = true;
  // Together: each scrypt hash (~60 ms of CPU) runs on libuv's thread pool, so the eleven share the cores
  // instead of adding up on the first start (issue #15).
  const hashed = await hashes;
  await Promise.all(
    accounts
      .filter((a) => !a.skipped)
      .map((a) =>
        access.demoAccount(
          { username: a.username, password: DEMO_PASSWORD, roles: [{ role: a.role, ...(a.system ? { system: a.system } : {}), ...(a.code ? { code: a.code } : {}) }] },
          hashed?.[DEMO_ACCOUNTS.indexOf(a.username)],
        ),
      ),
  );
  return accounts;
}
