import { setHeader } from '../http/headers';
import type { Authorizer } from '../http/route';

type Middleware = ReturnType<Authorizer>;

/**
 * The content security policy of the offline map page (issue #10 §6): everything from this origin, no
 * inline script; MapLibre's worker may come from a blob, tiles and glyphs from this origin (and the
 * configured basemap's, when one is set); styles may be inline because MapLibre sets them on its canvas
 * container and popups.
 */
export function contentSecurityPolicy(basemapUrl?: string): string {
  const extra = basemapUrl ? ` ${new URL(basemapUrl.replace(/\{[^}]*\}/g, '0')).origin}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob:${extra}`,
    `connect-src 'self'${extra}`,
    "worker-src 'self' blob:",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Security headers on every answer, errors included. */
export function securityHeaders(options: { basemapUrl?: string } = {}): Middleware {
  const headers = securityHeaderList(options);
  return async (ctx, next) => {
    // setHeader: ctx.set's garbage, on every request, set the tile tail latency (http/headers.ts).
    for (const [name, value] of headers(ctx.secure)) setHeader(ctx, name, value);
    await next();
  };
}

/** The security headers in the order they are set, over TLS or not; also for the fast path (http/fast-path.ts). */
export function securityHeaderList(options: { basemapUrl?: string } = {}): (secure: boolean) => readonly [string, string][] {
  const plain: [string, string][] = [
    ['Content-Security-Policy', contentSecurityPolicy(options.basemapUrl)],
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Frame-Options', 'DENY'],
    ['Referrer-Policy', 'no-referrer'],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
    ['Permissions-Policy', 'camera=(), microphone=(), geolocation=(self)'],
  ];
  const tls: [string, string][] = [...plain, ['Strict-Transport-Security', 'max-age=31536000']];
  return (secure) => (secure ? tls : plain);
}
