import type { Knex } from 'knex';

/**
 * What a user would otherwise run: one SQL statement per check, each over every family of the system.
 * ST_MakeValid first, or real-world data aborts the overlay (FACTS.md); areas geodesic. `repair`: PostGIS's
 * default (linework), what a user writes, or `structure`, as gridatlas repairs. On the embedded engine the
 * default one loses three of the four statements on US counties (GEOS fails on counties 08005, 08013 and
 * 08123 and PGlite returns neither rows nor an error: service/db/lost-result.ts), and the structure one
 * still loses the gaps statement; the embedded runs before 2026-12-04 timed such lost statements as done.
 */
export type PlainRepair = 'default' | 'structure';

export const PLAIN_SQL = (system: number, repair: PlainRepair = 'default') => {
  const valid = repair === 'structure' ? `ST_MakeValid(geom, 'method=structure')` : 'ST_MakeValid(geom)';
  return [
    `select code, ST_IsValidReason(geom) from grids where system_id = ${system} and not ST_IsValid(geom)`,
    `with g as (select code, parent_code, ${valid} as geom from grids where system_id = ${system})
   select a.code, b.code, ST_Area(ST_Intersection(a.geom, b.geom)::geography)
   from g a join g b on a.parent_code = b.parent_code and a.code < b.code and a.geom && b.geom
   where ST_Relate(a.geom, b.geom, '2********')`,
    `with g as (select code, parent_code, ${valid} as geom from grids where system_id = ${system}),
        u as (select parent_code, ST_Union(geom) as geom from g where parent_code is not null group by parent_code)
   select p.code, ST_Area(ST_Difference(p.geom, u.geom)::geography) as gap
   from g p join u on u.parent_code = p.code`,
    `with g as (select code, parent_code, ${valid} as geom from grids where system_id = ${system})
   select c.code, ST_Area(ST_Difference(c.geom, p.geom)::geography)
   from g c join g p on p.code = c.parent_code where not ST_CoveredBy(c.geom, p.geom)`,
  ];
};

/**
 * Runs `PLAIN_SQL` and times it. A statement the embedded engine loses (`statement_lost`: GEOS failed and
 * PGlite returned neither rows nor an error) is counted, not fatal: the rest still run, and the caller
 * reports the plain SQL as not completing rather than timing it as if it had.
 */
export async function timePlain(knex: Knex, system: number, repair: PlainRepair = 'default'): Promise<{ ms: number; lost: number }> {
  const t = performance.now();
  let lost = 0;
  for (const sql of PLAIN_SQL(system, repair)) {
    try {
      await knex.raw(sql);
    } catch (err) {
      if ((err as { code?: string }).code !== 'statement_lost') throw err;
      lost++;
    }
  }
  return { ms: performance.now() - t, lost };
}
