import type { Knex } from 'knex';
import type { PartitionIssue } from '../geometry/partition/types';

/** A grid system with a whole-system partition report. */
export interface ProblemSystem {
  id: number;
  key: string;
  name: string;
}

export type ProblemIssue = Pick<PartitionIssue, 'kind' | 'parent' | 'grids' | 'area_m2' | 'geometry' | 'reason'>;

/** What the problems layer needs of a stored report (service/domain/partition.ts). */
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

    /** The system's latest whole-system report (issue #3: the newest row with no scope), or null when it has none. */
    async latest(systemId: number): Promise<ProblemReport | null> {
      const row: { issues: ProblemIssue[] | string; generated_at: string; stale: boolean } | undefined = (
        await knex.raw(
          `select report->'issues' as issues, report->>'generatedAt' as generated_at, coalesce((report->>'stale')::boolean, false) as stale
           from partition_reports where system_id = ? and scope is null order by created_at desc, id desc limit 1`,
          [systemId],
        )
      ).rows[0];
      if (!row) return null;
      // The server's driver parses jsonb; the embedded one may hand it over as text.
      const issues = typeof row.issues === 'string' ? (JSON.parse(row.issues) as ProblemIssue[]) : row.issues;
      return { generatedAt: row.generated_at, stale: row.stale, issues };
    },
  };
}

export type ProblemQueries = ReturnType<typeof createProblemQueries>;
