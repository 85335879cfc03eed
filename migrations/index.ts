import type { Knex } from 'knex';
import * as m001 from './001_grid_systems';
import * as m002 from './002_addresses';
import * as m003 from './003_partition_reports';
import * as m004 from './004_work_claims';
import * as m005 from './005_incidents';
import * as m006 from './006_filing_ledger';
import * as m007 from './007_bank_points';
import * as m010 from './010_access';
import * as m020 from './020_changesets';
import * as m030 from './030_open311';
import * as m031 from './031_incident_stats_index';
import * as m032 from './032_incident_calendar';
import * as m033 from './033_incident_clocks';
import * as m034 from './034_incident_stats_days';
import * as m035 from './035_incident_log_reference';
import * as m036 from './036_incident_cluster_cells';
import * as m037 from './037_incident_cells_from_clocks';
import * as m040 from './040_overlay_results';
import * as m041 from './041_overlay_changes';
import * as m042 from './042_overlay_grid_shapes';
import * as m043 from './043_overlay_read';
import * as m060 from './060_partition_report_issues';
import * as m061 from './061_partition_report_snapshot';
import * as m062 from './062_partition_recheck_unreported';

/** Every migration in order. Listed statically so the same list runs under tsx, vitest and scripts. */
export const migrations: Record<string, Knex.Migration> = {
  '001_grid_systems': m001,
  '002_addresses': m002,
  '003_partition_reports': m003,
  '004_work_claims': m004,
  '005_incidents': m005,
  '006_filing_ledger': m006,
  '007_bank_points': m007,
  '010_access': m010,
  '020_changesets': m020,
  '030_open311': m030,
  '031_incident_stats_index': m031,
  '032_incident_calendar': m032,
  '033_incident_clocks': m033,
  '034_incident_stats_days': m034,
  '035_incident_log_reference': m035,
  '036_incident_cluster_cells': m036,
  '037_incident_cells_from_clocks': m037,
  '040_overlay_results': m040,
  '041_overlay_changes': m041,
  '042_overlay_grid_shapes': m042,
  '043_overlay_read': m043,
  '060_partition_report_issues': m060,
  '061_partition_report_snapshot': m061,
  '062_partition_recheck_unreported': m062,
};
