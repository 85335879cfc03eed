import RBush from 'rbush';
import { area, bounds, difference, intersection, normalise as normaliseRings, shapeKey as shapeKeyOf, union, type Rings } from './boolean';

/**
 * What `arrange` derives from its input rings alone (normalised rings, shape keys), remembered by the
 * rings' identity: a caller arranging the same prepared input again skips the work. The remembered
 * values are never changed by `arrange`.
 */
export interface ArrangeMemo {
  clean: WeakMap<Rings, Rings>;
  keys: WeakMap<Rings, string>;
}

export function createArrangeMemo(): ArrangeMemo {
  return { clean: new WeakMap(), keys: new WeakMap() };
}

function remembered<T>(map: WeakMap<Rings, T>, rings: Rings, make: (rings: Rings) => T): T {
  let value = map.get(rings);
  if (value === undefined) map.set(rings, (value = make(rings)));
  return value;
}

/** Pieces smaller than this (steps², ≈ 0.001 m² at 1e-9° steps) are rounding noise of the integer overlay. */
const NOISE_STEPS2 = 1e5;

export interface Piece {
  /** Index of the unit the piece lies in; -1 outside every unit. */
  unit: number;
  /** Indices of the covering shapes, ascending. */
  cover: number[];
  rings: Rings;
}

export interface ArrangedUnit {
  rings: Rings;
  /** Known to lie inside the territory (a descendant of it in the same, validated system): no clipping needed. */
  within: boolean;
}

interface Entry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  piece: Piece;
  steps2: number;
  /** Shape key of the face's normalised rings, computed when first needed. */
  key: string | null;
  /** Shape key of the raw unit rings the face equals, if it does. */
  rawKey: string | null;
}

/**
 * The arrangement of a territory, cut by a partition into units, under a set of shapes (grids): the faces
 * where the same shapes cover the same unit, each with its covering shapes. Faces start as territory ∩
 * unit; each shape splits only the faces its box touches (rbush), into the part it covers and the rest,
 * until all of the shape's area is accounted for. A shape identical to a face (the same raw rings as the
 * face's unit, or the same normalised rings) covers it without an overlay.
 *
 * @param territory integer rings of the territory
 * @param units the units (a partition: they are assumed not to overlap)
 * @param shapes integer rings of the covering shapes
 * @param options.unitsOnly leave out the part of the territory outside every unit (a caller who may see only some units)
 * @returns the faces, noise pieces dropped
 */
export function arrange(territory: Rings, units: readonly ArrangedUnit[], shapes: readonly Rings[], options: { unitsOnly?: boolean; memo?: ArrangeMemo } = {}): Piece[] {
  const memo = options.memo ?? createArrangeMemo();
  const normalise = (rings: Rings) => remembered(memo.clean, rings, normaliseRings);
  const shapeKey = (rings: Rings) => remembered(memo.keys, rings, shapeKeyOf);
  const tree = new RBush<Entry>();
  const entries: Entry[] = [];
  const region = normalise(territory);
  const owned: Rings[] = [];
  units.forEach((unit, u) => {
    const rings = normalise(unit.rings);
    const own = unit.within ? rings : intersection(region, rings);
    if (area(own) <= NOISE_STEPS2) return;
    // A face that is the whole unit as given keeps the unit's raw rings' key: a grid drawn on the very same
    // boundary (a bank grid on a community) is then recognised before any normalisation or overlay.
    entries.push({ ...entry({ unit: u, cover: [], rings: own }), rawKey: unit.within ? shapeKey(unit.rings) : null });
    owned.push(own);
  });
  // Units are disjoint: when their areas add up to the territory's, nothing lies outside them.
  const ownedSteps2 = owned.reduce((sum, rings) => sum + area(rings), 0);
  const rest = options.unitsOnly || area(region) - ownedSteps2 <= NOISE_STEPS2 ? [] : difference(region, union(owned));
  if (area(rest) > NOISE_STEPS2) entries.push(entry({ unit: -1, cover: [], rings: rest }));
  tree.load(entries);

  shapes.forEach((shape, s) => {
    if (shape.length === 0) return;
    const [minX, minY, maxX, maxY] = bounds(shape);
    const candidates = tree.search({ minX, minY, maxX, maxY });
    const rawKey = candidates.some((f) => f.rawKey !== null) ? shapeKey(shape) : null;
    const same = candidates.find((f) => f.rawKey === rawKey && f.minX === minX && f.minY === minY && f.maxX === maxX && f.maxY === maxY);
    if (rawKey !== null && same) {
      same.piece.cover.push(s);
      return;
    }
    // Most overlapping boxes first: the face holding most of the shape is found early and the rest skipped.
    const overlap = (f: Entry) => Math.max(0, Math.min(f.maxX, maxX) - Math.max(f.minX, minX)) * Math.max(0, Math.min(f.maxY, maxY) - Math.max(f.minY, minY));
    candidates.sort((a, b) => overlap(b) - overlap(a));
    let rings: Rings | null = null;
    let key: string | null = null;
    /** What of the shape no face has taken yet: faces are disjoint, so the search can stop when it is spent. */
    let remaining = 0;
    for (const face of candidates) {
      const sameBox = face.minX === minX && face.minY === minY && face.maxX === maxX && face.maxY === maxY;
      if (rings === null) {
        rings = normalise(shape);
        remaining = area(rings);
      }
      if (remaining <= NOISE_STEPS2) break;
      if (sameBox) {
        key ??= shapeKey(rings);
        face.key ??= shapeKey(face.piece.rings);
        if (face.key === key) {
          face.piece.cover.push(s);
          break;
        }
      }
      const inside = intersection(face.piece.rings, rings);
      const insideSteps2 = area(inside);
      if (insideSteps2 <= NOISE_STEPS2) continue;
      remaining -= insideSteps2;
      if (face.steps2 - insideSteps2 <= NOISE_STEPS2) face.piece.cover.push(s);
      else {
        const outside = difference(face.piece.rings, rings);
        tree.remove(face);
        tree.insert(entry({ unit: face.piece.unit, cover: [...face.piece.cover, s], rings: inside }));
        if (area(outside) > NOISE_STEPS2) tree.insert(entry({ unit: face.piece.unit, cover: face.piece.cover, rings: outside }));
      }
      if (remaining <= NOISE_STEPS2) break;
    }
  });
  return tree.all().map((e) => e.piece);
}

function entry(piece: Piece): Entry {
  const [minX, minY, maxX, maxY] = bounds(piece.rings);
  return { minX, minY, maxX, maxY, piece, steps2: area(piece.rings), key: null, rawKey: null };
}
