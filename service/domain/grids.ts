import type { Knex } from 'knex';
import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import type { ChangeBus } from '../db/changes';
import { createGridQueries, type GridFilter, type GridWrite } from '../db/queries/grids';
import type { StoredSystem } from '../db/queries/systems';
import { AppError, badRequest, conflict, notFound } from '../errors';
import { childCode, readingOrder } from './codes';
import { checkStructure, parseGridFeatures, readPatchBody, type FeatureError } from './grid-input';
import type { SystemService } from './systems';
import type { GeometryIssue, Grid } from './types';

export type ImportMode = 'append' | 'replace';

export interface ImportOptions {
  mode: ImportMode;
  repair: boolean;
  /** Replace only the subtree below this grid (the grid itself is kept). */
  parent?: string;
}

export interface ImportResult {
  system: string;
  mode: ImportMode;
  inserted: number;
  deleted: number;
  flagged: { code: string; issues: GeometryIssue[] }[];
  repaired: { code: string; reason: string; areaBefore_m2: number; areaAfter_m2: number }[];
}

/** A grid as a GeoJSON Feature: `id` is the code; every field the API shows is a property. */
export function gridToFeature(g: Grid): Feature<Polygon | MultiPolygon> {
  return {
    type: 'Feature',
    id: g.code,
    geometry: g.geometry,
    properties: {
      system: g.system,
      code: g.code,
      name: g.name,
      level: g.level,
      parent: g.parentCode,
      type: g.type,
      people: g.people,
      ...g.attributes,
      valid_from: g.validFrom,
      valid_to: g.validTo,
      version: g.version,
      updated_at: g.updatedAt,
      geometry_issues: g.geometryIssues,
    },
  };
}

export const toCollection = (grids: Grid[]): FeatureCollection => ({ type: 'FeatureCollection', features: grids.map(gridToFeature) });

function rejectFeatures(errors: FeatureError[], what: string): never {
  const shown = errors.slice(0, 5).map((e) => e.message).join('; ');
  throw new AppError(
    422,
    'invalid_features',
    `${what}: ${errors.length} problem${errors.length === 1 ? '' : 's'} in ${new Set(errors.map((e) => e.index)).size} feature(s); nothing was stored. ${shown}${errors.length > 5 ? '; …' : ''}`,
    { errors },
  );
}

/** Extracts features from a GeoJSON body: a FeatureCollection, a Feature, or an array of Features. */
export function featuresOf(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  const b = body as { type?: unknown; features?: unknown };
  if (b && b.type === 'FeatureCollection') {
    if (!Array.isArray(b.features)) throw badRequest('invalid_geojson', 'FeatureCollection.features must be an array');
    return b.features;
  }
  if (b && b.type === 'Feature') return [b];
  throw badRequest('invalid_geojson', `expected a GeoJSON FeatureCollection or Feature, got ${b && typeof b === 'object' ? `type ${String(b.type)}` : typeof body}`);
}

/**
 * Work that must happen in the same transaction as a change to grids, e.g. re-assigning the addresses
 * the changed area can affect (issue #5). `bbox` covers old and new geometries; null means the system.
 */
export interface GridChangeHook {
  (trx: Knex.Transaction, system: StoredSystem, bbox: [number, number, number, number] | null): Promise<void>;
}

export function createGridService(knex: Knex, systems: SystemService, changes: ChangeBus, hooks: GridChangeHook[] = []) {
  async function afterChange(trx: Knex.Transaction, system: StoredSystem, bbox: [number, number, number, number] | null) {
    for (const hook of hooks) await hook(trx, system, bbox);
  }

  async function withSystem<T>(key: string, fn: (system: StoredSystem, q: ReturnType<typeof createGridQueries>) => Promise<T>): Promise<T> {
    const system = await systems.require(key);
    return fn(system, createGridQueries(knex, system.key, system.id));
  }

  async function requireGrid(q: ReturnType<typeof createGridQueries>, system: string, code: string) {
    const g = await q.get(code);
    if (!g) throw notFound('grid_not_found', `grid "${code}" does not exist in system "${system}"`);
    return g;
  }

  /**
   * Validity flags for geometries about to be stored, from PostGIS (ST_IsValidDetail) so both engines
   * and every later check agree on what "invalid" means.
   */
  async function detectInvalid(trx: Knex.Transaction, geometries: string[]): Promise<Map<number, GeometryIssue>> {
    const out = new Map<number, GeometryIssue>();
    for (let i = 0; i < geometries.length; i += 2000) {
      const rows: { n: number; reason: string; x: number | null; y: number | null; a: number | null }[] = (
        await trx.raw(
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
  }

  async function rawAreas(trx: Knex.Transaction, geometries: string[]): Promise<number[]> {
    if (geometries.length === 0) return [];
    const rows: { a: number | null }[] = (
      await trx.raw(
        `select ST_Area(ST_SetSRID(ST_GeomFromGeoJSON(g), 4326)::geography)::float8 as a from unnest(?::text[]) with ordinality as t(g, n) order by n`,
        [geometries],
      )
    ).rows;
    return rows.map((r) => r.a ?? 0);
  }

  return {
    async list(key: string, filter: GridFilter): Promise<Grid[]> {
      return withSystem(key, async (system, q) => {
        if (filter.level && !system.levels.some((l) => l.key === filter.level)) {
          throw badRequest('unknown_level', `level "${filter.level}" is not defined by system ${key}; expected one of ${system.levels.map((l) => l.key).join(', ')}`);
        }
        return q.list(filter);
      });
    },

    async get(key: string, code: string): Promise<Grid> {
      return withSystem(key, (_s, q) => requireGrid(q, key, code));
    },

    async children(key: string, code: string): Promise<Grid[]> {
      return withSystem(key, async (_s, q) => {
        await requireGrid(q, key, code);
        return q.list({ parent: code });
      });
    },

    async ancestors(key: string, code: string): Promise<Grid[]> {
      return withSystem(key, async (_s, q) => {
        await requireGrid(q, key, code);
        return q.ancestors(code);
      });
    },

    async subtree(key: string, code: string): Promise<Grid[]> {
      return withSystem(key, async (_s, q) => {
        const root = await requireGrid(q, key, code);
        return [root, ...(await q.subtree(code))];
      });
    },

    /**
     * Imports features atomically: every feature is checked first and all problems are listed; then one
     * transaction deletes what `replace` replaces and inserts everything, or nothing changes.
     */
    async import(key: string, features: unknown[], options: ImportOptions): Promise<ImportResult> {
      const system = await systems.require(key);
      if (features.length === 0) throw badRequest('empty_import', 'the import holds no features');
      const parsed = parseGridFeatures(system, features);
      return knex.transaction(async (trx) => {
        const q = createGridQueries(trx, system.key, system.id);
        let scope: Set<string> | null = null;
        if (options.parent) {
          const root = await q.get(options.parent);
          if (!root) throw notFound('grid_not_found', `parent grid "${options.parent}" does not exist in system "${key}"`);
          if (options.mode === 'replace') scope = new Set((await q.subtree(options.parent)).map((g) => g.code));
        }
        const codes = parsed.grids.map((g) => g.code);
        const parentCodes = [...new Set(parsed.grids.map((g) => g.parentCode).filter((c): c is string => c !== null))];
        const stored = await q.levelsOf([...new Set([...codes, ...parentCodes])]);
        const replacedAll = options.mode === 'replace' && !options.parent;
        const goingAway = (code: string) => replacedAll || (scope !== null && scope.has(code));
        const available = new Map([...stored].filter(([code]) => !goingAway(code)));
        const errors = [...parsed.errors];
        for (const g of parsed.grids) {
          if (available.has(g.code)) {
            errors.push({
              index: g.index,
              code: g.code,
              field: 'properties.code',
              error: 'duplicate_code',
              message: `feature ${g.index} (code ${g.code}): code ${g.code} already exists in system ${key}; use mode=replace or PUT to change it`,
            });
          }
        }
        errors.push(...checkStructure(system, parsed.grids, available));
        if (options.parent) {
          const inside = new Set([options.parent, ...parsed.grids.map((g) => g.code)]);
          for (const g of parsed.grids) {
            if (g.parentCode === null || !inside.has(g.parentCode)) {
              errors.push({
                index: g.index,
                code: g.code,
                field: 'properties.parent',
                error: 'outside_subtree',
                message: `feature ${g.index} (code ${g.code}): parent ${g.parentCode ?? '(none)'} is outside the subtree of ${options.parent} being imported`,
              });
            }
          }
        }
        if (errors.length > 0) rejectFeatures(errors.sort((a, b) => a.index - b.index), `import into system ${key} rejected`);

        const bboxBefore = replacedAll ? await q.bboxOf(null) : scope ? await q.bboxOf([...scope]) : null;
        let deleted = 0;
        if (replacedAll) deleted = await q.removeAll();
        else if (scope && scope.size > 0) deleted = await q.remove([...scope]);

        const texts = parsed.grids.map((g) => JSON.stringify(g.geometry));
        const invalid = await detectInvalid(trx, texts);
        const repairing = options.repair ? [...invalid.keys()] : [];
        const areasBefore = await rawAreas(trx, repairing.map((i) => texts[i]!));
        const rows: GridWrite[] = parsed.grids.map((g, i) => {
          const issue = invalid.get(i);
          const issues = [...g.geometryIssues, ...(issue ? [{ ...issue, ...(options.repair ? { repaired: true } : {}) }] : [])];
          return { ...g, geometryIssues: issues };
        });
        const ids = await q.insertMany(rows, false);
        // The parent foreign key is checked at commit, once per row, with a plan made from the table's
        // statistics; planned against a table that was empty, each check scans it (quadratic on 100,000
        // grids). Fresh statistics make every check an index lookup.
        if (ids.length >= 1000) await trx.raw('analyze grids');
        const repaired: ImportResult['repaired'] = [];
        if (repairing.length > 0) {
          const repairIds = repairing.map((i) => ids[i]!);
          await trx.raw(
            `update grids set geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3)) where id = any(?::bigint[])`,
            [repairIds],
          );
          const after = await q.areas(repairIds);
          repairing.forEach((i, k) =>
            repaired.push({
              code: rows[i]!.code,
              reason: invalid.get(i)!.reason,
              areaBefore_m2: round2(areasBefore[k]!),
              areaAfter_m2: round2(after.get(repairIds[k]!) ?? 0),
            }),
          );
        }
        const bboxAfter = await q.bboxOf(codes);
        const bbox = unionBbox(bboxBefore, bboxAfter);
        await afterChange(trx, system, replacedAll ? null : bbox);
        await changes.publish(trx, { kind: 'grids', system: key, codes: replacedAll ? [] : codes, bbox });
        return {
          system: key,
          mode: options.mode,
          inserted: ids.length,
          deleted,
          flagged: rows.filter((r) => r.geometryIssues.length > 0).map((r) => ({ code: r.code, issues: r.geometryIssues })),
          repaired,
        };
      });
    },

    /** Creates or replaces one grid (PUT). `expectedVersion` enables optimistic concurrency. */
    async put(key: string, code: string, body: unknown, options: { repair: boolean; expectedVersion: number | null }): Promise<{ grid: Grid; created: boolean }> {
      const system = await systems.require(key);
      const feature = { ...(body as object) } as Feature;
      if (!feature || feature.type !== 'Feature') throw badRequest('invalid_geojson', 'expected a GeoJSON Feature');
      const props = { ...(feature.properties ?? {}) } as Record<string, unknown>;
      if (props.code !== undefined && String(props.code) !== code) {
        throw badRequest('code_mismatch', `properties.code "${String(props.code)}" differs from the code in the URL "${code}"; rename with PATCH`);
      }
      props.code = code;
      return writeOne(system, code, { ...feature, properties: props }, options, 'put');
    },

    /** Changes some fields of one grid (PATCH): properties given replace those stored; geometry optional. */
    async patch(key: string, code: string, body: unknown, options: { repair: boolean; expectedVersion: number | null }): Promise<Grid> {
      const system = await systems.require(key);
      const current = await requireGrid(createGridQueries(knex, system.key, system.id), key, code);
      const b = readPatchBody(body, code);
      const merged = {
        ...gridToFeature(current).properties,
        geometry_issues: undefined,
        ...b.properties,
      } as Record<string, unknown>;
      const feature = { type: 'Feature', properties: merged, geometry: b.geometry ?? current.geometry };
      const expectedVersion = options.expectedVersion ?? (typeof b.properties.version === 'number' ? b.properties.version : null) ?? b.version ?? null;
      const geometryChanged = b.geometry !== undefined;
      const result = await writeOne(system, code, feature, { repair: options.repair, expectedVersion }, 'patch', geometryChanged ? null : current.geometryIssues);
      return result.grid;
    },

    /**
     * Numbers the children of `code` west→east, north→south (DB11/T 2157, CJ/T 349) under the system's
     * code scheme, renaming each child and the code prefix of all its descendants. `dryRun` only returns
     * the mapping.
     */
    async renumber(key: string, code: string, options: { dryRun: boolean }): Promise<{ parent: string; renamed: { from: string; to: string }[]; unchanged: number }> {
      const system = await systems.require(key);
      return knex.transaction(async (trx) => {
        const q = createGridQueries(trx, system.key, system.id);
        const parent = await requireGrid(q, key, code);
        const children: { id: number; code: string; level: string; cx: number; cy: number; h: number }[] = (
          await trx.raw(
            `select id, code, level, ST_X(ST_PointOnSurface(geom))::float8 as cx, ST_Y(ST_PointOnSurface(geom))::float8 as cy,
                    (ST_YMax(geom) - ST_YMin(geom))::float8 as h
             from grids where system_id = ? and parent_code = ? order by code`,
            [system.id, code],
          )
        ).rows;
        const ordered = readingOrder(children, (c) => [c.cx, c.cy], (c) => c.h);
        const mapping = new Map<string, string>();
        ordered.forEach((c, i) => {
          const level = system.levels.find((l) => l.key === c.level)!;
          try {
            mapping.set(c.code, childCode(system.codeScheme, system.levels, level, parent.code, i));
          } catch (err) {
            throw conflict('renumber_overflow', (err as Error).message);
          }
        });
        const renamed = [...mapping].filter(([from, to]) => from !== to).map(([from, to]) => ({ from, to }));
        if (options.dryRun || renamed.length === 0) return { parent: code, renamed, unchanged: children.length - renamed.length };
        // Every descendant of a renamed child keeps its own suffix under the new prefix.
        const rows: { id: number; code: string; root: string }[] = (
          await trx.raw(
            `with recursive down(id, code, root) as (
               select id, code, code from grids where system_id = ? and code = any(?::text[])
               union all
               select g.id, g.code, down.root from grids g join down on g.parent_code = down.code where g.system_id = ?)
             select id, code, root from down`,
            [system.id, renamed.map((r) => r.from), system.id],
          )
        ).rows;
        const next = rows.map((r) => {
          const to = mapping.get(r.root)!;
          return { id: Number(r.id), code: r.code.startsWith(r.root) ? to + r.code.slice(r.root.length) : r.code };
        });
        // Two steps through temporary codes, so swapping two children's codes never collides.
        await trx.raw(`update grids set code = '~renumber~' || id where id = any(?::bigint[])`, [next.map((n) => n.id)]);
        await trx.raw(
          `update grids g set code = m.code, version = g.version + 1, updated_at = now()
           from unnest(?::bigint[], ?::text[]) as m(id, code) where g.id = m.id`,
          [next.map((n) => n.id), next.map((n) => n.code)],
        );
        const bbox = await q.bboxOf([code]);
        await afterChange(trx, system, bbox);
        await changes.publish(trx, { kind: 'grids', system: key, codes: [...rows.map((r) => r.code), ...next.map((n) => n.code)], bbox });
        return { parent: code, renamed, unchanged: children.length - renamed.length };
      });
    },

    async remove(key: string, code: string, options: { cascade: boolean; expectedVersion: number | null }): Promise<{ deleted: string[] }> {
      const system = await systems.require(key);
      return knex.transaction(async (trx) => {
        const q = createGridQueries(trx, system.key, system.id);
        const current = await requireGrid(q, key, code);
        if (options.expectedVersion !== null && options.expectedVersion !== current.version) {
          throw conflict('version_conflict', `grid ${code} is at version ${current.version}, not ${options.expectedVersion}; reload and retry`);
        }
        const below = await q.subtree(code);
        if (below.length > 0 && !options.cascade) {
          throw conflict('grid_has_children', `grid ${code} has ${below.length} descendant grid(s); delete them first or pass cascade=true`, {
            children: below.filter((g) => g.parentCode === code).map((g) => g.code),
          });
        }
        const codes = [code, ...below.map((g) => g.code)];
        const bbox = await q.bboxOf(codes);
        await q.remove(codes);
        await afterChange(trx, system, bbox);
        await changes.publish(trx, { kind: 'grids', system: key, codes, bbox });
        return { deleted: codes };
      });
    },
  };

  async function writeOne(
    system: StoredSystem,
    code: string,
    feature: unknown,
    options: { repair: boolean; expectedVersion: number | null },
    verb: 'put' | 'patch',
    keepIssues: GeometryIssue[] | null = null,
  ): Promise<{ grid: Grid; created: boolean }> {
    const parsed = parseGridFeatures(system, [feature]);
    if (parsed.errors.length > 0) rejectFeatures(parsed.errors, `grid ${code} rejected`);
    const g = parsed.grids[0]!;
    return knex.transaction(async (trx) => {
      const q = createGridQueries(trx, system.key, system.id);
      const current = await q.get(code);
      if (!current && verb === 'patch') throw notFound('grid_not_found', `grid "${code}" does not exist in system "${system.key}"`);
      if (current && options.expectedVersion !== null && options.expectedVersion !== current.version) {
        throw conflict('version_conflict', `grid ${code} is at version ${current.version}, not ${options.expectedVersion}; reload and retry`);
      }
      if (g.code !== code) {
        if (await q.get(g.code)) throw conflict('duplicate_code', `code ${g.code} already exists in system ${system.key}`);
      }
      const parentLevels = g.parentCode ? await q.levelsOf([g.parentCode]) : new Map<string, string>();
      const structure = checkStructure(system, [g], parentLevels);
      if (structure.length > 0) rejectFeatures(structure, `grid ${code} rejected`);
      if (current && g.level !== current.level && (await q.hasChildren(code))) {
        throw conflict('grid_has_children', `grid ${code} has children; its level cannot change from ${current.level} to ${g.level}`);
      }
      let issues = g.geometryIssues;
      if (keepIssues) {
        issues = keepIssues;
      } else {
        const invalid = (await detectInvalid(trx, [JSON.stringify(g.geometry)])).get(0);
        if (invalid) issues = [...issues, { ...invalid, ...(options.repair ? { repaired: true } : {}) }];
      }
      const row = { ...g, geometryIssues: issues };
      const bboxBefore = current ? await q.bboxOf([code]) : null;
      if (current) {
        const id = await q.update(code, row, options.repair && !keepIssues, options.expectedVersion);
        if (id === null) throw conflict('version_conflict', `grid ${code} changed while it was being written; reload and retry`);
      } else {
        await q.insertMany([row], options.repair);
      }
      const bboxAfter = await q.bboxOf([g.code]);
      const bbox = unionBbox(bboxBefore, bboxAfter);
      await afterChange(trx, system, bbox);
      await changes.publish(trx, { kind: 'grids', system: system.key, codes: [...new Set([code, g.code])], bbox });
      return { grid: (await q.get(g.code))!, created: !current };
    });
  }
}

export type GridService = ReturnType<typeof createGridService>;

const round2 = (n: number) => Math.round(n * 100) / 100;

export function unionBbox(
  a: [number, number, number, number] | null,
  b: [number, number, number, number] | null,
): [number, number, number, number] | null {
  if (!a) return b;
  if (!b) return a;
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}
