import type { Context } from 'koa';
import { z } from 'zod';
import { readJson } from '../http/body';
import { callerOf } from '../http/caller';
import { query } from '../http/params';
import type { RouteDef } from '../http/route';
import { toCsv } from '../formats/csv';
import { AppError } from '../errors';
import { clientAddress, CSRF_COOKIE, SESSION_COOKIE } from './authorizer';
import type { Principal } from './policy';
import { ROLES } from './roles';
import { SESSION_HOURS, type AccessService } from './service';

/** Logins and account forms are small: 16 KB stops a body flood before JSON parsing. */
const SMALL_BODY = 16 * 1024;

const Username = z.string().regex(/^[a-z0-9_.-]{1,64}$/, 'lower-case letters, digits, "_", "." or "-", at most 64');
const LoginBody = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) }).strict();
const UserBody = z
  .object({
    username: Username,
    password: z.string().min(8).max(1024),
    displayName: z.string().max(100).optional(),
    roles: z.array(z.object({ role: z.enum(ROLES), system: z.string().max(200).optional(), code: z.string().max(200).optional() }).strict()).min(1).max(50),
  })
  .strict();
const UserParams = z.object({ username: Username }).strict();
const UserPatch = z
  .object({
    displayName: z.string().max(100).nullable().optional(),
    roles: UserBody.shape.roles.optional(),
    disabled: z.boolean().optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'name at least one of displayName, roles, disabled');
const PasswordReset = z.object({ password: z.string().min(8).max(1024) }).strict();
const PasswordChange = z.object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().min(8).max(1024) }).strict();
const ApiKeyBody = z.object({ username: Username, name: z.string().min(1).max(100) }).strict();
const AuditQuery = z
  .object({
    username: z.string().max(64).optional(),
    action: z.string().max(100).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(500),
    offset: z.coerce.number().int().min(0).default(0),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();

function setSessionCookies(ctx: Context, token: string, csrfToken: string, expires: Date): void {
  const secure = ctx.secure;
  // HttpOnly: page scripts never read the session; SameSite=Strict: other sites' requests do not carry it.
  ctx.cookies.set(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure, expires, path: '/', overwrite: true });
  // The page reads this one and echoes it in X-CSRF-Token on writes (double submit against the session's copy).
  ctx.cookies.set(CSRF_COOKIE, csrfToken, { httpOnly: false, sameSite: 'strict', secure, expires, path: '/', overwrite: true });
}

export function accessRoutes(access: AccessService): RouteDef[] {
  const tag = 'access';
  return [
    {
      method: 'post',
      path: '/api/auth/login',
      tag,
      summary: 'Log in with user name and password: a bearer token, and the session cookie for the map page',
      access: { public: true },
      request: { body: LoginBody },
      handler: async (ctx) => {
        const { username, password } = LoginBody.parse(await readJson(ctx, SMALL_BODY));
        try {
          const result = await access.login(username, password, clientAddress(ctx));
          setSessionCookies(ctx, result.token, result.csrfToken, new Date(result.expiresAt));
          ctx.set('Cache-Control', 'no-store');
          ctx.body = result;
        } catch (err) {
          const retry = (err as { details?: { retryAfter?: number } }).details?.retryAfter;
          if (retry !== undefined) ctx.set('Retry-After', String(retry));
          throw err;
        }
      },
    },
    {
      method: 'post',
      path: '/api/auth/logout',
      tag,
      summary: 'Revoke the session or bearer token of this request (public: a stale session can still be cleared)',
      access: { public: true },
      handler: async (ctx) => {
        const header = ctx.get('authorization');
        const token = header ? header.slice('Bearer '.length) : ctx.cookies.get(SESSION_COOKIE);
        if (token) await access.logout(token);
        ctx.cookies.set(SESSION_COOKIE, null, { path: '/' });
        ctx.cookies.set(CSRF_COOKIE, null, { path: '/' });
        ctx.status = 204;
      },
    },
    {
      method: 'get',
      path: '/api/auth/me',
      tag,
      summary: 'Who this request acts as: the account (null when anonymous) and its roles',
      access: { public: true },
      handler: (ctx) => {
        const caller = callerOf(ctx);
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { user: caller.user, roles: caller.roles, sessionHours: SESSION_HOURS };
      },
    },
    {
      method: 'get',
      path: '/api/access/users',
      tag,
      summary: 'Accounts with their role-scope pairs, failed logins and login locks',
      access: { permission: 'access:admin' },
      handler: async (ctx) => {
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { users: await access.users() };
      },
    },
    {
      method: 'post',
      path: '/api/access/users',
      tag,
      summary: 'Create an account with its role-scope pairs',
      access: { permission: 'access:admin' },
      request: { body: UserBody },
      handler: async (ctx) => {
        ctx.status = 201;
        ctx.body = await access.createUser(UserBody.parse(await readJson(ctx, SMALL_BODY)));
      },
    },
    {
      method: 'patch',
      path: '/api/access/users/:username',
      tag,
      summary: 'Edit an account: display name, role-scope pairs, disabled (disabling ends its sessions at once)',
      access: { permission: 'access:admin' },
      request: { params: UserParams, body: UserPatch },
      handler: async (ctx) => {
        const { username } = UserParams.parse(ctx.params);
        ctx.set('Cache-Control', 'no-store');
        ctx.body = await access.updateUser(username, UserPatch.parse(await readJson(ctx, SMALL_BODY)));
      },
    },
    {
      method: 'post',
      path: '/api/access/users/:username/password',
      tag,
      summary: "Set an account's password (forgotten password); its sessions end",
      access: { permission: 'access:admin' },
      request: { params: UserParams, body: PasswordReset },
      handler: async (ctx) => {
        const { username } = UserParams.parse(ctx.params);
        await access.resetPassword(username, PasswordReset.parse(await readJson(ctx, SMALL_BODY)).password);
        ctx.status = 204;
      },
    },
    {
      method: 'post',
      path: '/api/auth/password',
      tag,
      summary: 'Change your own password (the current one required); your other sessions end',
      access: { permission: 'access:self' },
      request: { body: PasswordChange },
      handler: async (ctx) => {
        const principal = ctx.state.principal as Principal;
        if (principal.user === null || (principal.via !== 'bearer' && principal.via !== 'session')) {
          throw new AppError(403, 'forbidden', 'only a password login (bearer token or session cookie) may change its password, not an API key');
        }
        const { currentPassword, newPassword } = PasswordChange.parse(await readJson(ctx, SMALL_BODY));
        const header = ctx.get('authorization');
        await access.changeOwnPassword(principal.user.id, currentPassword, newPassword, header ? header.slice('Bearer '.length) : ctx.cookies.get(SESSION_COOKIE));
        ctx.status = 204;
      },
    },
    {
      method: 'post',
      path: '/api/access/api-keys',
      tag,
      summary: 'Issue an API key (X-API-Key) for a machine client acting as an account; shown once',
      access: { permission: 'access:admin' },
      request: { body: ApiKeyBody },
      handler: async (ctx) => {
        const { username, name } = ApiKeyBody.parse(await readJson(ctx, SMALL_BODY));
        ctx.status = 201;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = await access.createApiKey(username, name);
      },
    },
    {
      method: 'delete',
      path: '/api/access/api-keys/:id',
      tag,
      summary: 'Revoke an API key',
      access: { permission: 'access:admin' },
      request: { params: z.object({ id: z.coerce.number().int().positive() }) },
      handler: async (ctx) => {
        await access.revokeApiKey(z.coerce.number().int().positive().parse(ctx.params.id));
        ctx.status = 204;
      },
    },
    {
      method: 'get',
      path: '/api/access/audit',
      tag,
      summary: 'The audit log (writes and personal reads), filtered by user, action and time; JSON or CSV',
      access: { permission: 'access:audit' },
      request: { query: AuditQuery },
      handler: async (ctx) => {
        const q = query(ctx, AuditQuery);
        const entries = await access.auditLog(q);
        ctx.set('Cache-Control', 'no-store');
        if (q.format === 'csv') {
          ctx.type = 'text/csv; charset=utf-8';
          ctx.set('Content-Disposition', 'attachment; filename="gridatlas-audit.csv"');
          const header = ['id', 'at', 'username', 'ip', 'method', 'route', 'path', 'status', 'action', 'objects'];
          ctx.body = toCsv(header, entries.map((e) => [e.id, e.at, e.username ?? '', e.ip, e.method, e.route, e.path, e.status, e.action, JSON.stringify(e.objects)]));
        } else {
          ctx.body = { entries };
        }
      },
    },
  ];
}
