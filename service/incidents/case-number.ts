/**
 * Case numbers (issue #11): the responsible unit's code, the report date in Beijing time and a sequence
 * per unit and day, e.g. `510199001002-20261203-0007`. The sequence comes from a counter row that only
 * ever grows (store.ts), so a number is never handed out twice.
 */
export function caseNumber(unitCode: string, reportedAt: Date, sequence: number): string {
  return `${unitCode}-${caseDay(reportedAt)}-${String(sequence).padStart(4, '0')}`;
}

/** YYYYMMDD in Asia/Shanghai (UTC+8, no daylight saving since 1991). */
export function caseDay(at: Date): string {
  return new Date(+at + 8 * 3_600_000).toISOString().slice(0, 10).replace(/-/g, '');
}
