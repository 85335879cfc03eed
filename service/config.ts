import { z } from 'zod';

/** Every setting of the service, with its default, in one place (documented in README and .env.example). */
const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z.string().optional(),
  // A streaming-replication standby of DATABASE_URL for the read-only routes (issue #16).
  DATABASE_READ_URL: z.string().optional(),
  DEMO_CITY: z.enum(['auto', 'off']).default('auto'),
  LOG_LEVEL: z.enum(['silent', 'error', 'info', 'debug']).default('info'),
  BODY_LIMIT_MB: z.coerce.number().positive().default(200),
  // Grid imports are spooled to disk and streamed (issue #15): a whole-country GeoJSON is ~300 MB.
  IMPORT_MAX_BYTES: z.coerce.number().int().positive().default(2 ** 30),
  TILE_CACHE_MB: z.coerce.number().nonnegative().default(256),
  BASEMAP_URL: z.string().optional(),
  CHROMIUM_PATH: z.string().default('/usr/bin/chromium'),
  INCIDENT_SCAN_SECONDS: z.coerce.number().nonnegative().default(60),
  // The first administrator's password (issue #10); used only while no account exists.
  GRIDATLAS_ADMIN_PASSWORD: z.string().min(12, 'at least 12 characters').optional(),
  // Whether X-Forwarded-For/-Proto/-Host come from our own reverse proxy (issue #10): only then are they believed.
  TRUST_PROXY: z.enum(['0', '1', 'false', 'true']).default('0'),
});

export type Config = {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databaseReadUrl: string | undefined;
  demoCity: 'auto' | 'off';
  logLevel: 'silent' | 'error' | 'info' | 'debug';
  bodyLimitBytes: number;
  /** Largest grid import upload (spooled to a temporary file, parsed as it streams). */
  importMaxBytes: number;
  tileCacheBytes: number;
  basemapUrl: string | undefined;
  /** Chromium for PDF boards (issue #17); undefined = PDF output off. */
  chromiumPath: string | undefined;
  /** Period of the incident overdue scan (issue #11); 0 turns it off in this process. */
  incidentScanMs: number;
  adminPassword: string | undefined;
  /**
   * Believe X-Forwarded-* headers (client address for login throttling and the audit log, protocol for
   * Secure cookies). Off by default: a client reaching the port directly could otherwise name any address.
   */
  trustProxy: boolean;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const c = parsed.data;
  return {
    port: c.PORT,
    host: c.HOST,
    dataDir: c.DATA_DIR,
    databaseUrl: c.DATABASE_URL,
    databaseReadUrl: c.DATABASE_READ_URL,
    demoCity: c.DEMO_CITY,
    logLevel: c.LOG_LEVEL,
    bodyLimitBytes: Math.round(c.BODY_LIMIT_MB * 1024 * 1024),
    importMaxBytes: c.IMPORT_MAX_BYTES,
    tileCacheBytes: Math.round(c.TILE_CACHE_MB * 1024 * 1024),
    basemapUrl: c.BASEMAP_URL,
    chromiumPath: c.CHROMIUM_PATH === 'off' ? undefined : c.CHROMIUM_PATH,
    incidentScanMs: Math.round(c.INCIDENT_SCAN_SECONDS * 1000),
    adminPassword: c.GRIDATLAS_ADMIN_PASSWORD,
    trustProxy: c.TRUST_PROXY === '1' || c.TRUST_PROXY === 'true',
  };
}
