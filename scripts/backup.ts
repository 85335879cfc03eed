/**
 * Backs up the database the service is configured with (issue #16; README "Backups").
 *   server (DATABASE_URL set):  tsx scripts/backup.ts backup.dump      — pg_dump custom format, service may run
 *   embedded (DATA_DIR):        tsx scripts/backup.ts backup.tar.gz    — stop the service first
 */
import { loadConfig } from '../service/config';
import { backupEmbedded, backupServer } from '../service/ops/backup';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: tsx scripts/backup.ts <file>\n');
  process.exit(2);
}
const config = loadConfig();
const started = performance.now();
if (config.databaseUrl) await backupServer(config.databaseUrl, file);
else await backupEmbedded(config.dataDir, file);
process.stdout.write(`${config.databaseUrl ? 'server' : `embedded (${config.dataDir})`} backed up to ${file} in ${Math.round(performance.now() - started)} ms\n`);
