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
  const csp = contentSecurityPolicy(options.basemapUrl);
  return async (ctx, next) => {
    // setHeader: ctx.set's garbage, on every request, set the tile tail latency (http/headers.ts).
    setHeader(ctx, 'Content-Security-Policy', csp);
    setHeader(ctx, 'X-Content-Type-Options', 'nosniff');
    setHeader(ctx, 'X-Frame-Options', 'DENY');
    setHeader(ctx, 'Referrer-Policy', 'no-referrer');
    setHeader(ctx, 'Cross-Origin-Opener-Policy', 'same-origin');
    setHeader(ctx, 'Permissions-Policy', 'camera=(), microphone=(), geolocation=(self)');
    if (ctx.secure) setHeader(ctx, 'Strict-Transport-Security', 'max-age=31536000');
    await next();
  };
}
