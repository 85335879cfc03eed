import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors';
import type { Authorizer, RouteDef } from '../http/route';
import type { Caller } from '../kernel/scope';
import { decide, needsAncestry, type Decision, type Principal } from './policy';
import { ROLE_TABLE } from './roles';
import { withPendingAudit, type PendingAudit } from './audit-context';
import type { AccessService } from './service';
import type { AuditEntry } from './store';

type Middleware = ReturnType<Authorizer>;
type Ctx = Parameters<Middleware>[0];

export const SESSION_COOKIE = 'gridatlas_session';
export const CSRF_COOKIE = 'gridatlas_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Reads that return personal data (people on grids, households): audited when unmasked (issue #10 §5). */
export const PERSONAL_READS: ReadonlySet<string> = new Set(['grids:read', 'grids:export', 'addresses:read']);

export interface AuthorizerOptions {
  /**
   * Who a request without credentials is. Unset (production): `public`. The test harness alone passes an
   * internal administrator so the feature tests written before access control keep driving the API.
   */
  anonymousAs?: Principal;
}

/**
 * The real authorizer (issue #10): authenticates (bearer token, session cookie with CSRF check, API key),
 * decides the route's permission and scope, leaves the caller on ctx.state for the handler's filtering,
 * and appends writes (in the write's own transaction where it opens one) and personal reads to the audit log.
 */
export function createAuthorizer(access: AccessService, options: AuthorizerOptions = {}): Authorizer {
  // Principals are reused while verified (service.ts), so their decisions can be too; dropped with them.
  const untargeted = new WeakMap<Principal, Map<string, Decision>>();
  return (route: RouteDef): Middleware => async (ctx, next) => {
    // A public route (the page, login, logout) stays reachable with a stale cookie or token: as anonymous.
    const principal = 'public' in route.access ? await authenticate(ctx, access, options).catch(() => access.anonymous()) : await authenticate(ctx, access, options);
    const decision = decideFor(route, principal, ctx);
    const caller = await decision;
    ctx.state.principal = principal;
    ctx.state.caller = caller;
    // Features that filter by area read it here (incidents, overlays).
    ctx.state.scope = caller.scope;
    const permission = 'permission' in route.access ? route.access.permission : null;
    const action = permission ?? 'public';
    if (SAFE.has(ctx.method)) {
      if (permission === null || !PERSONAL_READS.has(permission) || !caller.personalData) return next();
      await next();
      if (ctx.status < 300) await access.audit(auditEntry(ctx, route, principal, action));
      return;
    }
    // A write: its row is appended inside the transaction(s) the handler commits (audit-context.ts);
    // only a write that opened none (or failed) is recorded here, after the fact.
    const row: PendingAudit = { entry: () => auditEntry(ctx, route, principal, action, committedStatus(ctx.status)), written: 0, open: true };
    try {
      await withPendingAudit(row, () => next());
    } catch (err) {
      row.open = false;
      // The error middleware has not set the status yet: the audit names the one it will answer with.
      await access.audit(auditEntry(ctx, route, principal, `${action}:failed`, err instanceof AppError ? err.status : 400));
      throw err;
    }
    row.open = false;
    if (row.written === 0) await access.audit(auditEntry(ctx, route, principal, action));
  };

  async function decideFor(route: RouteDef, principal: Principal, ctx: Ctx): Promise<Caller> {
    if ('public' in route.access) {
      return { user: principal.user, roles: [...new Set(principal.pairs.map((p) => p.role))], permissions: [], scope: [], personalData: false };
    }
    const { permission, scope } = route.access;
    const target = scope?.(ctx);
    if (target === undefined && SAFE.has(ctx.method)) {
      // The hot paths (tiles, point lookups, lists) are reads naming no target: one decision per principal and permission.
      let byPermission = untargeted.get(principal);
      if (!byPermission) untargeted.set(principal, (byPermission = new Map()));
      let decision = byPermission.get(permission);
      if (!decision) byPermission.set(permission, (decision = decide(principal, permission, undefined, true, undefined)));
      if (!decision.allow) throw new AppError(decision.status, decision.code, decision.message);
      return decision.caller;
    }
    const ancestry = target?.code !== undefined && needsAncestry(principal, permission, target) ? await ancestryOf(ctx, access, target.system, target.code) : undefined;
    const decision = decide(principal, permission, target, SAFE.has(ctx.method), ancestry);
    if (!decision.allow) {
      if (!SAFE.has(ctx.method)) await access.audit(auditEntry(ctx, route, principal, `denied:${decision.code}`, decision.status));
      throw new AppError(decision.status, decision.code, decision.message);
    }
    return decision.caller;
  }
}

async function authenticate(ctx: Ctx, access: AccessService, options: AuthorizerOptions): Promise<Principal> {
  const cached = ctx.state.principal as Principal | undefined;
  if (cached) return cached;
  const header = ctx.get('authorization');
  const apiKey = ctx.get('x-api-key');
  const cookie = ctx.cookies.get(SESSION_COOKIE);
  if (header && !/^Bearer [A-Za-z0-9_-]{20,200}$/.test(header)) throw new AppError(401, 'invalid_token', 'Authorization must be "Bearer <token>"');
  const bearer = header ? header.slice('Bearer '.length) : undefined;
  if (!bearer && !apiKey && !cookie && options.anonymousAs) return options.anonymousAs;
  const found = await access.authenticate({ bearer, apiKey: apiKey || undefined, cookie: bearer || apiKey ? undefined : cookie });
  if (!found) throw new AppError(401, 'invalid_token', 'the token, session or API key is unknown, expired or revoked');
  // CSRF: a cookie is sent by the browser on any site's request, a custom header only by our own page.
  if (found.csrfToken !== undefined && !SAFE.has(ctx.method)) {
    const sent = Buffer.from(ctx.get(CSRF_HEADER));
    const expected = Buffer.from(found.csrfToken);
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      throw new AppError(403, 'csrf_failed', `a request with the session cookie that changes data must carry the ${CSRF_HEADER} header`);
    }
  }
  return found.principal;
}

/** Ancestry lookups cached for the request: several routes' checks may ask for the same grid. */
async function ancestryOf(ctx: Ctx, access: AccessService, system: string, code: string): Promise<string[]> {
  const cache: Map<string, Promise<string[]>> = (ctx.state.ancestry ??= new Map());
  const key = `${system}\u0000${code}`;
  let found = cache.get(key);
  if (!found) cache.set(key, (found = access.ancestry(system, code)));
  const codes = await found;
  return codes.length > 0 ? codes : [code];
}

function auditEntry(ctx: Ctx, route: RouteDef, principal: Principal, action: string, status = ctx.status): AuditEntry {
  const objects: Record<string, unknown> = { ...ctx.params };
  for (const name of ['parent', 'grid', 'system', 'format']) if (typeof ctx.query[name] === 'string') objects[name] = ctx.query[name];
  return {
    userId: principal.user?.id ?? null,
    username: principal.user?.username ?? (principal.via === 'internal' ? 'internal' : null),
    ip: clientAddress(ctx),
    method: ctx.method,
    route: route.path,
    path: ctx.path,
    status,
    action,
    objects,
  };
}

/** A transaction commits before the handler has set its answer: Koa's default 404 then stands for 200. */
const committedStatus = (status: number) => (status >= 200 && status < 300 ? status : 200);

/** The client's address; reading it throws once the client has closed the connection. */
export function clientAddress(ctx: Ctx): string {
  try {
    return ctx.ip || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Whether any of a principal's roles may see personal data (for the login answer and the page). */
export const personalDataOf = (p: Principal) => p.pairs.some((pair) => ROLE_TABLE[pair.role].personalData);
