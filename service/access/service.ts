import type { ChangeBus } from '../db/changes';
import type { Transact, Tx } from '../db/tx';
import { AppError, badRequest, conflict, notFound } from '../errors';
import { decoyHash, hashPassword, newSecret, secretHash, verifyPassword } from './password';
import type { Principal, RoleScope } from './policy';
import { isRole, ROLE_TABLE, type Role } from './roles';
import type { AccessQueries, AuditEntry, AuditFilter, PairRow } from './store';
import { FREE_FAILURES, lockSeconds } from './throttle';

/** Sessions last a working day; a new login is cheap, a stolen token should not live for weeks. */
export const SESSION_HOURS = 12;
/**
 * How long a verified token's principal is reused without asking the database (bench-access.ts: three
 * queries per request otherwise), never past the session's expiry. A logout or account change takes
 * effect at once: in this process directly, in others through the change bus (LISTEN/NOTIFY); this time
 * bounds it only if a notification is lost.
 */
const PRINCIPAL_TTL_MS = 30_000;
const API_KEY_PREFIX = 'gak_';

export interface Credentials {
  /** `Authorization: Bearer <token>` */
  bearer?: string;
  /** The session cookie. */
  cookie?: string;
  /** `X-API-Key` */
  apiKey?: string;
}

export interface Authenticated {
  principal: Principal;
  /** Set for cookie sessions: unsafe requests must echo it (CSRF). */
  csrfToken?: string;
}

export interface LoginResult {
  token: string;
  csrfToken: string;
  expiresAt: string;
  user: { id: number; username: string; displayName: string | null };
  roles: RoleScope[];
}

export interface AccountPatch {
  displayName?: string | null;
  roles?: AccountInput['roles'];
  disabled?: boolean;
}

/** A change to accounts, announced so other processes drop their verified principals at once. */
const ACCOUNTS_CHANGED = 'accounts';

export interface AccountInput {
  username: string;
  password: string;
  displayName?: string;
  roles: { role: string; system?: string; code?: string }[];
}

const anonymousPairs = (published: string[]): RoleScope[] => published.map((system) => ({ role: 'public', system }));

/**
 * Accounts, credentials, principals and the audit log (issue #10). No knex, no Koa: the authorizer and
 * routes hand it parsed credentials and addresses.
 */
export function createAccessService(deps: { store: AccessQueries; storeIn?: (tx: Tx) => AccessQueries; transact?: Transact; changes?: ChangeBus }) {
  const { store } = deps;
  /** Account changes in one transaction (with the request's audit row), announced on commit. */
  async function inTransaction<T>(work: (q: AccessQueries) => Promise<T>): Promise<T> {
    const result = deps.transact && deps.storeIn ? await deps.transact(async (tx) => {
      const r = await work(deps.storeIn!(tx));
      await deps.changes?.publish(tx, { kind: ACCOUNTS_CHANGED, system: '', codes: [], bbox: null });
      return r;
    }) : await work(store);
    forgetVerified();
    return result;
  }
  // The published systems change only with a system change: kept until one arrives, so the tile path
  // does not pay a query per request for anonymous callers.
  let published: Promise<string[]> | null = null;
  deps.changes?.on((e) => {
    if (e.kind === 'system') published = null;
    // Another process changed an account or revoked a session: no principal of ours may outlive it.
    if (e.kind === ACCOUNTS_CHANGED) forgetVerified();
  });
  const publishedSystems = () => (published ??= store.publishedSystems().catch((err) => {
    published = null;
    throw err;
  }));

  async function expand(pairs: PairRow[]): Promise<RoleScope[]> {
    const out: RoleScope[] = [];
    for (const p of pairs) {
      if (ROLE_TABLE[p.role].scope === 'published') out.push(...(await publishedSystems()).map((system) => ({ role: p.role, system })));
      else if (p.system === null) out.push({ role: p.role });
      else out.push(p.code === null ? { role: p.role, system: p.system } : { role: p.role, system: p.system, code: p.code });
    }
    return out;
  }

  async function principalOf(userId: number, via: Principal['via']): Promise<Principal | null> {
    const user = await store.userById(userId);
    if (!user || user.disabled) return null;
    const pairs = (await store.pairs([userId])).get(userId) ?? [];
    return { user: { id: user.id, username: user.username }, pairs: await expand(pairs), via };
  }

  function checkPairs(roles: AccountInput['roles']): PairRow[] {
    return roles.map((r, i) => {
      if (!isRole(r.role)) throw badRequest('unknown_role', `roles[${i}].role "${r.role}" is not a role; expected one of ${Object.keys(ROLE_TABLE).join(', ')}`);
      const kind = ROLE_TABLE[r.role].scope;
      if (kind === 'grid' && (!r.system || !r.code)) throw badRequest('scope_required', `roles[${i}]: ${r.role} needs a system and a grid code`);
      if (kind === 'system' && !r.system) throw badRequest('scope_required', `roles[${i}]: ${r.role} needs a system (and a grid code for a tier below the whole system)`);
      if ((kind === 'none' || kind === 'published') && (r.system || r.code)) throw badRequest('scope_not_allowed', `roles[${i}]: ${r.role} is not scoped`);
      return { role: r.role, system: r.system ?? null, code: r.code ?? null };
    });
  }

  const verified = new Map<string, { found: Authenticated; until: number }>();
  const forgetVerified = () => verified.clear();

  async function requireUser(q: AccessQueries, username: string) {
    const user = await q.userByName(username);
    if (!user) throw notFound('user_not_found', `user "${username}" does not exist`);
    return user;
  }

  const checkPassword = (password: string, field: string) => {
    if (password.length < 8) throw badRequest('weak_password', `${field} must have at least 8 characters`);
  };

  // One principal object while the published systems stay the same: the authorizer memoizes callers per principal.
  let anonymousFor: { systems: string[]; principal: Principal } | null = null;
  const anonymous = async (): Promise<Principal> => {
    const systems = await publishedSystems();
    if (anonymousFor?.systems !== systems) anonymousFor = { systems, principal: { user: null, pairs: anonymousPairs(systems), via: 'anonymous' } };
    return anonymousFor.principal;
  };

  async function createUser(input: AccountInput): Promise<{ id: number; username: string }> {
    checkPassword(input.password, 'password');
    return insertUser(input);
  }

  async function insertUser(input: AccountInput, passwordHash?: string): Promise<{ id: number; username: string }> {
    const pairs = checkPairs(input.roles);
    const hash = passwordHash ?? (await hashPassword(input.password));
    return inTransaction(async (q) => {
      if (await q.userByName(input.username)) throw conflict('user_exists', `user "${input.username}" exists`);
      const id = await q.insertUser(input.username, input.displayName ?? null, hash);
      await q.replacePairs(id, pairs);
      return { id, username: input.username };
    });
  }

  /** Accounts with their roles and login locks (issue #10: the lock is visible to admins). */
  async function users() {
    const users = await store.users();
    const pairs = await store.pairs(users.map((u) => u.id));
    const failures = new Map((await store.failures(users.map((u) => `user:${u.username}`))).map((f) => [f.key, f]));
    const now = Date.now();
    return users.map((u) => {
      const f = failures.get(`user:${u.username}`);
      return {
        id: u.id,
        username: u.username,
        displayName: u.displayName,
        disabled: u.disabled,
        createdAt: u.createdAt,
        roles: (pairs.get(u.id) ?? []).map((p) => ({ role: p.role, ...(p.system === null ? {} : { system: p.system }), ...(p.code === null ? {} : { code: p.code }) })),
        failedLogins: f?.failures ?? 0,
        lockedUntil: f?.lockedUntil && Date.parse(f.lockedUntil) > now ? f.lockedUntil : null,
      };
    });
  }

  return {
    anonymous,

    /** The principal behind the credentials; null when they are given but invalid (a 401, never public). */
    async authenticate(c: Credentials): Promise<Authenticated | null> {
      if (c.apiKey !== undefined) {
        const key = await store.apiKey(secretHash(c.apiKey));
        const principal = key && (await principalOf(key.userId, 'api-key'));
        return principal ? { principal } : null;
      }
      const token = c.bearer ?? c.cookie;
      if (token === undefined) return { principal: await anonymous() };
      const hash = secretHash(token);
      const via = c.bearer !== undefined ? 'bearer' : 'session';
      const cached = verified.get(`${via}:${hash}`);
      if (cached && cached.until > Date.now()) return cached.found;
      const session = await store.session(hash);
      const principal = session && (await principalOf(session.userId, via));
      if (!principal) return null;
      const found = c.bearer !== undefined ? { principal } : { principal, csrfToken: session!.csrfToken };
      if (verified.size > 10_000) verified.clear();
      verified.set(`${via}:${hash}`, { found, until: Math.min(Date.now() + PRINCIPAL_TTL_MS, Date.parse(session!.expiresAt)) });
      return found;
    },

    /**
     * Password login with throttling per account and per client address: a locked key answers 429
     * before the password is checked, so a guesser learns nothing while locked.
     */
    async login(username: string, password: string, ip: string): Promise<LoginResult> {
      const keys = { account: `user:${username}`, address: `ip:${ip}` };
      const now = Date.now();
      const locks = (await store.failures([keys.account, keys.address])).filter((f) => f.lockedUntil !== null && Date.parse(f.lockedUntil) > now);
      if (locks.length > 0) {
        const until = Math.max(...locks.map((l) => Date.parse(l.lockedUntil!)));
        throw new AppError(429, 'login_locked', `too many failed logins; try again in ${Math.ceil((until - now) / 1000)} s`, { retryAfter: Math.ceil((until - now) / 1000) });
      }
      const user = await store.userByName(username);
      const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
      if (!user || !ok || user.disabled) {
        for (const [kind, key] of Object.entries(keys) as ['account' | 'address', string][]) {
          const failures = await store.addFailure(key);
          const seconds = lockSeconds(failures, FREE_FAILURES[kind]);
          if (seconds > 0) await store.lock(key, seconds);
        }
        throw new AppError(401, 'invalid_credentials', 'unknown user name or wrong password');
      }
      await store.clearFailures(keys.account);
      const token = newSecret();
      const csrfToken = newSecret();
      const expiresAt = new Date(now + SESSION_HOURS * 3600_000);
      await store.insertSession(secretHash(token), user.id, csrfToken, expiresAt);
      const pairs = (await store.pairs([user.id])).get(user.id) ?? [];
      return {
        token,
        csrfToken,
        expiresAt: expiresAt.toISOString(),
        user: { id: user.id, username: user.username, displayName: user.displayName },
        roles: pairs.map((p) => ({ role: p.role, ...(p.system === null ? {} : { system: p.system }), ...(p.code === null ? {} : { code: p.code }) })),
      };
    },

    async logout(token: string): Promise<void> {
      const hash = secretHash(token);
      verified.delete(`bearer:${hash}`);
      verified.delete(`session:${hash}`);
      await inTransaction((q) => q.revokeSession(hash));
    },

    /**
     * An administrator edits an account: display name, role-scope pairs, disabled. Disabling revokes every
     * session at once (in every process: the change is announced); API keys stop with the account.
     */
    async updateUser(username: string, patch: AccountPatch) {
      const pairs = patch.roles === undefined ? undefined : checkPairs(patch.roles);
      if (pairs !== undefined && pairs.length === 0) throw badRequest('roles_required', 'roles: an account needs at least one role; disable it instead');
      await inTransaction(async (q) => {
        const user = await requireUser(q, username);
        if (patch.displayName !== undefined || patch.disabled !== undefined) await q.updateUser(user.id, patch);
        if (pairs !== undefined) await q.replacePairs(user.id, pairs);
        if (patch.disabled === true) await q.revokeSessions(user.id);
      });
      return (await users()).find((u) => u.username === username)!;
    },

    /** An administrator sets a new password (a forgotten one): the account's sessions end. */
    async resetPassword(username: string, password: string): Promise<void> {
      checkPassword(password, 'password');
      const hash = await hashPassword(password);
      await inTransaction(async (q) => {
        const user = await requireUser(q, username);
        await q.setPassword(user.id, hash);
        await q.revokeSessions(user.id);
      });
    },

    /**
     * A user changes their own password, proving the current one; their other sessions end, the one
     * making the change stays.
     */
    async changeOwnPassword(userId: number, current: string, next: string, keepToken: string | undefined): Promise<void> {
      checkPassword(next, 'newPassword');
      const user = await store.userById(userId);
      if (!user || !(await verifyPassword(current, user.passwordHash))) throw new AppError(403, 'wrong_password', 'currentPassword is not your current password');
      const hash = await hashPassword(next);
      await inTransaction(async (q) => {
        await q.setPassword(userId, hash);
        await q.revokeSessions(userId, keepToken === undefined ? undefined : secretHash(keepToken));
      });
    },

    ancestry: (system: string, code: string) => store.ancestry(system, code),

    createUser,

    /**
     * The demo start's accounts (password `demo`, shorter than the rule for real accounts): only the demo
     * seeding calls this, and only right after it loaded the demo city into an empty database.
     */
    /** `passwordHash`: `input.password` hashed ahead (the demo start hashes while the database opens). */
    demoAccount: (input: AccountInput, passwordHash?: string) => insertUser(input, passwordHash),

    users,

    /** A new API key for a machine client: shown once, stored as its hash. */
    async createApiKey(username: string, name: string): Promise<{ id: number; key: string; prefix: string }> {
      const user = await store.userByName(username);
      if (!user) throw notFound('user_not_found', `user "${username}" does not exist`);
      const secret = newSecret();
      const key = `${API_KEY_PREFIX}${secret}`;
      const prefix = key.slice(0, API_KEY_PREFIX.length + 6);
      const id = await store.insertApiKey(user.id, name, secretHash(key), prefix);
      return { id, key, prefix };
    },

    async revokeApiKey(id: number): Promise<void> {
      if (!(await store.revokeApiKey(id))) throw notFound('api_key_not_found', `no live API key ${id}`);
    },

    /**
     * The first administrator, from GRIDATLAS_ADMIN_PASSWORD or `npm run setup-admin`: only while no
     * account exists, so a leaked environment cannot reset a running installation's admin.
     */
    async setupAdmin(password: string, username = 'admin'): Promise<{ created: boolean }> {
      if ((await store.countUsers()) > 0) return { created: false };
      await createUser({ username, password, displayName: '系统管理员', roles: [{ role: 'admin' }] });
      return { created: true };
    },

    audit: (e: AuditEntry) => store.appendAudit(e),
    auditLog: (f: AuditFilter) => store.audit(f),

    /** Units of the demo city for the demo accounts (demo start only). */
    firstGrid: (system: string, level: string, parent: string | null) => store.firstGrid(system, level, parent),
    firstSystemOfKind: (kind: string) => store.firstSystemOfKind(kind),
  };
}

export type AccessService = ReturnType<typeof createAccessService>;
export type { Role };
