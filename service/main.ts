import { DEMO_PASSWORD, hashDemoPasswords, seedDemoAccounts } from './access';
import { createApp, createServices } from './app';
import { loadConfig } from './config';
import { ChangeBus } from './db/changes';
import { openDatabase } from './db/engine';
import { generateCityInWorker } from './demo/generate-in-worker';
import { loadDemoCityIfEmpty } from './demo/seed';
import { startOverdueScanner } from './incidents';
import { createLogger } from './logger';
import { startHeartbeat, watchPool, watchReplica } from './ops';
import { keepValidationWorkerReady } from './partition';

async function main(): Promise<void> {
  const started = performance.now();
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  // Started before the database opens, on the other core; dropped below when the database is not empty.
  const demo = config.demoCity === 'auto' ? generateCityInWorker({ seed: 1 }) : null;
  // The demo accounts' password hashes too, on libuv's threads (issue #15: first start).
  const demoHashes = demo ? hashDemoPasswords() : undefined;
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, readUrl: config.databaseReadUrl });
  logger.info({ engine: db.engine, postgis: db.capabilities.postgisVersion, dataDir: db.engine === 'embedded' ? config.dataDir : undefined, ms: Math.round(performance.now() - started) }, 'database ready');
  watchPool(db.engine, db.knex);
  if (db.replica) {
    watchPool('replica', db.read);
    watchReplica(db.replica);
    logger.info({ replica: db.replica.status() }, 'read replica');
  }
  const changes = new ChangeBus(db);
  await changes.start();
  const services = createServices({ db, changes, logger });
  // Beating before failing interrupted jobs: processes sharing the database see each other (issue #16).
  const stopHeartbeat = await startHeartbeat(db.knex, changes.origin, (err) => logger.error({ err: err.message }, 'heartbeat failed'));
  await services.jobs.failInterrupted();
  if (config.adminPassword && (await services.access.setupAdmin(config.adminPassword)).created) {
    logger.info({ username: 'admin' }, 'created the first administrator from GRIDATLAS_ADMIN_PASSWORD');
  }
  let demoAccounts = '';
  if (demo) {
    const loaded = await loadDemoCityIfEmpty(services, demo.city);
    await demo.cancel();
    if (loaded) {
      logger.info({ ...loaded }, 'empty database: loaded the demo city');
      // The demo start only: one account per role, password "demo" (issue #10); never on a production start.
      const accounts = await seedDemoAccounts(services.access, demoHashes);
      demoAccounts = `demo accounts (password "${DEMO_PASSWORD}"; log in on the map page or POST /api/auth/login):\n${accounts
        .map((a) => `  ${a.username.padEnd(11)} ${a.role}${a.system ? ` @ ${a.system}${a.code ? ` ${a.code}` : ''}` : ''}${a.skipped ? ' (exists, left as it was)' : ''}`)
        .join('\n')}\n\n`;
    }
  }
  if ((await services.access.users()).length === 0) {
    logger.info({ hint: 'set GRIDATLAS_ADMIN_PASSWORD or run npm run setup-admin' }, 'no account exists yet');
  }
  await services.incidents.loadCalendar();
  const stopScanner = config.incidentScanMs > 0 ? startOverdueScanner(services.incidents, logger, config.incidentScanMs) : async () => undefined;
  const app = createApp({ config, db, changes, logger, services });
  const server = app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://localhost:${port}/`;
    logger.info({ url, ms: Math.round(performance.now() - started) }, 'gridatlas listening');
    // After listening, so the start is not held up: the first validation finds its worker started and warm.
    keepValidationWorkerReady();
    if (config.logLevel !== 'silent') process.stdout.write(`\ngridatlas is ready: ${url}\n\n${demoAccounts}`);
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close();
    services.partition.stop();
    services.storedOverlays.stop();
    await stopHeartbeat();
    await stopScanner();
    await changes.stop();
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`gridatlas failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
