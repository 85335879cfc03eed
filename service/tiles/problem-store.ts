import type { Knex } from 'knex';
import type { PartitionIssue } from '../geometry/partition/types';

/** A grid system with a whole-system partition report. */
export interface ProblemSystem {
  id: number;
  key: string;
  name: string;
}

/** A finding as the layer draws it; `seq` is its place in the report's full list of findings. */
export type ProblemIssue = Pick<PartitionIssue, 'kind' | 'parent' | 'grids' | 'area_m2' | 'geometry' | 'reason'> & { seq: number };

/** What the problems layer needs of a stored report (service/partition). */
export interface ProblemReport {
  generatedAt: string;
  stale: boolean;
  issues: ProblemIssue[];
}

export function createProblemQueries(knex: Knex) {
  return {
    async systems(): Promise<ProblemSystem[]> {
      return (
        await knex.raw(
          `select s.id, s.key, s.name from grid_systems s
           where exists (select 1 from partition_reports r where r.system_id = s.id and r.scope is null) order by s.key`,
        )
      ).rows;
    },

    /**
     * The system's latest whole-system report (issue #3: the newest row with no scope) with every finding,
     * read from partition_report_issues: the report row keeps only the first findings of each kind
     * (service/partition/report.ts). Null when the system has none.
     */
    async latest(systemId: number): Promise<ProblemReport | null> {
      const row: { id: number | string; generated_at: string; stale: boolean } | undefined = (
        await knex.raw(
          `select id, report->>'generatedAt' as generated_at, coalesce((report->>'stale')::boolean, false) as stale
           from partition_reports where system_id = ? and scope is null order by created_at desc, id desc limit 1`,
          [systemId],
        )
      ).rows[0];
      if (!row) return null;
      const rows: { seq: number; issue: ProblemIssue | string }[] = (
        await knex.raw(
          `select seq, jsonb_build_object('kind', issue->'kind', 'parent', issue->'parent', 'grids', issue->'grids', 'area_m2', issue->'area_m2',
                                          'geometry', issue->'geometry', 'reason', issue->'reason') as issue
           from partition_report_issues where report_id = ? order by seq`,
          [row.id],
        )
      ).rows;
      // The server's driver parses jsonb; the embedded one may hand it over as text.
      const issues = rows.map((r) => ({ ...(typeof r.issue === 'string' ? (JSON.parse(r.issue) as ProblemIssue) : r.issue), seq: r.seq }));
      return { generatedAt: row.generated_at, stale: row.stale, issues };
    },
  };
}

export type ProblemQueries = ReturnType<typeof createProblemQueries>;
