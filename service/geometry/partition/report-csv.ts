import type { ParentSummary, PartitionReport } from './types';

const COLUMNS: (keyof ParentSummary)[] = [
  'parent',
  'level',
  'children',
  'parentArea_m2',
  'childrenArea_m2',
  'coveredArea_m2',
  'coverageRatio',
  'gap_m2',
  'overlap_m2',
  'outside_m2',
  'issues',
];

/**
 * The per-parent summary as CSV (RFC 4180: CRLF line ends, a header row, fields with commas, quotes or
 * line breaks quoted, quotes doubled). The first column is the system; the top level's parent is empty.
 *
 * @param report a report from `validatePartition`
 * @returns the CSV text, ending with CRLF
 * @example
 * reportToCsv(report).split('\r\n')[0]; // 'system,parent,level,children,…'
 */
export function reportToCsv(report: PartitionReport): string {
  const rows = [['system', ...COLUMNS].map(field)];
  for (const summary of report.parents) rows.push([field(report.system), ...COLUMNS.map((c) => field(summary[c]))]);
  return rows.map((r) => r.join(',')).join('\r\n') + '\r\n';
}

function field(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
