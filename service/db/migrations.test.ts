import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from './engine';
import { migrateDown, migrateLatest } from './migrate';
import { engines, openTestDatabase } from '../test/db';

const TABLES = ['addresses', 'api_keys', 'audit_log', 'bank_points', 'changesets', 'filing_ledger', 'grid_systems', 'grid_versions', 'grids', 'incident_calendar_years', 'incident_clocks', 'incident_cluster_cells', 'incident_log', 'incident_photos', 'incident_sequences', 'incident_stats_days', 'incidents', 'jobs', 'login_failures', 'overlay_faces', 'overlay_grid_shapes', 'overlay_grid_versions', 'overlay_pending', 'overlay_results', 'partition_recheck_unreported', 'partition_report_issues', 'partition_reports', 'sessions', 'user_roles', 'users'];

async function tables(db: Database): Promise<string[]> {
  const rows: { name: string }[] = (
    await db.knex.raw(`select table_name as name from information_schema.tables where table_schema = 'public' and table_name = any(?::text[]) order by 1`, [TABLES])
  ).rows;
  return rows.map((r) => r.name);
}

describe.each(engines())('migrations on %s PostGIS', (engine) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(async () => db?.close());

  it('go all the way down and back up', async () => {
    expect(await tables(db)).toEqual(TABLES);
    await migrateDown(db.knex);
    expect(await tables(db)).toEqual([]);
    await migrateLatest(db.knex);
    expect(await tables(db)).toEqual(TABLES);
  });
});
