import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { InputError } from '../kernel/errors';

export type Area = Polygon | MultiPolygon;

/** A grid feature as grid import takes it (properties.code, name, level, parent …; a polygonal geometry). */
export type GridFeature = Feature<Area | null, Record<string, unknown>>;

/**
 * One proposed change of a changeset (issue #14). Every operation names the grids it acts on by their
 * code as it stands after the operations before it; geometries are GeoJSON in EPSG:4326.
 * - redraw: new geometry (and optionally properties) for existing grids, e.g. a moved shared boundary;
 * - split: one grid into the parts given (a part may keep the grid's code; level and parent default to it);
 * - merge: several siblings into one grid (`into.code` may be one of them or a new code);
 * - add: new grids (level and parent required, as in an import);
 * - remove: a grid whose area goes to named neighbours (their new geometries given, or with one
 *   neighbour computed as the union);
 * - reparent: a grid moves under another parent; rename: a new name and/or a new code.
 */
export type Operation =
  | { op: 'redraw'; grids: GridFeature[] }
  | { op: 'split'; code: string; into: GridFeature[] }
  | { op: 'merge'; codes: string[]; into: { code: string; name?: string }; geometry?: Area }
  | { op: 'add'; grids: GridFeature[] }
  | { op: 'remove'; code: string; giveTo: string[]; grids?: GridFeature[] }
  | { op: 'reparent'; code: string; parent: string }
  | { op: 'rename'; code: string; name?: string; newCode?: string };

/** A grid as the planner holds it: where it stands after the operations so far. */
export interface PlanGrid {
  code: string;
  parentCode: string | null;
  level: string;
  name: string;
  geometry: Area;
  /** Properties to write besides code, name, level, parent (from the features of the operations). */
  properties: Record<string, unknown>;
  /** The stored grid this one continues (its code before the changeset), null for a new grid. */
  origin: string | null;
  touched: boolean;
}

export interface Plan {
  /** Every grid the planner knows after the operations (the base families with the changes). */
  grids: Map<string, PlanGrid>;
  /** Stored grids that go away. */
  removed: string[];
  /** Grids that change or are new, in the order they should be written (parents first). */
  changed: PlanGrid[];
  recoded: { from: string; to: string }[];
}

export interface PlanContext {
  /** The levels of the system, by key, with their order (1 = top). */
  levels: Map<string, number>;
  /** Whether a code exists in the system outside the grids given to the planner. */
  existsElsewhere: (code: string) => boolean;
  /** Codes that existed once and were retired: never reused (issue #14). */
  retired: Set<string>;
}

const fail = (index: number, message: string): never => {
  throw new InputError('invalid_operation', `operation ${index}: ${message}`, { operation: index });
};

const isArea = (g: unknown): g is Area => {
  const t = (g as { type?: unknown } | null)?.type;
  return t === 'Polygon' || t === 'MultiPolygon';
};

/**
 * Applies operations to the base grids in memory; nothing is stored. Throws InputError
 * `invalid_operation` naming the operation that cannot apply (unknown code, code in use or retired,
 * missing geometry, a grid left without its parent).
 * @param base the stored grids of the families the operations touch
 * @param operations in order
 * @param ctx the system's levels and the codes outside `base`
 * @returns the grids after the operations and what changed
 */
export function planOperations(base: PlanGrid[], operations: Operation[], ctx: PlanContext): Plan {
  const grids = new Map(base.map((g) => [g.code, { ...g }]));
  const removed = new Set<string>();
  const recoded: { from: string; to: string }[] = [];
  const baseCodes = new Set(base.map((g) => g.code));

  const need = (i: number, code: string): PlanGrid => grids.get(code) ?? fail(i, `grid ${code} does not exist${removed.has(code) ? ' any more (removed by an earlier operation)' : ''}`);
  const free = (i: number, code: string) => {
    if (!code) fail(i, 'a grid code is empty');
    if (grids.has(code) || ctx.existsElsewhere(code)) fail(i, `code ${code} is already in use`);
    if (ctx.retired.has(code) || baseCodes.has(code)) fail(i, `code ${code} was used before and is retired; retired codes are never reused`);
  };
  const drop = (code: string) => {
    const g = grids.get(code)!;
    grids.delete(code);
    if (g.origin !== null) removed.add(g.origin);
  };
  const propsOf = (f: GridFeature) => {
    const { code: _c, name: _n, level: _l, parent: _p, ...rest } = f.properties ?? {};
    return rest;
  };
  const codeOf = (i: number, f: GridFeature, k: number) => {
    const c = f.properties?.code;
    return typeof c === 'string' || typeof c === 'number' ? String(c) : fail(i, `feature ${k} has no properties.code`);
  };
  const areaOf = (i: number, f: GridFeature, k: number): Area => (isArea(f.geometry) ? f.geometry : fail(i, `feature ${k} needs a Polygon or MultiPolygon geometry`));
  const created = (i: number, f: GridFeature, k: number, defaults: { level?: string; parentCode?: string | null }): PlanGrid => {
    const code = codeOf(i, f, k);
    free(i, code);
    const p = f.properties ?? {};
    const level = typeof p.level === 'string' ? p.level : defaults.level ?? fail(i, `feature ${k} (code ${code}) needs properties.level`);
    if (!ctx.levels.has(level)) fail(i, `level ${level} of ${code} is not a level of the system`);
    const parentCode = p.parent === undefined ? defaults.parentCode ?? null : p.parent === null ? null : String(p.parent);
    return { code, parentCode, level, name: typeof p.name === 'string' ? p.name : code, geometry: areaOf(i, f, k), properties: propsOf(f), origin: null, touched: true };
  };

  operations.forEach((op, i) => {
    switch (op.op) {
      case 'redraw':
        if (op.grids.length === 0) fail(i, 'redraw names no grids');
        op.grids.forEach((f, k) => {
          const g = need(i, codeOf(i, f, k));
          g.geometry = areaOf(i, f, k);
          if (typeof f.properties?.name === 'string') g.name = f.properties.name;
          Object.assign(g.properties, propsOf(f));
          g.touched = true;
        });
        break;
      case 'split': {
        const whole = need(i, op.code);
        if (op.into.length < 2) fail(i, `a split of ${op.code} needs at least two parts`);
        let kept = false;
        const parts = op.into.map((f, k) => {
          if (codeOf(i, f, k) !== op.code) return created(i, f, k, { level: whole.level, parentCode: whole.parentCode });
          kept = true;
          whole.geometry = areaOf(i, f, k);
          whole.touched = true;
          return whole;
        });
        for (const p of parts) if (p !== whole) grids.set(p.code, p);
        if (!kept) drop(op.code);
        break;
      }
      case 'merge': {
        if (op.codes.length < 2) fail(i, 'a merge needs at least two grids');
        const merged = op.codes.map((c) => need(i, c));
        const first = merged[0]!;
        if (merged.some((g) => g.parentCode !== first.parentCode || g.level !== first.level)) fail(i, `grids ${op.codes.join(', ')} are not siblings at one level`);
        if (!op.geometry) fail(i, 'merge has no geometry');
        let target = grids.get(op.into.code);
        if (target && !op.codes.includes(op.into.code)) fail(i, `code ${op.into.code} is already in use`);
        if (!target) {
          free(i, op.into.code);
          target = { ...first, code: op.into.code, name: op.into.name ?? op.into.code, properties: {}, origin: null };
          grids.set(target.code, target);
        }
        target.geometry = op.geometry!;
        if (op.into.name) target.name = op.into.name;
        target.touched = true;
        for (const g of merged) if (g !== target) drop(g.code);
        for (const g of grids.values()) {
          if (g.parentCode !== null && op.codes.includes(g.parentCode) && g.parentCode !== target.code) {
            g.parentCode = target.code;
            g.touched = true;
          }
        }
        break;
      }
      case 'add':
        if (op.grids.length === 0) fail(i, 'add names no grids');
        op.grids.forEach((f, k) => {
          const g = created(i, f, k, {});
          grids.set(g.code, g);
        });
        break;
      case 'remove': {
        need(i, op.code);
        if (op.giveTo.length === 0) fail(i, `the area of ${op.code} must go to at least one neighbour (giveTo)`);
        const given = new Map((op.grids ?? []).map((f, k) => [codeOf(i, f, k), areaOf(i, f, k)]));
        for (const c of op.giveTo) {
          const n = need(i, c);
          const geometry = given.get(c) ?? fail(i, `the new geometry of neighbour ${c} is missing`);
          n.geometry = geometry;
          n.touched = true;
        }
        drop(op.code);
        break;
      }
      case 'reparent': {
        const g = need(i, op.code);
        if (!grids.has(op.parent) && !ctx.existsElsewhere(op.parent)) fail(i, `parent ${op.parent} does not exist`);
        g.parentCode = op.parent;
        g.touched = true;
        break;
      }
      case 'rename': {
        const g = need(i, op.code);
        if (op.name === undefined && op.newCode === undefined) fail(i, 'rename needs a name or a newCode');
        if (op.name !== undefined) g.name = op.name;
        if (op.newCode !== undefined && op.newCode !== op.code) {
          free(i, op.newCode);
          grids.delete(op.code);
          g.code = op.newCode;
          grids.set(g.code, g);
          for (const c of grids.values()) if (c.parentCode === op.code) c.parentCode = op.newCode;
          if (g.origin !== null) recoded.push({ from: g.origin, to: g.code });
        }
        g.touched = true;
        break;
      }
    }
  });

  for (const g of grids.values()) {
    if (g.parentCode === null) continue;
    if (!grids.has(g.parentCode) && (removed.has(g.parentCode) || !ctx.existsElsewhere(g.parentCode))) {
      fail(operations.length - 1, `grid ${g.code} would be left without its parent ${g.parentCode}; reparent it in this changeset`);
    }
  }
  const changed = [...grids.values()]
    .filter((g) => g.touched)
    .sort((a, b) => (ctx.levels.get(a.level) ?? 0) - (ctx.levels.get(b.level) ?? 0) || (a.origin === null ? 1 : 0) - (b.origin === null ? 1 : 0) || (a.code < b.code ? -1 : 1));
  return { grids, removed: [...removed].sort(), changed, recoded };
}
