import type { Knex } from 'knex';
import { knexOf, type Queryable } from '../db/tx';
import type { Role } from './roles';

export interface UserRow {
  id: number;
  username: string;
  displayName: string | null;
  passwordHash: string;
  disabled: boolean;
  createdAt: string;
}

export interface PairRow {
  role: Role;
  system: string | null;
  code: string | null;
}

export interface FailureRow {
  key: string;
  failures: number;
  lockedUntil: string | null;
}

export interface AuditEntry {
  userId: number | null;
  username: string | null;
  ip: string;
  method: string;
  route: string;
  path: string;
  status: number;
  action: string;
  objects: Record<string, unknown>;
}

export interface AuditFilter {
  username?: string;
  action?: string;
  from?: string;
  to?: string;
  limit: number;
  offset: number;
}

const iso = (d: Date | string | null) => (d === null ? null : d instanceof Date ? d.toISOString() : new Date(d).toISOString());

export type AccessQueries = ReturnType<typeof createAccessQueries>;

/** Every statement on the access tables, and the two reads of `grids` and `grid_systems` scope checks need. */
export function createAccessQueries(db: Queryable) {
  const knex = knexOf(db);
  const toUser = (r: { id: number; username: string; display_name: string | null; password_hash: string; disabled: boolean; created_at: Date | string }): UserRow => ({
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    passwordHash: r.password_hash,
    disabled: r.disabled,
    createdAt: iso(r.created_at)!,
  });
  return {
    async userByName(username: string): Promise<UserRow | null> {
      const r = await knex('users').where({ username }).first();
      return r ? toUser(r) : null;
    },
    async userById(id: number): Promise<UserRow | null> {
      const r = await knex('users').where({ id }).first();
      return r ? toUser(r) : null;
    },
    async users(): Promise<UserRow[]> {
      return (await knex('users').orderBy('username')).map(toUser);
    },
    async countUsers(): Promise<number> {
      const r = await knex('users').count({ n: '*' }).first();
      return Number(r?.n ?? 0);
    },
    async insertUser(username: string, displayName: string | null, passwordHash: string): Promise<number> {
      const [row] = await knex('users').insert({ username, display_name: displayName, password_hash: passwordHash }).returning('id');
      return Number((row as { id: number }).id);
    },
    async updateUser(userId: number, patch: { displayName?: string | null; disabled?: boolean }): Promise<void> {
      await knex('users')
        .where({ id: userId })
        .update({ ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}), ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}) });
    },
    async setPassword(userId: number, passwordHash: string): Promise<void> {
      await knex('users').where({ id: userId }).update({ password_hash: passwordHash });
    },
    async pairs(userIds: number[]): Promise<Map<number, PairRow[]>> {
      const rows: (PairRow & { user_id: number })[] = await knex('user_roles').whereIn('user_id', userIds).orderBy('id').select('user_id', 'role', 'system', 'code');
      const out = new Map<number, PairRow[]>();
      for (const r of rows) out.set(r.user_id, [...(out.get(r.user_id) ?? []), { role: r.role, system: r.system, code: r.code }]);
      return out;
    },
    async replacePairs(userId: number, pairs: PairRow[]): Promise<void> {
      await knex('user_roles').where({ user_id: userId }).delete();
      if (pairs.length > 0) await knex('user_roles').insert(pairs.map((p) => ({ user_id: userId, role: p.role, system: p.system, code: p.code })));
    },

    async insertSession(tokenHash: string, userId: number, csrfToken: string, expiresAt: Date): Promise<void> {
      await knex('sessions').insert({ token_hash: tokenHash, user_id: userId, csrf_token: csrfToken, expires_at: expiresAt });
    },
    /** A live session: not revoked, not expired. */
    async session(tokenHash: string): Promise<{ userId: number; csrfToken: string; expiresAt: string } | null> {
      const r = await knex('sessions').where({ token_hash: tokenHash }).whereNull('revoked_at').where('expires_at', '>', knex.fn.now()).first('user_id', 'csrf_token', 'expires_at');
      return r ? { userId: r.user_id, csrfToken: r.csrf_token, expiresAt: iso(r.expires_at)! } : null;
    },
    async revokeSession(tokenHash: string): Promise<void> {
      await knex('sessions').where({ token_hash: tokenHash }).whereNull('revoked_at').update({ revoked_at: knex.fn.now() });
    },

    /** Ends every live session of a user, but `keep` (the one asking). */
    async revokeSessions(userId: number, keep?: string): Promise<void> {
      const q = knex('sessions').where({ user_id: userId }).whereNull('revoked_at');
      if (keep !== undefined) q.whereNot('token_hash', keep);
      await q.update({ revoked_at: knex.fn.now() });
    },

    async insertApiKey(userId: number, name: string, keyHash: string, prefix: string): Promise<number> {
      const [row] = await knex('api_keys').insert({ user_id: userId, name, key_hash: keyHash, prefix }).returning('id');
      return Number((row as { id: number }).id);
    },
    async apiKey(keyHash: string): Promise<{ id: number; userId: number } | null> {
      const r = await knex('api_keys').where({ key_hash: keyHash }).whereNull('revoked_at').first('id', 'user_id');
      if (!r) return null;
      await knex('api_keys').where({ id: r.id }).update({ last_used_at: knex.fn.now() });
      return { id: r.id, userId: r.user_id };
    },
    async revokeApiKey(id: number): Promise<boolean> {
      return (await knex('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: knex.fn.now() })) > 0;
    },

    async failures(keys: string[]): Promise<FailureRow[]> {
      const rows = await knex('login_failures').whereIn('key', keys).select('key', 'failures', 'locked_until');
      return rows.map((r: { key: string; failures: number; locked_until: Date | string | null }) => ({ key: r.key, failures: r.failures, lockedUntil: iso(r.locked_until) }));
    },
    /** Counts one failure and returns the new count. */
    async addFailure(key: string): Promise<number> {
      const r = await knex.raw(
        `insert into login_failures (key, failures, last_failure_at) values (?, 1, now())
         on conflict (key) do update set failures = login_failures.failures + 1, last_failure_at = now()
         returning failures`,
        [key],
      );
      return Number(r.rows[0].failures);
    },
    async lock(key: string, seconds: number): Promise<void> {
      await knex.raw(`update login_failures set locked_until = now() + make_interval(secs => ?) where key = ?`, [seconds, key]);
    },
    async clearFailures(key: string): Promise<void> {
      await knex('login_failures').where({ key }).delete();
    },

    async appendAudit(e: AuditEntry): Promise<void> {
      await knex('audit_log').insert({
        user_id: e.userId,
        username: e.username,
        ip: e.ip,
        method: e.method,
        route: e.route,
        path: e.path,
        status: e.status,
        action: e.action,
        objects: JSON.stringify(e.objects),
      });
    },
    async audit(f: AuditFilter): Promise<(AuditEntry & { id: number; at: string })[]> {
      const q = knex('audit_log').orderBy('id', 'desc').limit(f.limit).offset(f.offset);
      if (f.username) q.where('username', f.username);
      if (f.action) q.where('action', f.action);
      if (f.from) q.where('at', '>=', f.from);
      if (f.to) q.where('at', '<', f.to);
      const rows = await q;
      return rows.map((r: Record<string, unknown>) => ({
        id: Number(r.id),
        at: iso(r.at as Date)!,
        userId: r.user_id as number | null,
        username: r.username as string | null,
        ip: r.ip as string,
        method: r.method as string,
        route: r.route as string,
        path: r.path as string,
        status: r.status as number,
        action: r.action as string,
        objects: r.objects as Record<string, unknown>,
      }));
    },

    /** The grid and its ancestors' codes, the grid first (empty when it does not exist). */
    async ancestry(system: string, code: string): Promise<string[]> {
      const rows: { code: string }[] = (
        await knex.raw(
          `with recursive up(code, parent_code, depth) as (
             select g.code, g.parent_code, 0 from grids g join grid_systems s on s.id = g.system_id where s.key = ? and g.code = ?
             union all
             select g.code, g.parent_code, up.depth + 1 from grids g join grid_systems s on s.id = g.system_id
               join up on g.code = up.parent_code where s.key = ? and up.depth < 50)
           select code from up order by depth`,
          [system, code, system],
        )
      ).rows;
      return rows.map((r) => r.code);
    },
    /** Published systems: every one but the banks' (their ledgers are internal, DOMAIN.md). */
    async publishedSystems(): Promise<string[]> {
      const rows: { key: string }[] = await knex('grid_systems').whereNot('kind', 'bank').orderBy('key').select('key');
      return rows.map((r) => r.key);
    },
    /** The first grid (by code) of a level, optionally under a parent: the demo accounts' units. */
    async firstGrid(system: string, level: string, parent: string | null): Promise<string | null> {
      const q: Knex.QueryBuilder = knex('grids as g').join('grid_systems as s', 's.id', 'g.system_id').where('s.key', system).where('g.level', level).orderBy('g.code').first('g.code');
      if (parent !== null) q.where('g.parent_code', parent);
      const r = await q;
      return r ? (r as { code: string }).code : null;
    },
    async firstSystemOfKind(kind: string): Promise<string | null> {
      const r = await knex('grid_systems').where({ kind }).orderBy('key').first('key');
      return r ? (r as { key: string }).key : null;
    },
  };
}
