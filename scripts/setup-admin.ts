/**
 * One-time creation of the first administrator (issue #10): `npm run setup-admin`. Asks for the password
 * on the terminal (or takes GRIDATLAS_ADMIN_PASSWORD), and refuses when any account exists already, so it
 * cannot be used to take over a running installation.
 */
import { createInterface } from 'node:readline/promises';
import { createAccessQueries, createAccessService } from '../service/access';
import { loadConfig } from '../service/config';
import { openDatabase } from '../service/db/engine';

async function main(): Promise<void> {
  const config = loadConfig();
  const username = process.argv[2] ?? 'admin';
  let password = config.adminPassword;
  if (!password) {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    password = await rl.question(`password for "${username}" (at least 12 characters): `);
    rl.close();
  }
  if (password.length < 12) throw new Error('the password must have at least 12 characters');
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const access = createAccessService({ store: createAccessQueries(db.knex) });
    const { created } = await access.setupAdmin(password, username);
    process.stdout.write(created ? `created the administrator "${username}"\n` : 'accounts exist already: nothing changed (manage them with POST /api/access/users)\n');
    process.exitCode = created ? 0 : 1;
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  process.stderr.write(`setup-admin failed: ${(err as Error).message}\n`);
  process.exit(1);
});
