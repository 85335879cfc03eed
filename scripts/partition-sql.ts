/**
 * What a user would otherwise run: one SQL statement per check, each over every family of the system.
 * ST_MakeValid first, or real-world data aborts the overlay (FACTS.md); areas geodesic.
 */
export const PLAIN_SQL = (system: number) => [
  `select code, ST_IsValidReason(geom) from grids where system_id = ${system} and not ST_IsValid(geom)`,
  `with g as (select code, parent_code, ST_MakeValid(geom) as geom from grids where system_id = ${system})
   select a.code, b.code, ST_Area(ST_Intersection(a.geom, b.geom)::geography)
   from g a join g b on a.parent_code = b.parent_code and a.code < b.code and a.geom && b.geom
   where ST_Relate(a.geom, b.geom, '2********')`,
  `with g as (select code, parent_code, ST_MakeValid(geom) as geom from grids where system_id = ${system}),
        u as (select parent_code, ST_Union(geom) as geom from g where parent_code is not null group by parent_code)
   select p.code, ST_Area(ST_Difference(p.geom, u.geom)::geography) as gap
   from g p join u on u.parent_code = p.code`,
  `with g as (select code, parent_code, ST_MakeValid(geom) as geom from grids where system_id = ${system})
   select c.code, ST_Area(ST_Difference(c.geom, p.geom)::geography)
   from g c join g p on p.code = c.parent_code where not ST_CoveredBy(c.geom, p.geom)`,
];
