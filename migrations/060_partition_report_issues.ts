import type { Knex } from 'knex';

/**
 * Every finding of a stored partition report, one row each (issue #15): the report row keeps its summary,
 * parents and the first findings of each kind, so a dense invalid dataset no longer stores (and serves) an
 * 11 MB document; the rest is paged from here by kind. `seq` is the finding's place in the full list.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE partition_report_issues (
      report_id bigint NOT NULL REFERENCES partition_reports(id) ON DELETE CASCADE,
      seq integer NOT NULL,
      kind text NOT NULL,
      issue jsonb NOT NULL,
      PRIMARY KEY (report_id, seq)
    )`);
  await knex.raw('CREATE INDEX partition_report_issues_kind_idx ON partition_report_issues (report_id, kind, seq)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('partition_report_issues');
}
