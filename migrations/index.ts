import type { Knex } from 'knex';
import * as m001 from './001_grid_systems';
import * as m002 from './002_addresses';
import * as m003 from './003_partition_reports';
import * as m010 from './010_access';

/** Every migration in order. Listed statically so the same list runs under tsx, vitest and scripts. */
export const migrations: Record<string, Knex.Migration> = {
  '001_grid_systems': m001,
  '002_addresses': m002,
  '003_partition_reports': m003,
  '010_access': m010,
};
