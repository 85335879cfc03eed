import { knexOf, type Queryable } from '../db/tx';
import type { Bbox } from '../kernel/types';
import type { Area, Operation, PlanGrid } from './operations';
import type { Proof } from './proof';
import type { ChangesetStatus } from './workflow';

export interface ChangesetEvent {
  at: string;
  by: string;
  action: string;
  comment?: string;
  /** On apply: the open incidents it re-routed (issue #14). */
  rerouted?: { id: number; caseNo: string; from: string | null; to: string | null }[];
}

export interface Changeset {
  id: number;
  system: string;
  reason: string;
  status: ChangesetStatus;
  operations: Operation[];
  /** The version of every stored grid the changeset touches, when it was based on them. */
  baseVersions: Record<string, number>;
  proof: Proof | null;
  acceptedFindings: string[];
  events: ChangesetEvent[];
  proposedBy: string;
  reviewedBy: string | null;
  reviewComment: string | null;
  createdAt: string;
  updatedAt: string;
  appliedAt: string | null;
}

/** One stored version of a grid (issue #14 history): valid from its write until the next one. */
export interface GridVersion {
  code: string;
  version: number;
  parentCode: string | null;
  level: string;
  name: string;
  properties: Record<string, unknown>;
  geometry: Area;
  validFrom: string;
  validTo: string | null;
  changesetId: number | null;
  proposedBy: string | null;
  approvedBy: string | null;
}

/** One grid that differs between two instants of the history (issue #14 "the difference between two dates"). */
export interface DatedChange {
  change: 'added' | 'removed' | 'changed';
  codeBefore: string | null;
  codeAfter: string | null;
  versionBefore: number | null;
  versionAfter: number | null;
  before_m2: number;
  after_m2: number;
  added_m2: number;
  removed_m2: number;
  /** The area gained (after − before) and lost (before − after); null when none. */
  added: Area | null;
  removed: Area | null;
}

/** A grid as the impact needs it: where it is and whether it takes addresses by distance (leaf). */
export interface AreaGrid {
  code: string;
  level: string;
  parentCode: string | null;
  leaf: boolean;
  geometry: Area;
}

export interface AreaAddress {
  externalId: string;
  lon: number;
  lat: number;
  nearestM: number | null;
  code: string | null;
  households: number;
  population: number;
}

interface ChangesetRow {
  id: number;
  reason: string;
  status: ChangesetStatus;
  operations: Operation[];
  base_versions: Record<string, number>;
  proof: Proof | null;
  accepted_findings: string[];
  events: ChangesetEvent[];
  proposed_by: string;
  reviewed_by: string | null;
  review_comment: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  applied_at: Date | string | null;
}

/** Boxes as four bound arrays (x0s, y0s, x1s, y1s) for unnest. */
const columns = (boxes: Bbox[]) => [0, 1, 2, 3].map((k) => boxes.map((b) => b[k]!));

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : new Date(d).toISOString());

function toChangeset(system: string, r: ChangesetRow): Changeset {
  return {
    id: Number(r.id),
    system,
    reason: r.reason,
    status: r.status,
    operations: r.operations,
    baseVersions: r.base_versions,
    proof: r.proof,
    acceptedFindings: r.accepted_findings,
    events: r.events,
    proposedBy: r.proposed_by,
    reviewedBy: r.reviewed_by,
    reviewComment: r.review_comment,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    appliedAt: r.applied_at === null ? null : iso(r.applied_at),
  };
}

const VERSION_COLUMNS = `code, version, parent_code, level, name, properties, ST_AsGeoJSON(geom, 9) as geojson, valid_from, valid_to,
  changeset_id, proposed_by, approved_by`;

function toVersion(r: {
  code: string;
  version: number;
  parent_code: string | null;
  level: string;
  name: string;
  properties: Record<string, unknown>;
  geojson: string;
  valid_from: Date | string;
  valid_to: Date | string | null;
  changeset_id: number | null;
  proposed_by: string | null;
  approved_by: string | null;
}): GridVersion {
  return {
    code: r.code,
    version: r.version,
    parentCode: r.parent_code,
    level: r.level,
    name: r.name,
    properties: r.properties,
    geometry: JSON.parse(r.geojson),
    validFrom: iso(r.valid_from),
    validTo: r.valid_to === null ? null : iso(r.valid_to),
    changesetId: r.changeset_id === null ? null : Number(r.changeset_id),
    proposedBy: r.proposed_by,
    approvedBy: r.approved_by,
  };
}

/** Who a transaction's grid writes are attributed to in the history, set by a changeset's apply. */
export interface Attribution {
  changesetId: number;
  proposedBy: string;
  approvedBy: string | null;
}

// Transaction-local settings: the history hook, run by the grid service inside the apply's transaction,
// reads them without the grid service knowing about changesets.
const SETTING = { changeset: 'gridatlas.changeset_id', proposedBy: 'gridatlas.proposed_by', approvedBy: 'gridatlas.approved_by' };
const setting = (name: string) => `nullif(current_setting('${name}', true), '')`;

/**
 * Changesets and grid history, plus the reads of current grids and addresses a proof needs. Takes the
 * pool or a transaction.
 */
export function createChangesetQueries(db: Queryable) {
  const knex = knexOf(db);
  return {
    async insert(systemId: number, systemKey: string, c: { reason: string; proposedBy: string; operations: Operation[]; baseVersions: Record<string, number>; proof: Proof; events: ChangesetEvent[] }): Promise<Changeset> {
      const rows: ChangesetRow[] = (
        await knex.raw(
          `insert into changesets (system_id, reason, operations, base_versions, proof, events, proposed_by)
           values (?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?::jsonb, ?) returning *`,
          [systemId, c.reason, JSON.stringify(c.operations), JSON.stringify(c.baseVersions), JSON.stringify(c.proof), JSON.stringify(c.events), c.proposedBy],
        )
      ).rows;
      return toChangeset(systemKey, rows[0]!);
    },

    /** One changeset of a system; `lock` holds it for the rest of the transaction (apply, transitions). */
    async get(systemId: number, systemKey: string, id: number, lock = false): Promise<Changeset | null> {
      const rows: ChangesetRow[] = (await knex.raw(`select * from changesets where system_id = ? and id = ? ${lock ? 'for update' : ''}`, [systemId, id])).rows;
      return rows[0] ? toChangeset(systemKey, rows[0]) : null;
    },

    async list(systemId: number, systemKey: string, status?: ChangesetStatus): Promise<Changeset[]> {
      const rows: ChangesetRow[] = (
        await knex.raw(`select * from changesets where system_id = ? ${status ? 'and status = ?' : ''} order by id`, status ? [systemId, status] : [systemId])
      ).rows;
      return rows.map((r) => toChangeset(systemKey, r));
    },

    /** Changesets not applied, of every system: their previews are tile sources. */
    async previewable(): Promise<{ id: number; system: string; status: ChangesetStatus; updatedAt: string }[]> {
      const rows: { id: number; key: string; status: ChangesetStatus; updated_at: Date | string }[] = (
        await knex.raw(`select c.id, s.key, c.status, c.updated_at from changesets c join grid_systems s on s.id = c.system_id where c.status <> 'applied' order by c.id`)
      ).rows;
      return rows.map((r) => ({ id: Number(r.id), system: r.key, status: r.status, updatedAt: iso(r.updated_at) }));
    },

    async update(c: Changeset): Promise<void> {
      await knex.raw(
        `update changesets set status = ?, operations = ?::jsonb, base_versions = ?::jsonb, proof = ?::jsonb, accepted_findings = ?::jsonb,
           events = ?::jsonb, reviewed_by = ?, review_comment = ?, updated_at = now(),
           applied_at = case when ? = 'applied' then now() else applied_at end
         where id = ?`,
        [
          c.status,
          JSON.stringify(c.operations),
          JSON.stringify(c.baseVersions),
          c.proof === null ? null : JSON.stringify(c.proof),
          JSON.stringify(c.acceptedFindings),
          JSON.stringify(c.events),
          c.reviewedBy,
          c.reviewComment,
          c.status,
          c.id,
        ],
      );
    },

    /**
     * The grids a change of `codes` can affect: the grids themselves, their parents, every child of
     * those (siblings and children), `extraParents` with their children, and the top level when a
     * changed grid is at the top.
     */
    async families(systemId: number, codes: string[], extraParents: string[]): Promise<(PlanGrid & { version: number })[]> {
      const rows: { code: string; parent_code: string | null; level: string; name: string; version: number; geojson: string }[] = (
        await knex.raw(
          // Three indexed reads joined by id: one condition OR-ed over them makes PostgreSQL scan every grid.
          `with t as (select code, parent_code from grids where system_id = ? and code = any(?::text[])),
                fam as (select parent_code as p from t where parent_code is not null union select code from t union select unnest(?::text[])),
                ids as (select g.id from grids g where g.system_id = ? and g.code in (select p from fam)
                        union select g.id from grids g where g.system_id = ? and g.parent_code in (select p from fam)
                        union select g.id from grids g where g.system_id = ? and g.parent_code is null and exists (select 1 from t where t.parent_code is null))
           select g.code, g.parent_code, g.level, g.name, g.version, ST_AsGeoJSON(g.geom, 9) as geojson from grids g
           where g.id in (select id from ids)
           order by g.code`,
          [systemId, codes, extraParents, systemId, systemId, systemId],
        )
      ).rows;
      return rows.map((r) => ({
        code: r.code,
        parentCode: r.parent_code,
        level: r.level,
        name: r.name,
        version: r.version,
        geometry: JSON.parse(r.geojson),
        properties: {},
        origin: r.code,
        touched: false,
      }));
    },

    /** Which of `codes` exist in the system now. */
    async existing(systemId: number, codes: string[]): Promise<Set<string>> {
      const rows: { code: string }[] = (await knex.raw('select code from grids where system_id = ? and code = any(?::text[])', [systemId, codes])).rows;
      return new Set(rows.map((r) => r.code));
    },

    /** Current versions of `codes`; a code that no longer exists is absent. */
    async versions(systemId: number, codes: string[]): Promise<Map<string, number>> {
      const rows: { code: string; version: number }[] = (await knex.raw('select code, version from grids where system_id = ? and code = any(?::text[])', [systemId, codes])).rows;
      return new Map(rows.map((r) => [r.code, r.version]));
    },

    /** Codes the system's history knows that no current grid carries: retired, never to be reused. */
    async retired(systemId: number, codes: string[]): Promise<Set<string>> {
      const rows: { code: string }[] = (
        await knex.raw(
          `select distinct v.code from grid_versions v where v.system_id = ? and v.code = any(?::text[])
           and not exists (select 1 from grids g where g.system_id = v.system_id and g.code = v.code)`,
          [systemId, codes],
        )
      ).rows;
      return new Set(rows.map((r) => r.code));
    },

    /** The union of some geometries (a merge, or a removed grid given to its one neighbour). */
    async union(geometries: Area[]): Promise<Area> {
      const r = (
        await knex.raw(
          `select ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_Union(g), 3)), 9) as geojson
           from (select ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(g), 4326)) as g from unnest(?::text[]) as t(g)) v`,
          [geometries.map((g) => JSON.stringify(g))],
        )
      ).rows[0];
      return JSON.parse(r.geojson);
    },

    /** Added and removed area per grid (after − before, before − after), with geodesic areas in m². */
    async differences(pairs: { code: string; before: Area | null; after: Area | null }[]): Promise<{
      areas: { code: string; before_m2: number; after_m2: number; added_m2: number; removed_m2: number }[];
      parts: { code: string; change: 'added' | 'removed'; area_m2: number; geometry: Area }[];
      /** Per pair, in order, the box of everything it adds and removes (however small); null when nothing. */
      boxes: (Bbox | null)[];
    }> {
      if (pairs.length === 0) return { areas: [], parts: [], boxes: [] };
      const rows: {
        code: string;
        before_m2: number;
        after_m2: number;
        added_m2: number;
        removed_m2: number;
        added: string | null;
        removed: string | null;
        x0: number | null;
        y0: number | null;
        x1: number | null;
        y1: number | null;
      }[] = (
        await knex.raw(
          // Proposed geometry may be invalid (the proof reports it as a finding): measured as repaired, not refused.
          `with p as (select code, ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(b), 4326)) as b, ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(a), 4326)) as a, n
                      from unnest(?::text[], ?::text[], ?::text[]) with ordinality as t(code, b, a, n)),
                d as (select code, n, b, a,
                        case when b is null then a when a is null then null else ST_CollectionExtract(ST_Difference(a, b), 3) end as added,
                        case when a is null then b when b is null then null else ST_CollectionExtract(ST_Difference(b, a), 3) end as removed
                      from p),
                e as (select d.*, ST_Collect(array_remove(array[added, removed], null)) as moved from d)
           select code, ST_XMin(moved)::float8 as x0, ST_YMin(moved)::float8 as y0, ST_XMax(moved)::float8 as x1, ST_YMax(moved)::float8 as y1,
             coalesce(ST_Area(b::geography), 0)::float8 as before_m2, coalesce(ST_Area(a::geography), 0)::float8 as after_m2,
             coalesce(ST_Area(added::geography), 0)::float8 as added_m2, coalesce(ST_Area(removed::geography), 0)::float8 as removed_m2,
             case when added is null or ST_IsEmpty(added) then null else ST_AsGeoJSON(added, 9) end as added,
             case when removed is null or ST_IsEmpty(removed) then null else ST_AsGeoJSON(removed, 9) end as removed
           from e order by n`,
          // A null in a bound array stands for "no geometry" (a new or a removed grid).
          [pairs.map((p) => p.code), pairs.map((p) => (p.before ? JSON.stringify(p.before) : null)), pairs.map((p) => (p.after ? JSON.stringify(p.after) : null))] as unknown as string[][],
        )
      ).rows;
      const round = (v: number) => Math.round(v * 100) / 100;
      const parts: { code: string; change: 'added' | 'removed'; area_m2: number; geometry: Area }[] = [];
      for (const r of rows) {
        if (r.added && r.added_m2 > 0.01) parts.push({ code: r.code, change: 'added', area_m2: round(r.added_m2), geometry: JSON.parse(r.added) });
        if (r.removed && r.removed_m2 > 0.01) parts.push({ code: r.code, change: 'removed', area_m2: round(r.removed_m2), geometry: JSON.parse(r.removed) });
      }
      return {
        areas: rows.map((r) => ({ code: r.code, before_m2: round(r.before_m2), after_m2: round(r.after_m2), added_m2: round(r.added_m2), removed_m2: round(r.removed_m2) })),
        parts,
        boxes: rows.map((r) => (r.x0 === null || r.y0 === null || r.x1 === null || r.y1 === null ? null : [r.x0, r.y0, r.x1, r.y1])),
      };
    },

    /** The largest 就近划入 reach of any address (how far outside a changed area an address can move). */
    async maxNearest(): Promise<number> {
      const r = (await knex.raw('select max(nearest_m)::float8 as m from addresses where nearest_m is not null')).rows[0];
      return r?.m ?? 0;
    },

    /** The current grids of a system meeting any of `areas`, with whether each is a leaf. */
    async gridsIn(systemId: number, areas: Bbox[]): Promise<AreaGrid[]> {
      if (areas.length === 0) return [];
      const rows: { code: string; level: string; parent_code: string | null; leaf: boolean; geojson: string }[] = (
        await knex.raw(
          `with b as (select ST_MakeEnvelope(x0, y0, x1, y1, 4326) as e from unnest(?::float8[], ?::float8[], ?::float8[], ?::float8[]) as t(x0, y0, x1, y1))
           select g.code, g.level, g.parent_code, ST_AsGeoJSON(g.geom, 9) as geojson,
             not exists (select 1 from grids c where c.system_id = g.system_id and c.parent_code = g.code) as leaf
           from grids g where g.id in (select m.id from b join grids m on m.geom && b.e and m.system_id = ?)`,
          [...columns(areas), systemId],
        )
      ).rows;
      return rows.map((r) => ({ code: r.code, level: r.level, parentCode: r.parent_code, leaf: r.leaf, geometry: JSON.parse(r.geojson) }));
    },

    /**
     * The addresses a change can move, as the re-assignment hook would select them but only near what
     * changes: inside one of `areas`, or placed by distance inside one of `reach`; with their current grid
     * in the system. Boxes per changed piece, not one box around them all: a street's worth of grids
     * reads the addresses along the moved boundaries, not the whole street. The two kinds of box are two
     * reads: one condition OR-ing them made PostgreSQL filter every address of the reach boxes (0.67 s
     * against 0.04 s for 50 grids at 1,000,000 addresses).
     */
    async addressesIn(systemId: number, areas: Bbox[], reach: Bbox[]): Promise<AreaAddress[]> {
      if (areas.length === 0 && reach.length === 0) return [];
      const boxes = [...areas.map((b) => [...b, 0] as const), ...reach.map((b) => [...b, 1] as const)];
      const rows: { external_id: string; x: number; y: number; nearest_m: number | null; code: string | null; households: number; population: number }[] = (
        await knex.raw(
          `with b as (select ST_MakeEnvelope(x0, y0, x1, y1, 4326) as e, near = 1 as near
                      from unnest(?::float8[], ?::float8[], ?::float8[], ?::float8[], ?::int[]) as t(x0, y0, x1, y1, near))
           select a.external_id, ST_X(a.geom)::float8 as x, ST_Y(a.geom)::float8 as y, a.nearest_m, a.grids ->> ? as code, a.households, a.population
           from addresses a where a.id in (
             select m.id from b join addresses m on m.geom && b.e where not b.near
             union all
             select m.id from b join addresses m on m.geom && b.e and m.nearest_m is not null where b.near)
           order by a.id`,
          [...[0, 1, 2, 3, 4].map((k) => boxes.map((b) => b[k]!)), String(systemId)],
        )
      ).rows;
      return rows.map((r) => ({ externalId: r.external_id, lon: r.x, lat: r.y, nearestM: r.nearest_m, code: r.code, households: r.households, population: r.population }));
    },

    /** Marks the transaction's grid writes as made by a changeset, for the history hook. */
    async attribute(a: Attribution): Promise<void> {
      await knex.raw(`select set_config(?, ?, true), set_config(?, ?, true), set_config(?, ?, true)`, [
        SETTING.changeset,
        String(a.changesetId),
        SETTING.proposedBy,
        a.proposedBy,
        SETTING.approvedBy,
        a.approvedBy ?? '',
      ]);
    },

    /**
     * Brings the history of `codes` (all grids of the system when null) up to the grids as they are:
     * closes the open version of every grid that changed or went, and opens one for its current state.
     * Old and new codes of a recoded grid are both in `codes`.
     */
    async recordVersions(systemId: number, codes: string[] | null): Promise<void> {
      const which = codes === null ? '' : 'and g.code = any(?::text[])';
      await knex.raw(
        `update grid_versions v set valid_to = now()
         where v.system_id = ? and v.valid_to is null
           and (${codes === null ? 'true' : 'v.code = any(?::text[]) or v.grid_id in (select g.id from grids g where g.system_id = ? and g.code = any(?::text[]))'})
           and not exists (select 1 from grids g where g.id = v.grid_id and g.version = v.version and g.code = v.code)`,
        codes === null ? [systemId] : [systemId, codes, systemId, codes],
      );
      await knex.raw(
        `insert into grid_versions (system_id, grid_id, code, version, parent_code, level, name, properties, geom, valid_from, changeset_id, proposed_by, approved_by)
         select g.system_id, g.id, g.code, g.version, g.parent_code, g.level, g.name,
           jsonb_build_object('type', g.type, 'people', g.people, 'attributes', g.attributes, 'valid_from', g.valid_from, 'valid_to', g.valid_to),
           g.geom, now(), ${setting(SETTING.changeset)}::bigint, ${setting(SETTING.proposedBy)}, ${setting(SETTING.approvedBy)}
         from grids g where g.system_id = ? ${which}
           and not exists (select 1 from grid_versions v where v.system_id = g.system_id and v.grid_id = g.id and v.valid_to is null and v.version = g.version and v.code = g.code)`,
        codes === null ? [systemId] : [systemId, codes],
      );
    },

    /** Every version of the grid that carries `code` now or did once, following recodes; oldest first. */
    async history(systemId: number, code: string): Promise<GridVersion[]> {
      const rows = (
        await knex.raw(
          `select ${VERSION_COLUMNS} from grid_versions
           where system_id = ? and grid_id in (select grid_id from grid_versions where system_id = ? and code = ?)
           order by valid_from, id`,
          [systemId, systemId, code],
        )
      ).rows;
      return rows.map(toVersion);
    },

    /** The grids of a system as they stood at `at` (an ISO date or timestamp). */
    async asOf(systemId: number, at: string): Promise<GridVersion[]> {
      const rows = (
        await knex.raw(
          `select ${VERSION_COLUMNS} from grid_versions
           where system_id = ? and valid_from <= ?::timestamptz and (valid_to is null or valid_to > ?::timestamptz)
           order by code`,
          [systemId, at, at],
        )
      ).rows;
      return rows.map(toVersion);
    },

    /**
     * The point lookup's two reads (`covering`, `grids`) over the grids as they stood at `at`, so the
     * point feature's own chain building answers as of a date (issue #14).
     */
    pointQueriesAsOf(at: string) {
      const valid = 'valid_from <= ?::timestamptz and (valid_to is null or valid_to > ?::timestamptz)';
      return {
        async covering(lon: number, lat: number): Promise<{ system_id: number; code: string; name: string; level: string; parent_code: string | null }[]> {
          return (
            await knex.raw(
              `select system_id, code, name, level, parent_code from grid_versions
               where geom && ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326)
                 and ST_Covers(geom, ST_SetSRID(ST_MakePoint(?::float8, ?::float8), 4326)) and ${valid}
               order by system_id, code collate "C"`,
              [lon, lat, lon, lat, at, at],
            )
          ).rows;
        },
        async grids(systemId: number, codes: string[]): Promise<{ system_id: number; code: string; name: string; level: string; parent_code: string | null }[]> {
          if (codes.length === 0) return [];
          return (
            await knex.raw(`select system_id, code, name, level, parent_code from grid_versions where system_id = ? and code = any(?::text[]) and ${valid}`, [systemId, codes, at, at])
          ).rows;
        },
      };
    },

    /**
     * Every code that was ever inside the subtree of one of `roots` (any version's parent link counts), so
     * a scoped caller sees the history of its area, including grids since moved or retired.
     */
    async codesEverUnder(systemId: number, roots: string[]): Promise<Set<string>> {
      const rows: { code: string }[] = (
        await knex.raw(
          `with recursive sub(code) as (
             select unnest(?::text[])
             union
             select v.code from grid_versions v join sub on v.parent_code = sub.code where v.system_id = ?)
           select code from sub`,
          [roots, systemId],
        )
      ).rows;
      return new Set(rows.map((r) => r.code));
    },

    /**
     * The grids that differ between two instants, matched by grid identity (so a recode is a change, not
     * a removal and an addition): added (only at b), removed (only at a), changed (another version), with
     * the area gained and lost (geodesic m²) and those pieces as geometry.
     */
    async between(systemId: number, a: string, b: string): Promise<DatedChange[]> {
      const rows: {
        change: DatedChange['change'];
        code_a: string | null;
        code_b: string | null;
        version_a: number | null;
        version_b: number | null;
        area_a: number;
        area_b: number;
        added_m2: number;
        removed_m2: number;
        added: string | null;
        removed: string | null;
      }[] = (
        await knex.raw(
          // Stored geometry is kept as given and may be invalid (issue #2): compared as repaired.
          `with va as (select grid_id, code, version, ST_MakeValid(geom) as geom from grid_versions
                       where system_id = ? and valid_from <= ?::timestamptz and (valid_to is null or valid_to > ?::timestamptz)),
                vb as (select grid_id, code, version, ST_MakeValid(geom) as geom from grid_versions
                       where system_id = ? and valid_from <= ?::timestamptz and (valid_to is null or valid_to > ?::timestamptz)),
                j as (select case when va.grid_id is null then 'added' when vb.grid_id is null then 'removed' else 'changed' end as change,
                        va.code as code_a, vb.code as code_b, va.version as version_a, vb.version as version_b, va.geom as ga, vb.geom as gb
                      from va full join vb on va.grid_id = vb.grid_id
                      where va.grid_id is null or vb.grid_id is null or va.version <> vb.version),
                d as (select j.*,
                        case when ga is null then gb when gb is null or ST_Equals(ga, gb) then null else ST_CollectionExtract(ST_Difference(gb, ga), 3) end as added,
                        case when gb is null then ga when ga is null or ST_Equals(ga, gb) then null else ST_CollectionExtract(ST_Difference(ga, gb), 3) end as removed
                      from j)
           select change, code_a, code_b, version_a, version_b,
             coalesce(ST_Area(ga::geography), 0)::float8 as area_a, coalesce(ST_Area(gb::geography), 0)::float8 as area_b,
             coalesce(ST_Area(added::geography), 0)::float8 as added_m2, coalesce(ST_Area(removed::geography), 0)::float8 as removed_m2,
             case when added is null or ST_IsEmpty(added) then null else ST_AsGeoJSON(added, 9) end as added,
             case when removed is null or ST_IsEmpty(removed) then null else ST_AsGeoJSON(removed, 9) end as removed
           from d order by coalesce(code_b, code_a) collate "C"`,
          [systemId, a, a, systemId, b, b],
        )
      ).rows;
      const round = (v: number) => Math.round(v * 100) / 100;
      return rows.map((r) => ({
        change: r.change,
        codeBefore: r.code_a,
        codeAfter: r.code_b,
        versionBefore: r.version_a,
        versionAfter: r.version_b,
        before_m2: round(r.area_a),
        after_m2: round(r.area_b),
        added_m2: round(r.added_m2),
        removed_m2: round(r.removed_m2),
        added: r.added && r.added_m2 > 0.01 ? JSON.parse(r.added) : null,
        removed: r.removed && r.removed_m2 > 0.01 ? JSON.parse(r.removed) : null,
      }));
    },

    /**
     * Households under each of `codes` today (rolled up: addresses of the grid and its descendants). Only
     * addresses near the grids are read (their box widened by `reachDeg`, the 就近划入 reach): no scan of
     * the whole register.
     */
    async householdsUnder(systemId: number, codes: string[], reachDeg: number): Promise<Map<string, { addresses: number; households: number }>> {
      if (codes.length === 0) return new Map();
      const rows: { root: string; addresses: number; households: number }[] = (
        await knex.raw(
          `with recursive sub(root, code) as (
             select code, code from grids where system_id = ? and code = any(?::text[])
             union all
             select sub.root, g.code from grids g join sub on g.parent_code = sub.code where g.system_id = ?),
           area as (select ST_Expand(ST_Extent(g.geom)::geometry, ?::float8) as box from grids g where g.system_id = ? and g.code = any(?::text[])),
           leaf as (select a.grids ->> ? as code, count(*)::int as addresses, coalesce(sum(a.households), 0)::int as households
                    from addresses a, area where a.geom && area.box and a.grids ->> ? in (select code from sub) group by 1)
           select sub.root, coalesce(sum(leaf.addresses), 0)::int as addresses, coalesce(sum(leaf.households), 0)::int as households
           from sub left join leaf on leaf.code = sub.code group by sub.root`,
          [systemId, codes, systemId, reachDeg, systemId, codes, String(systemId), String(systemId)],
        )
      ).rows;
      return new Map(rows.map((r) => [r.root, { addresses: r.addresses, households: r.households }]));
    },

    /** The finest-level grids of every bank system (DOMAIN.md "Bank grids") meeting `area`. */
    async bankGridsIn(area: Bbox): Promise<{ systemId: number; system: string; name: string; code: string; level: string; geometry: Area }[]> {
      const rows: { system_id: number; key: string; system_name: string; code: string; level: string; geojson: string }[] = (
        await knex.raw(
          `select g.system_id, s.key, s.name as system_name, g.code, g.level, ST_AsGeoJSON(g.geom, 9) as geojson
           from grids g join grid_systems s on s.id = g.system_id
           where s.kind = 'bank' and g.geom && ST_MakeEnvelope(?::float8, ?::float8, ?::float8, ?::float8, 4326)
             and (select max((l ->> 'order')::int) from jsonb_array_elements(s.levels) l) = (select (l ->> 'order')::int from jsonb_array_elements(s.levels) l where l ->> 'key' = g.level)
           order by s.key, g.code`,
          [...area],
        )
      ).rows;
      return rows.map((r) => ({ systemId: r.system_id, system: r.key, name: r.system_name, code: r.code, level: r.level, geometry: JSON.parse(r.geojson) }));
    },

    /** The database's clock: history is stamped with transaction times, so "before" is asked of it. */
    async now(): Promise<string> {
      return iso((await knex.raw('select now() as t')).rows[0].t);
    },
  };
}

export type ChangesetQueries = ReturnType<typeof createChangesetQueries>;
