import type { Knex } from 'knex';
import { knexOf, type Queryable } from '../db/tx';
import { rootsIn, type AreaScope } from '../kernel/scope';
import type { GeometryIssue, Grid, GridWrite, Person } from '../kernel/types';

interface GridRow {
  id: number;
  code: string;
  parent_code: string | null;
  level: string;
  name: string;
  type: string | null;
  people: Person[];
  attributes: Record<string, unknown>;
  geojson: string;
  geometry_issues: GeometryIssue[];
  valid_from: Date | string | null;
  valid_to: Date | string | null;
  version: number;
  updated_at: Date | string;
}

export interface GridFilter {
  level?: string;
  parent?: string;
  bbox?: [number, number, number, number];
  codes?: string[];
  /** Only grids inside the caller's scope (issue #10): the subtrees of its roots in this system. */
  scope?: AreaScope;
}

const COLUMNS = `g.id, g.code, g.parent_code, g.level, g.name, g.type, g.people, g.attributes,
  ST_AsGeoJSON(g.geom, 9) as geojson, g.geometry_issues, g.valid_from, g.valid_to, g.version, g.updated_at`;

const day = (d: Date | string | null) => (d === null ? null : d instanceof Date ? d.toISOString().slice(0, 10) : String(d).slice(0, 10));

function toGrid(system: string, r: GridRow): Grid & { id: number } {
  return {
    id: Number(r.id),
    system,
    code: r.code,
    parentCode: r.parent_code,
    level: r.level,
    name: r.name,
    type: r.type,
    people: r.people ?? [],
    attributes: r.attributes ?? {},
    geometry: JSON.parse(r.geojson),
    geometryIssues: r.geometry_issues ?? [],
    validFrom: day(r.valid_from),
    validTo: day(r.valid_to),
    version: r.version,
    updatedAt: r.updated_at instanceof Date ? r.updated_at.toISOString() : new Date(r.updated_at).toISOString(),
  };
}

/** The written columns in order: code, parent_code, level, name, type, people, attributes, geom, geometry_issues, valid_from, valid_to. */
function writeValues(g: GridWrite): Knex.RawBinding[] {
  return [
    g.code,
    g.parentCode,
    g.level,
    g.name,
    g.type,
    JSON.stringify(g.people),
    JSON.stringify(g.attributes),
    JSON.stringify(g.geometry),
    JSON.stringify(g.geometryIssues),
    g.validFrom,
    g.validTo,
  ];
}

/** Geometry is stored as given (RFC 7946 GeoJSON, EPSG:4326), always as MultiPolygon. */
const GEOM_SQL = 'ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(?), 4326))';
// ST_MakeValid may return a collection with lines and points; a grid keeps only its polygonal part.
const REPAIR_SQL = `ST_Multi(ST_CollectionExtract(ST_MakeValid(${GEOM_SQL}), 3))`;

export type GridQueries = ReturnType<typeof createGridQueries>;

export function createGridQueries(db: Queryable, systemKey: string, systemId: number) {
  const knex = knexOf(db);
  const select = (where: string, bindings: Knex.RawBinding[], order = 'g.code') =>
    knex.raw(`select ${COLUMNS} from grids g where g.system_id = ? ${where} order by ${order}`, [systemId, ...bindings]);

  return {
    async list(filter: GridFilter = {}): Promise<Grid[]> {
      const where: string[] = [];
      const bindings: Knex.RawBinding[] = [];
      if (filter.level) {
        where.push('and g.level = ?');
        bindings.push(filter.level);
      }
      if (filter.parent) {
        where.push('and g.parent_code = ?');
        bindings.push(filter.parent);
      }
      if (filter.bbox) {
        where.push('and g.geom && ST_MakeEnvelope(?, ?, ?, ?, 4326)');
        bindings.push(...filter.bbox);
      }
      if (filter.codes) {
        where.push(`and g.code = any(?::text[])`);
        bindings.push(filter.codes);
      }
      const roots = filter.scope === undefined ? null : rootsIn(filter.scope, systemKey);
      if (roots !== null) {
        where.push(`and g.code in (with recursive s(code, depth) as (
            select code, 0 from grids where system_id = ? and code = any(?::text[])
            union all
            select c.code, s.depth + 1 from grids c join s on c.parent_code = s.code where c.system_id = ? and s.depth < 50)
          select code from s)`);
        bindings.push(systemId, roots, systemId);
      }
      const rows: GridRow[] = (await select(where.join(' '), bindings)).rows;
      return rows.map((r) => toGrid(systemKey, r));
    },

    async get(code: string): Promise<(Grid & { id: number }) | null> {
      const rows: GridRow[] = (await select('and g.code = ?', [code])).rows;
      return rows[0] ? toGrid(systemKey, rows[0]) : null;
    },


    async levelsOf(codes: string[]): Promise<Map<string, string>> {
      if (codes.length === 0) return new Map();
      // One array parameter: a whereIn list would exceed PostgreSQL's 65,535 bind parameters on big imports.
      const rows: { code: string; level: string }[] = (await knex.raw('select code, level from grids where system_id = ? and code = any(?::text[])', [systemId, codes])).rows;
      return new Map(rows.map((r) => [r.code, r.level]));
    },

    async count(): Promise<number> {
      const r = await knex('grids').where({ system_id: systemId }).count({ n: '*' }).first();
      return Number(r?.n ?? 0);
    },

    /** Ancestors from the parent up to the top. */
    async ancestors(code: string): Promise<Grid[]> {
      const rows: GridRow[] = (
        await knex.raw(
          `with recursive up(code, parent_code, depth) as (
             select code, parent_code, 0 from grids where system_id = ? and code = ?
             union all
             select g.code, g.parent_code, up.depth + 1 from grids g join up on g.code = up.parent_code
             where g.system_id = ? and up.depth < 50)
           select ${COLUMNS} from up join grids g on g.system_id = ? and g.code = up.code
           where up.depth > 0 order by up.depth`,
          [systemId, code, systemId, systemId],
        )
      ).rows;
      return rows.map((r) => toGrid(systemKey, r));
    },

    /** Every descendant of `code` (not the grid itself), parents before children. */
    async subtree(code: string): Promise<Grid[]> {
      const rows: GridRow[] = (
        await knex.raw(
          `with recursive down(code, depth) as (
             select code, 0 from grids where system_id = ? and code = ?
             union all
             select g.code, down.depth + 1 from grids g join down on g.parent_code = down.code
             where g.system_id = ? and down.depth < 50)
           select ${COLUMNS} from down join grids g on g.system_id = ? and g.code = down.code
           where down.depth > 0 order by down.depth, g.code`,
          [systemId, code, systemId, systemId],
        )
      ).rows;
      return rows.map((r) => toGrid(systemKey, r));
    },

    async hasChildren(code: string): Promise<boolean> {
      const r = await knex('grids').where({ system_id: systemId, parent_code: code }).first('id');
      return Boolean(r);
    },

    /** Inserts in batches; returns ids in input order. `repair` stores ST_MakeValid's polygonal result. */
    async insertMany(grids: GridWrite[], repair: boolean, batchSize = 500): Promise<number[]> {
      const ids: number[] = [];
      const geomSql = repair ? REPAIR_SQL : GEOM_SQL;
      for (let i = 0; i < grids.length; i += batchSize) {
        const batch = grids.slice(i, i + batchSize);
        const values = batch.map(() => `(?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ${geomSql}, ?::jsonb, ?::date, ?::date)`).join(',\n');
        const bindings = batch.flatMap((g) => [systemId, ...writeValues(g)]);
        const rows: { id: number }[] = (
          await knex.raw(
            `insert into grids (system_id, code, parent_code, level, name, type, people, attributes, geom, geometry_issues, valid_from, valid_to)
             values ${values} returning id`,
            bindings,
          )
        ).rows;
        ids.push(...rows.map((r) => Number(r.id)));
      }
      return ids;
    },

    /** Replaces one grid's content; returns null when `expectedVersion` no longer matches. */
    async update(code: string, g: GridWrite, repair: boolean, expectedVersion: number | null): Promise<number | null> {
      const geomSql = repair ? REPAIR_SQL : GEOM_SQL;
      const rows: { id: number }[] = (
        await knex.raw(
          `update grids set code = ?, parent_code = ?, level = ?, name = ?, type = ?, people = ?::jsonb, attributes = ?::jsonb,
             geom = ${geomSql}, geometry_issues = ?::jsonb, valid_from = ?::date, valid_to = ?::date,
             version = version + 1, updated_at = now()
           where system_id = ? and code = ? ${expectedVersion === null ? '' : 'and version = ?'}
           returning id`,
          [...writeValues(g), systemId, code, ...(expectedVersion === null ? [] : [expectedVersion])],
        )
      ).rows;
      return rows[0] ? Number(rows[0].id) : null;
    },

    // Raw SQL with RETURNING: knex-pglite does not report affected rows for knex's delete().
    async remove(codes: string[]): Promise<number> {
      return (await knex.raw('delete from grids where system_id = ? and code = any(?::text[]) returning id', [systemId, codes])).rows.length;
    },

    async removeAll(): Promise<number> {
      return (await knex.raw('delete from grids where system_id = ? returning id', [systemId])).rows.length;
    },

    /** Bounding box of the given grids, for change notifications. */
    async bboxOf(codes: string[] | null): Promise<[number, number, number, number] | null> {
      const r = (
        await knex.raw(
          `select ST_XMin(e)::float8 as x0, ST_YMin(e)::float8 as y0, ST_XMax(e)::float8 as x1, ST_YMax(e)::float8 as y1
           from (select ST_Extent(geom)::geometry as e from grids where system_id = ? ${codes ? 'and code = any(?::text[])' : ''}) t`,
          codes ? [systemId, codes] : [systemId],
        )
      ).rows[0];
      return r && r.x0 !== null ? [r.x0, r.y0, r.x1, r.y1] : null;
    },

    /** Area in m² (geodesic, on the WGS84 spheroid) of one grid before and after ST_MakeValid. */
    async areas(ids: number[]): Promise<Map<number, number>> {
      if (ids.length === 0) return new Map();
      const rows: { id: number; a: number }[] = (
        await knex.raw(`select id, ST_Area(geom::geography)::float8 as a from grids where id = any(?::bigint[])`, [ids])
      ).rows;
      return new Map(rows.map((r) => [Number(r.id), r.a]));
    },

    /**
     * Validity flags for geometries about to be stored, from PostGIS (ST_IsValidDetail) so both engines
     * and every later check agree on what "invalid" means. Keyed by the geometry's index.
     */
    async invalidity(geometries: string[]): Promise<Map<number, GeometryIssue>> {
      const out = new Map<number, GeometryIssue>();
      for (let i = 0; i < geometries.length; i += 2000) {
        const rows: { n: number; reason: string; x: number | null; y: number | null }[] = (
          await knex.raw(
            `select n::int as n, (d).reason as reason, ST_X((d).location)::float8 as x, ST_Y((d).location)::float8 as y
             from (select n, ST_IsValidDetail(ST_SetSRID(ST_GeomFromGeoJSON(g), 4326)) as d
                   from unnest(?::text[]) with ordinality as t(g, n)) v
             where not (d).valid`,
            [geometries.slice(i, i + 2000)],
          )
        ).rows;
        for (const r of rows) out.set(i + r.n - 1, { reason: r.reason, location: r.x === null ? null : [r.x, r.y!] });
      }
      return out;
    },

    /** Geodesic areas in m² of GeoJSON geometries not yet stored, in input order. */
    async areasOfGeoJson(geometries: string[]): Promise<number[]> {
      if (geometries.length === 0) return [];
      const rows: { a: number | null }[] = (
        await knex.raw(
          `select ST_Area(ST_SetSRID(ST_GeomFromGeoJSON(g), 4326)::geography)::float8 as a from unnest(?::text[]) with ordinality as t(g, n) order by n`,
          [geometries],
        )
      ).rows;
      return rows.map((r) => r.a ?? 0);
    },

    /**
     * The parent foreign key is checked at commit, once per row, with a plan made from the table's
     * statistics; planned against a table that was empty, each check scans it (quadratic on 100,000
     * grids). Fresh statistics make every check an index lookup.
     */
    async refreshStatistics(): Promise<void> {
      await knex.raw('analyze grids');
    },

    /**
     * Replaces stored geometries by their PostGIS ST_MakeValid repair (polygonal part kept). With RETURNING,
     * so a statement the embedded engine loses fails (db/lost-result.ts) instead of leaving them unrepaired.
     */
    async repair(ids: number[]): Promise<void> {
      await knex.raw(`update grids set geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3)) where id = any(?::bigint[]) returning id`, [ids]);
    },

    /** The children of a grid with a point inside each and their height, for west→east, north→south numbering. */
    async childrenForNumbering(parent: string): Promise<{ id: number; code: string; level: string; cx: number; cy: number; h: number }[]> {
      return (
        await knex.raw(
          `select id, code, level, ST_X(ST_PointOnSurface(geom))::float8 as cx, ST_Y(ST_PointOnSurface(geom))::float8 as cy,
                  (ST_YMax(geom) - ST_YMin(geom))::float8 as h
           from grids where system_id = ? and parent_code = ? order by code`,
          [systemId, parent],
        )
      ).rows;
    },

    /** The grids under (and including) each of `roots`, each with the root it descends from. */
    async descendantsWithRoot(roots: string[]): Promise<{ id: number; code: string; root: string }[]> {
      const rows: { id: number; code: string; root: string }[] = (
        await knex.raw(
          `with recursive down(id, code, root) as (
             select id, code, code from grids where system_id = ? and code = any(?::text[])
             union all
             select g.id, g.code, down.root from grids g join down on g.parent_code = down.code where g.system_id = ?)
           select id, code, root from down`,
          [systemId, roots, systemId],
        )
      ).rows;
      return rows.map((r) => ({ ...r, id: Number(r.id) }));
    },

    /** Gives grids new codes; two steps through temporary codes, so swapping two codes never collides. */
    async recode(next: { id: number; code: string }[]): Promise<void> {
      await knex.raw(`update grids set code = '~renumber~' || id where id = any(?::bigint[])`, [next.map((n) => n.id)]);
      await knex.raw(
        `update grids g set code = m.code, version = g.version + 1, updated_at = now()
         from unnest(?::bigint[], ?::text[]) as m(id, code) where g.id = m.id`,
        [next.map((n) => n.id), next.map((n) => n.code)],
      );
    },
  };
}

