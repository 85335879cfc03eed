/**
 * Restores a backup of scripts/backup.ts (issue #16; README "Backups").
 *   server (DATABASE_URL set, an empty database):  tsx scripts/restore.ts backup.dump [--clean]
 *   embedded (DATA_DIR, a new or empty directory):  tsx scripts/restore.ts backup.tar.gz
 */
import { loadConfig } from '../service/config';
import { restoreEmbedded, restoreServer } from '../service/ops/backup';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: tsx scripts/restore.ts <file> [--clean]\n');
  process.exit(2);
}
const config = loadConfig();
const started = performance.now();
if (config.databaseUrl) await restoreServer(config.databaseUrl, file, { clean: process.argv.includes('--clean') });
else await restoreEmbedded(file, config.dataDir);
process.stdout.write(`restored ${file} into ${config.databaseUrl ? 'the server database' : config.dataDir} in ${Math.round(performance.now() - started)} ms\n`);
