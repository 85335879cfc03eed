/**
 * The address register rows that may belong to grids inside a `box` CTE (one row, column `geom`): the
 * GiST index narrows the register to the box, grown by the largest 就近划入 distance so addresses placed
 * by distance just outside are counted too. Shared by the printed boards and the map's board view.
 */
export const REACH_CTE = `reach as (select box.geom as inside, ST_Expand(box.geom, coalesce((select max(nearest_m) from addresses where nearest_m is not null), 0)
                     / (111320 * greatest(cos(radians(ST_YMax(box.geom))), 0.1))) as near from box)`;

/** The condition on `addresses a` joined with `reach`. */
export const IN_REACH = 'a.geom && reach.near and (a.geom && reach.inside or a.nearest_m is not null)';
