import type { Knex } from 'knex';

/**
 * A report on request's one statement (issue #13) as a PL/pgSQL function, so that a database session
 * parses and plans it once (PL/pgSQL keeps its statements' plans for the session): as a plain statement,
 * parsing and planning it cost more than running it on the demo city (PGlite 9.0 → 3.6 ms, server 5.3 →
 * 1.8 ms with the function, same run; measured under load). The plan is generic from the first call
 * (`force_generic_plan`, for this function only; by default a session plans its first five calls afresh,
 * which a service's first reports would pay). A kept plan knows the table sizes of when it was made: the
 * kept shapes are therefore looked up per grid read (lateral, limit 1: by the primary key at any size),
 * since a join planned while `overlay_grid_shapes` was empty, as it is for a new database's first report,
 * took 5 s instead of 0.3 s for a 2,000-community city on PGlite later (measured). Imports refresh the
 * grids' statistics (grids/store.ts `refreshStatistics`), which makes every session plan afresh.
 * A protocol-level named statement would not help PGlite, nor work through pgbouncer in transaction mode
 * (docs/scaling.md).
 *
 * Kept shapes go out as base64 text: PGlite parses bytea's hex text a byte at a time (the demo city's
 * 14 kB of shapes: 1.5 ms, against 0.3 ms as text; measured), where Node decodes base64 natively.
 *
 * Called by `service/overlays/store.ts` `overlayRead`, which documents what it returns. Arguments:
 * `k_*`: the systems named (territory's, units', each layer's), in the caller's order; `l_*`: per part (0
 * the units, 1… the layers), its system and level (null: the system's default); `max_grids`: with it, the
 * layers' grid counts, and no input when they hold more; `known`: the caller's cached input's tag (no input
 * read when the systems still have it); the territory's system and code.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION overlay_read(
      k_order int[], k_keys text[], k_distinct text[], l_parts int[], l_keys text[], l_levels text[],
      max_grids int, known text, territory_key text, territory_code text)
    RETURNS TABLE (part int, id bigint, xmin text, code text, name text, type text, inside boolean, shape text, geojson text, meta jsonb)
    LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
    #variable_conflict use_column
    BEGIN
      RETURN QUERY
      with recursive k(n, key) as (select * from unnest(k_order, k_keys)),
        s as (select s.id, s.key, s.name, s.kind, s.levels, s.overlap_policy, s.id || ':' || s.version || '.' || coalesce(v.version, 0) as version
              from grid_systems s left join overlay_grid_versions v on v.system_id = s.id where s.key = any(k_distinct)),
        l(part, key, level) as (select * from unnest(l_parts, l_keys, l_levels)),
        lv as (
          select l.part, s.id as system_id, coalesce(l.level, (
            select e ->> 'key' from jsonb_array_elements(s.levels) e order by (e ->> 'order')::int desc
            offset case when l.part = 0 and jsonb_array_length(s.levels) > 1 then 1 else 0 end limit 1)) as level
          from l join s on s.key = l.key),
        tag as (select string_agg(s.version, ',' order by k.n) as tag from k join s on s.key = k.key),
        counts as (select lv.part, (select count(*) from grids g where g.system_id = lv.system_id and g.level = lv.level) as n from lv where lv.part > 0 and max_grids is not null),
        go as (select (select tag from tag) is distinct from known and (max_grids is null or (select coalesce(sum(n), 0) from counts) <= max_grids) as read),
        t as (select id, system_id, xmin, code, name, type, level, geom from grids
              where system_id = (select id from s where key = territory_key) and code = territory_code and (select read from go)),
        -- The territory's subtree down to the units' level (no further: only units are looked up in it).
        sub(code, level) as (
          select code, level from t
          union
          select g.code, g.level from grids g join sub on g.parent_code = sub.code
          where g.system_id = (select system_id from t) and (select system_id from lv where part = 0) = (select system_id from t)
            and sub.level <> (select level from lv where part = 0)),
        c as materialized (
          select lv.part, g.id, g.xmin, g.code, g.name, g.type, g.geom,
                 lv.part = 0 and g.system_id = (select system_id from t) and g.code in (select code from sub) as inside
          from lv join grids g on g.system_id = lv.system_id and g.level = lv.level where (select read from go)),
        r as (
          select -1 as part, id, xmin, code, name, type, geom, false as inside from t
          union all
          select c.part, c.id, c.xmin, c.code, c.name, c.type, c.geom, c.inside from c, t
          where c.geom && t.geom and (c.inside or ST_Intersects(c.geom, t.geom)))
      select -2 as part, null::bigint as id, null::text as xmin, null::text as code, null::text as name, null::text as type, null::boolean as inside,
             null::text as shape, null::text as geojson,
             jsonb_build_object(
               'read', (select read from go),
               'levels', (select jsonb_agg(jsonb_build_array(part, level)) from lv),
               'counts', (select jsonb_agg(jsonb_build_array(part, n)) from counts),
               'systems', (select jsonb_agg(jsonb_build_object('id', id, 'key', key, 'name', name, 'kind', kind, 'levels', levels, 'overlap_policy', overlap_policy, 'version', version)) from s)) as meta
      union all
      (select r.part, r.id, r.xmin::text, r.code, r.name, r.type, r.inside, encode(p.shape, 'base64'),
              case when p.shape is null then ST_AsGeoJSON(r.geom, 9) end, null::jsonb
       from r left join lateral (select shape from overlay_grid_shapes p where p.grid_id = r.id and p.row_xmin = r.xmin limit 1) p on true
       order by r.part, r.code);
    END
    $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION IF EXISTS overlay_read(int[], text[], text[], int[], text[], text[], int, text, text, text)');
}
