/**
 * One overdue scan as its own process, for the test that runs two of them against one PostGIS server
 * (issue #11: each case carded exactly once with two service processes).
 * Usage: tsx scripts/scan-once.ts <database-url> <ISO instant> <batch> <start at, epoch ms>
 * Both processes wait for the same start instant, so their scans overlap.
 */
import { locatePoint } from '../service/point';
import knexFactory from 'knex';
import { createIncidents } from '../service/incidents';

const [url, at, batch, startAt] = process.argv.slice(2);
const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
try {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
  const result = await createIncidents(knex, locatePoint).scanOverdue({ at: new Date(at!), batch: Number(batch) });
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await knex.destroy();
}
