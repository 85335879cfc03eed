/**
 * Issues an Open311 api_key for a client (issue #12), optionally limited to a governance grid's subtree,
 * on the database the service uses (DATABASE_URL, or the embedded one in DATA_DIR). Prints the key once;
 * only its SHA-256 is stored.
 *
 *   npx tsx scripts/open311-key.ts "<client name>" [--scope <governance grid code>]
 */
import { loadConfig } from '../service/config';
import { openDatabase } from '../service/db/engine';
import { createIncidents, createOpen311 } from '../service/incidents';
import { locatePoint } from '../service/point';

const args = process.argv.slice(2);
const scopeAt = args.indexOf('--scope');
const scopeCode = scopeAt >= 0 ? args[scopeAt + 1] : undefined;
const client = args.filter((_, i) => scopeAt < 0 || (i !== scopeAt && i !== scopeAt + 1))[0];
if (!client || (scopeAt >= 0 && !scopeCode)) {
  process.stderr.write('usage: npx tsx scripts/open311-key.ts "<client name>" [--scope <governance grid code>]\n');
  process.exit(2);
}

const config = loadConfig();
const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
try {
  if (scopeCode) {
    const row = await db.knex('grids as g').join('grid_systems as s', 's.id', 'g.system_id').where({ 'g.code': scopeCode, 's.kind': 'governance' }).first('g.code');
    if (!row) throw new Error(`--scope ${scopeCode} is not the code of a governance grid`);
  }
  const key = await createOpen311(db.knex, createIncidents(db.knex, locatePoint)).issueKey(client, { scopeCode });
  process.stdout.write(`${key}\n`);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await db.close();
}
