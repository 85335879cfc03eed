import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Backups of both engines (issue #16). Every writer goes to `<file>.partial` and renames at the end, so a
 * backup interrupted halfway never looks like a complete one.
 */

/** `pg_dump` in the custom format (compressed, restorable table by table) of the database at `url`. */
export async function backupServer(url: string, file: string): Promise<void> {
  const partial = `${file}.partial`;
  try {
    await run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--file=${partial}`, `--dbname=${url}`], { maxBuffer: 1 << 24 });
    fs.renameSync(partial, file);
  } finally {
    fs.rmSync(partial, { force: true });
  }
}

/**
 * `pg_restore` of a backupServer file into the database at `url`, in one transaction: it either restores
 * everything or nothing. The target should be empty (a new database); `clean` drops existing objects first.
 */
export async function restoreServer(url: string, file: string, options: { clean?: boolean } = {}): Promise<void> {
  const args = ['--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error', `--dbname=${url}`];
  if (options.clean) args.push('--clean', '--if-exists');
  await run('pg_restore', [...args, file], { maxBuffer: 1 << 24 });
}

async function openPglite(dataDir: string, loadDataDir?: Blob) {
  const [{ PGlite }, { postgis }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-postgis')]);
  return PGlite.create(dataDir, { extensions: { postgis }, ...(loadDataDir ? { loadDataDir } : {}) });
}

/**
 * A gzipped tar of the embedded data directory, from PGlite's own `dumpDataDir` (consistent: PGlite stops
 * writing while it dumps). The service must be stopped: one data directory belongs to one process.
 */
export async function backupEmbedded(dataDir: string, file: string): Promise<void> {
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) throw new Error(`${dataDir} is not an embedded gridatlas data directory (no PG_VERSION)`);
  const pglite = await openPglite(path.resolve(dataDir));
  const partial = `${file}.partial`;
  try {
    const dump = await pglite.dumpDataDir('gzip');
    fs.writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    fs.renameSync(partial, file);
  } finally {
    fs.rmSync(partial, { force: true });
    await pglite.close();
  }
}

/**
 * Unpacks a backupEmbedded file into `dataDir`, which must not exist yet or be empty (never overwrites a
 * live database). It is unpacked beside the target and renamed into place once PGlite has opened it.
 */
export async function restoreEmbedded(file: string, dataDir: string): Promise<void> {
  const target = path.resolve(dataDir);
  if (fs.existsSync(target) && fs.readdirSync(target).length > 0) throw new Error(`${dataDir} is not empty; restore into a new directory`);
  const staging = `${target}.restoring`;
  fs.rmSync(staging, { recursive: true, force: true });
  const blob = new Blob([fs.readFileSync(file)]);
  const pglite = await openPglite(staging, blob);
  try {
    await pglite.query('select 1');
  } finally {
    await pglite.close();
  }
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(staging, target);
}
