import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import { badRequest } from '../errors';
import type { GeometryIssue, GridSystem, GridWrite, Level, Person } from '../kernel/types';
import { checkCode } from '../systems';

/** One problem with one input feature; an import lists every one, not just the first. */
export interface FeatureError {
  index: number;
  code: string | null;
  field: string;
  error: string;
  message: string;
}

/**
 * Property names accepted on import. English names are what gridatlas exports; the Chinese and upper-case
 * aliases are what shapefiles from Chinese sources typically carry. DBF names are at most 10 characters.
 */
const ALIASES = {
  code: ['code', 'CODE', 'grid_code', '网格编码', '编码', '编号'],
  name: ['name', 'NAME', 'grid_name', '网格名称', '名称'],
  level: ['level', 'LEVEL', '层级', '级别'],
  parent: ['parent', 'parent_code', 'PARENT', 'parentcode', '上级编码', '上级网格'],
  type: ['type', 'TYPE', 'grid_type', '网格类型', '类型'],
  validFrom: ['valid_from', 'VALID_FROM', '划分日期', '起始日期'],
  validTo: ['valid_to', 'VALID_TO', '终止日期'],
  respName: ['resp_name', 'responsible', '责任人', '网格员'],
  respTitle: ['resp_title', 'responsible_title', '职务'],
  respPhone: ['resp_phone', 'responsible_phone', '联系电话', '电话'],
  helpers: ['helpers', '协管员'],
  people: ['people'],
} as const;
const KNOWN = new Set<string>([...Object.values(ALIASES).flat(), 'system', 'version', 'updated_at', 'geometry_issues']);

function pick(props: Record<string, unknown>, names: readonly string[]): unknown {
  for (const n of names) if (props[n] !== undefined && props[n] !== null && props[n] !== '') return props[n];
  return undefined;
}

const text = (v: unknown) => (v === undefined ? undefined : typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined);

export interface ParsedFeatures {
  grids: (GridWrite & { index: number })[];
  errors: FeatureError[];
}

export interface ParseOptions {
  /**
   * Imports (issue #15): an empty geometry (null, no polygons, only empty rings) is stored as an empty
   * grid, flagged (`store`: one empty polygon must not end a whole-country import), or is the row error
   * `empty_geometry` (`error`, strict mode). Unset, the geometry is only checked as a single write's is.
   */
  empty?: 'store' | 'error';
}

/** What one feature became: a grid (with `empty` set when its geometry is empty) or its errors. */
export type ParsedFeature = { grid: GridWrite & { index: number; empty: boolean }; errors: [] } | { grid: null; errors: FeatureError[] };

/**
 * Turns input features into grids of `system`, collecting every error. Checks what one feature (and the
 * file as a whole) can tell: codes, names, levels, geometry type and coordinate ranges, duplicate codes,
 * the code scheme against a parent in the same file. Parents elsewhere are checked by the caller.
 */
export function parseGridFeatures(system: GridSystem, features: unknown[], options: ParseOptions = {}): ParsedFeatures {
  const parse = featureParser(system, options);
  const errors: FeatureError[] = [];
  const grids: (GridWrite & { index: number })[] = [];
  features.forEach((raw, index) => {
    const one = parse(raw, index);
    if (one.grid) grids.push(one.grid);
    else errors.push(...one.errors);
  });
  return { grids, errors };
}

/**
 * A parser of features one at a time, for streamed imports: it remembers only the codes seen (duplicates
 * within the file), never the features.
 */
export function featureParser(system: GridSystem, options: ParseOptions = {}): (raw: unknown, index: number) => ParsedFeature {
  const levels = new Map(system.levels.map((l) => [l.key, l]));
  const seen = new Map<string, number>();

  return (raw, index) => {
    const errors: FeatureError[] = [];
    const fail = (code: string | null, field: string, error: string, message: string) =>
      errors.push({ index, code, field, error, message: `feature ${index}${code ? ` (code ${code})` : ''}: ${message}` });
    if (!raw || typeof raw !== 'object' || (raw as Feature).type !== 'Feature') {
      fail(null, 'type', 'not_a_feature', 'expected a GeoJSON Feature object');
      return { grid: null, errors };
    }
    const feature = raw as Feature;
    const props = (feature.properties ?? {}) as Record<string, unknown>;
    const code = text(pick(props, ALIASES.code)) ?? (typeof feature.id === 'string' ? feature.id : undefined);
    if (!code) {
      fail(null, 'properties.code', 'missing_code', 'properties.code is missing; every grid needs a code');
      return { grid: null, errors };
    }
    if (code.length > 64 || /[\s/?#]/.test(code)) fail(code, 'properties.code', 'invalid_code', 'a code is at most 64 characters without spaces, "/", "?" or "#"');
    if (seen.has(code)) fail(code, 'properties.code', 'duplicate_code', `code ${code} also appears at feature ${seen.get(code)}`);
    else seen.set(code, index);

    const name = text(pick(props, ALIASES.name));
    if (!name) fail(code, 'properties.name', 'missing_name', 'properties.name is missing');
    const levelKey = text(pick(props, ALIASES.level));
    const level = levelKey ? levels.get(levelKey) : undefined;
    if (!levelKey) fail(code, 'properties.level', 'missing_level', `properties.level is missing; expected one of ${[...levels.keys()].join(', ')}`);
    else if (!level) fail(code, 'properties.level', 'unknown_level', `level "${levelKey}" is not defined by system ${system.key}; expected one of ${[...levels.keys()].join(', ')}`);
    const parentCode = text(pick(props, ALIASES.parent)) ?? null;
    if (parentCode === code) fail(code, 'properties.parent', 'self_parent', 'a grid cannot be its own parent');

    const dates = (['validFrom', 'validTo'] as const).map((k) => {
      const v = text(pick(props, ALIASES[k]));
      if (v !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(v.slice(0, 10))) {
        fail(code, `properties.${k === 'validFrom' ? 'valid_from' : 'valid_to'}`, 'invalid_date', `"${v}" is not a date; expected YYYY-MM-DD`);
      }
      return v ? v.slice(0, 10) : null;
    });

    const people = parsePeople(props, (field, message) => fail(code, field, 'invalid_people', message));
    const empty = options.empty !== undefined && isEmptyGeometry(feature.geometry);
    if (empty && options.empty === 'error') fail(code, 'geometry', 'empty_geometry', 'the geometry is empty (strict import); give the grid its boundary or import without strict=true');
    const geometry = !empty
      ? normaliseGeometry(feature.geometry, (field, error, message) => fail(code, field, error, message))
      : options.empty === 'store'
        ? { geometry: { type: 'MultiPolygon', coordinates: [] } as MultiPolygon, issues: [{ reason: EMPTY_REASON, location: null }] }
        : null;
    if (errors.length > 0 || !level || !name || !geometry) return { grid: null, errors };

    const attributes: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props)) if (!KNOWN.has(k) && v !== null && v !== undefined) attributes[k] = v;
    const grid = {
      index,
      empty,
      code,
      parentCode,
      level: level.key,
      name,
      type: text(pick(props, ALIASES.type)) ?? null,
      people,
      attributes,
      geometry: geometry.geometry,
      geometryIssues: geometry.issues,
      validFrom: dates[0]!,
      validTo: dates[1]!,
    };
    return { grid, errors: [] };
  };
}

/**
 * Structure of a set of grids against the system and the grids already stored: a parent must exist (in
 * the set or stored), sit exactly one level up, the top level has no parent, and codes follow the scheme.
 */
export function checkStructure(
  system: GridSystem,
  grids: Pick<GridWrite & { index: number }, 'index' | 'code' | 'parentCode' | 'level'>[],
  storedLevels: Map<string, string>,
): FeatureError[] {
  const errors: FeatureError[] = [];
  const levels = new Map(system.levels.map((l) => [l.key, l]));
  const top = system.levels[0]!;
  const inSet = new Map(grids.map((g) => [g.code, g.level]));
  for (const g of grids) {
    const level = levels.get(g.level)!;
    const fail = (field: string, error: string, message: string) =>
      errors.push({ index: g.index, code: g.code, field, error, message: `feature ${g.index} (code ${g.code}): ${message}` });
    if (g.parentCode === null) {
      if (level.order !== top.order) fail('properties.parent', 'missing_parent', `a grid at level ${level.key} needs a parent code`);
      continue;
    }
    if (level.order === top.order) {
      fail('properties.parent', 'unexpected_parent', `level ${level.key} is the top level of system ${system.key}; it has no parent`);
      continue;
    }
    const parentLevelKey = inSet.get(g.parentCode) ?? storedLevels.get(g.parentCode);
    if (parentLevelKey === undefined) {
      fail('properties.parent', 'unknown_parent', `parent code ${g.parentCode} is neither in this import nor stored in system ${system.key}`);
      continue;
    }
    const expected = parentLevelOf(system.levels, level);
    if (expected && parentLevelKey !== expected.key) {
      fail('properties.level', 'level_mismatch', `level ${level.key} must sit under level ${expected.key}, but parent ${g.parentCode} is at level ${parentLevelKey}`);
      continue;
    }
    const codeProblem = checkCode(system.codeScheme, system.levels, level, g.code, g.parentCode);
    if (codeProblem) fail('properties.code', 'code_scheme', `code ${g.code} does not follow scheme ${system.codeScheme.type}: expected ${codeProblem}`);
  }
  return errors;
}

function parentLevelOf(levels: Level[], level: Level): Level | undefined {
  return [...levels].filter((l) => l.order < level.order).sort((a, b) => b.order - a.order)[0];
}

function parsePeople(props: Record<string, unknown>, fail: (field: string, message: string) => void): Person[] {
  let raw = pick(props, ALIASES.people);
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      fail('properties.people', 'people is a string that is not JSON; expected an array of {name, role, title, phone}');
      return [];
    }
  }
  if (raw !== undefined) {
    if (!Array.isArray(raw)) {
      fail('properties.people', 'expected an array of {name, role, title, phone}');
      return [];
    }
    const out: Person[] = [];
    raw.forEach((p, i) => {
      const person = p as Record<string, unknown>;
      if (!person || typeof person.name !== 'string' || person.name.trim() === '') {
        fail(`properties.people[${i}].name`, 'every person needs a name');
        return;
      }
      const role = person.role === 'helper' ? 'helper' : 'responsible';
      out.push({
        name: person.name.trim(),
        role,
        ...(typeof person.title === 'string' && person.title ? { title: person.title } : {}),
        ...(person.phone !== undefined && person.phone !== null && person.phone !== '' ? { phone: String(person.phone) } : {}),
        ...(typeof person.photoUrl === 'string' && person.photoUrl ? { photoUrl: person.photoUrl } : {}),
      });
    });
    return out;
  }
  const out: Person[] = [];
  const name = text(pick(props, ALIASES.respName));
  if (name) {
    const title = text(pick(props, ALIASES.respTitle));
    const phone = text(pick(props, ALIASES.respPhone));
    out.push({ name, role: 'responsible', ...(title ? { title } : {}), ...(phone ? { phone } : {}) });
  }
  const helpers = text(pick(props, ALIASES.helpers));
  if (helpers) for (const h of helpers.split(/[,，、;；]/).map((s) => s.trim()).filter(Boolean)) out.push({ name: h, role: 'helper' });
  return out;
}

type GeometryFail = (field: string, error: string, message: string) => void;

/** The flag an import puts on a grid whose geometry was empty (`ParseOptions.allowEmpty`). */
export const EMPTY_REASON = 'Empty geometry: stored without area; draw the grid or replace it';

/** Null, no polygons, or polygons whose rings are all empty: nothing to draw (GeoJSON allows it). */
export function isEmptyGeometry(geometry: unknown): boolean {
  if (geometry === null || geometry === undefined) return true;
  const g = geometry as { type?: unknown; coordinates?: unknown };
  if ((g.type !== 'Polygon' && g.type !== 'MultiPolygon') || !Array.isArray(g.coordinates)) return false;
  const polygons = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as unknown[];
  return polygons.every((rings) => Array.isArray(rings) && rings.every((ring) => Array.isArray(ring) && ring.length === 0));
}

/**
 * Checks the geometry's shape and coordinates, and closes unclosed rings (flagged). Self-intersections,
 * collapsed rings and the like are not errors here: they are stored as given and flagged (issue #2).
 */
export function normaliseGeometry(
  geometry: unknown,
  fail: GeometryFail,
): { geometry: Polygon | MultiPolygon; issues: GeometryIssue[] } | null {
  if (!geometry || typeof geometry !== 'object') {
    fail('geometry', 'missing_geometry', 'geometry is missing; expected a Polygon or MultiPolygon');
    return null;
  }
  const g = geometry as { type?: unknown; coordinates?: unknown };
  if (g.type !== 'Polygon' && g.type !== 'MultiPolygon') {
    fail('geometry.type', 'invalid_geometry_type', `geometry type ${String(g.type)} is not allowed; expected Polygon or MultiPolygon`);
    return null;
  }
  const polygons = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as unknown;
  if (!Array.isArray(polygons)) {
    fail('geometry.coordinates', 'invalid_coordinates', 'geometry.coordinates must be an array');
    return null;
  }
  const issues: GeometryIssue[] = [];
  const out: Position[][][] = [];
  for (let p = 0; p < polygons.length; p++) {
    const rings = polygons[p];
    if (!Array.isArray(rings) || rings.length === 0) {
      fail(`geometry.coordinates[${p}]`, 'invalid_coordinates', 'a polygon must be an array of rings');
      return null;
    }
    const polygon: Position[][] = [];
    for (let r = 0; r < rings.length; r++) {
      const ring = rings[r];
      if (!Array.isArray(ring)) {
        fail(`geometry.coordinates[${p}][${r}]`, 'invalid_coordinates', 'a ring must be an array of positions');
        return null;
      }
      const positions: Position[] = [];
      for (let i = 0; i < ring.length; i++) {
        const pos = ring[i];
        if (!Array.isArray(pos) || pos.length < 2 || typeof pos[0] !== 'number' || typeof pos[1] !== 'number' || !Number.isFinite(pos[0]) || !Number.isFinite(pos[1])) {
          fail(`geometry.coordinates[${p}][${r}][${i}]`, 'invalid_coordinates', `position ${JSON.stringify(pos)} is not [lon, lat] numbers`);
          return null;
        }
        if (pos[0] < -180 || pos[0] > 180 || pos[1] < -90 || pos[1] > 90) {
          fail(
            `geometry.coordinates[${p}][${r}][${i}]`,
            'coordinates_out_of_range',
            `position [${pos[0]}, ${pos[1]}] is outside lon -180..180, lat -90..90; expected EPSG:4326 (WGS84/CGCS2000) degrees`,
          );
          return null;
        }
        positions.push([pos[0], pos[1]]);
      }
      if (positions.length === 0) {
        fail(`geometry.coordinates[${p}][${r}]`, 'invalid_coordinates', 'a ring has no positions');
        return null;
      }
      const first = positions[0]!;
      const last = positions[positions.length - 1]!;
      if (first[0] !== last[0] || first[1] !== last[1]) {
        positions.push([first[0]!, first[1]!]);
        issues.push({ reason: `Unclosed ring (polygon ${p}, ring ${r}) closed on import`, location: [first[0]!, first[1]!] });
      }
      polygon.push(positions);
    }
    out.push(polygon);
  }
  return { geometry: { type: 'MultiPolygon', coordinates: out }, issues };
}

/**
 * Fields of a grid that PATCH also accepts at the top level of the body, as documented aliases of
 * `properties.<name>` (issue #16: a flat `{"name": …}` was silently ignored). `type` is not among them: at the
 * top level it is GeoJSON's `"Feature"`; the grid's type goes in `properties.type`.
 */
export const PATCH_FLAT_FIELDS = ['code', 'name', 'level', 'parent', 'valid_from', 'valid_to', 'people'] as const;

/** Members a PATCH body may carry besides the flat fields: GeoJSON's own, and the expected version. */
const PATCH_MEMBERS = new Set(['type', 'id', 'bbox', 'properties', 'geometry', 'version']);

export interface PatchInput {
  properties: Record<string, unknown>;
  geometry: unknown;
  version: number | undefined;
}

/**
 * Reads a PATCH body: a GeoJSON Feature (or part of one) whose flat grid fields are moved into
 * `properties`. An unknown top-level field, a field given both flat and in `properties`, or a feature `id`
 * other than the grid's code is a 400 naming the field, never ignored.
 */
export function readPatchBody(body: unknown, code: string): PatchInput {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('invalid_request', 'expected an object with properties and/or geometry');
  const b = body as Record<string, unknown>;
  const flat = new Set<string>(PATCH_FLAT_FIELDS);
  const unknown = Object.keys(b).filter((k) => !PATCH_MEMBERS.has(k) && !flat.has(k));
  if (unknown.length > 0) {
    throw badRequest(
      'unknown_field',
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; a grid's own attributes go in properties, and the top level accepts ${[...PATCH_MEMBERS, ...flat].join(', ')}`,
      unknown.map((field) => ({ field, message: 'unknown field' })),
    );
  }
  if (b.type !== undefined && b.type !== 'Feature') {
    throw badRequest('invalid_request', `type: at the top level it is GeoJSON's "Feature", not "${String(b.type)}"; the grid's type goes in properties.type`, [{ field: 'type', message: 'expected "Feature"' }]);
  }
  if (b.properties !== undefined && (b.properties === null || typeof b.properties !== 'object' || Array.isArray(b.properties))) {
    throw badRequest('invalid_request', 'properties: expected an object', [{ field: 'properties', message: 'expected an object' }]);
  }
  if (b.id !== undefined && String(b.id) !== code) {
    throw badRequest('invalid_request', `id "${String(b.id)}" differs from the code in the URL "${code}"; rename with properties.code`, [{ field: 'id', message: 'differs from the URL' }]);
  }
  if (b.version !== undefined && (typeof b.version !== 'number' || !Number.isInteger(b.version))) {
    throw badRequest('invalid_request', 'version: expected an integer', [{ field: 'version', message: 'expected an integer' }]);
  }
  const properties = { ...((b.properties as Record<string, unknown> | undefined) ?? {}) };
  for (const field of PATCH_FLAT_FIELDS) {
    if (b[field] === undefined) continue;
    if (properties[field] !== undefined) {
      throw badRequest('invalid_request', `${field} is given both at the top level and in properties; give it once`, [{ field, message: 'given twice' }]);
    }
    properties[field] = b[field];
  }
  return { properties, geometry: b.geometry, version: b.version as number | undefined };
}
