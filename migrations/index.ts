import type { Knex } from 'knex';
import * as m001 from './001_grid_systems';

/** Every migration in order. Listed statically so the same list runs under tsx, vitest and scripts. */
export const migrations: Record<string, Knex.Migration> = {
  '001_grid_systems': m001,
};
