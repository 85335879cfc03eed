/**
 * The import rules of ARCHITECTURE.md, checked over service/ (run by service/architecture.test.ts, or
 * `npx tsx scripts/check-imports.ts` to list violations):
 * 1. pure layers — geometry/, formats/, kernel/ — import nothing of the service but each other;
 * 2. shared layers — db/, http/, kernel/, geometry/, formats/ — import no feature;
 * 3. only stores (store.ts, *-store.ts, tiles' postgis-*.ts) and db/ import knex or turn a handle into
 *    one (knexOf); use cases never hold a query builder;
 * 4. routes (routes.ts, *-routes.ts) never import a store, the engine or knex;
 * 5. use cases and pure logic inside a feature never import koa (no Koa context below the routes);
 * 6. a feature imports another feature only through that feature's index.ts.
 * Tests, the composition root (app.ts, main.ts) and the demo seeding are outside rules 3–6.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Violation {
  file: string;
  imports: string;
  rule: string;
}

const PURE = ['geometry', 'formats', 'kernel'];
const SHARED = ['db', 'http', 'kernel', 'geometry', 'formats'];
/** Top-level folders of service/ that are not features. */
const NOT_FEATURES = new Set([...SHARED, 'test', 'demo', 'web']);

/** Checks a map of service-relative file paths to their text; `service/` paths in messages. */
export function checkImports(files: Map<string, string>): Violation[] {
  const out: Violation[] = [];
  const features = new Set([...files.keys()].map((f) => f.split('/')[0]!).filter((top) => top && !top.endsWith('.ts') && !NOT_FEATURES.has(top)));
  for (const [file, text] of files) {
    if (/\.test\.ts$/.test(file) || file.startsWith('test/')) continue;
    const top = file.includes('/') ? file.split('/')[0]! : '';
    const base = path.posix.basename(file);
    const isStore = base === 'store.ts' || base.endsWith('-store.ts') || (top === 'tiles' && base.startsWith('postgis-'));
    const isRoutes = base === 'routes.ts' || base.endsWith('-routes.ts');
    const composition = top === '' || top === 'demo';
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      const add = (rule: string) => out.push({ file: `service/${file}`, imports: spec, rule });
      if (!spec.startsWith('.')) {
        if ((spec === 'knex' || spec === 'pg') && !isStore && top !== 'db' && !composition) add('only stores and db/ import knex');
        if ((spec === 'koa' || spec === '@koa/router') && features.has(top) && !isRoutes) add('below the routes, no Koa: use cases take parsed input');
        continue;
      }
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      if (target.startsWith('..')) continue;
      const targetTop = target.includes('/') ? target.split('/')[0]! : '';
      if (PURE.includes(top) && !PURE.includes(targetTop)) add(`${top}/ is pure: it imports only geometry/, formats/ and kernel/`);
      if (SHARED.includes(top) && features.has(targetTop)) add(`${top}/ is shared: it imports no feature`);
      if (composition) continue;
      if (/(^|\/)db\/tx$/.test(target) && /knexOf/.test(m[0]) && !isStore && top !== 'db') add('only stores open a handle with knexOf');
      if (isRoutes && (/(^|\/)(store|[\w-]+-store)$/.test(target) || target === 'db/engine' || target === 'db/tx')) add('routes never reach the database');
      if (features.has(targetTop) && targetTop !== top && target !== `${targetTop}/index`) add(`another feature is imported through its index: ../${targetTop}`);
    }
  }
  return out;
}

/** Every .ts file under `dir`, keyed by its path relative to `dir`. */
export function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (at: string) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) files.set(path.relative(dir, full).split(path.sep).join('/'), fs.readFileSync(full, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename ?? '')) {
  const violations = checkImports(readTree(path.resolve('service')));
  for (const v of violations) console.log(`${v.file}: imports ${v.imports} — ${v.rule}`);
  console.log(violations.length === 0 ? 'import rules: ok' : `import rules: ${violations.length} violation(s)`);
  process.exit(violations.length === 0 ? 0 : 1);
}
