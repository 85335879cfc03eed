import type { Knex } from 'knex';
import { migrations } from '../../migrations/index';

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};

export async function migrateLatest(knex: Knex): Promise<void> {
  await knex.migrate.latest({ migrationSource: source });
}

export async function migrateDown(knex: Knex): Promise<void> {
  await knex.migrate.rollback({ migrationSource: source }, true);
}
