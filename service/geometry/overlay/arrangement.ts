import RBush from 'rbush';
import { area, bounds, difference, intersection, normalise, shapeKey, union, type Rings } from './boolean';

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
  key: string | null;
}

/**
 * The arrangement of a territory, cut by a partition into units, under a set of shapes (grids): the faces
 * where the same shapes cover the same unit, each with its covering shapes. Faces start as territory ∩
 * unit; each shape splits only the faces its box touches (rbush), into the part it covers and the rest.
 * A shape identical to a face (normalised rings equal) covers it without an overlay.
 *
 * @param territory integer rings of the territory
 * @param units the units (a partition: they are assumed not to overlap)
 * @param shapes integer rings of the covering shapes
 * @param options.unitsOnly leave out the part of the territory outside every unit (a caller who may see only some units)
 * @returns the faces, noise pieces dropped
 */
export function arrange(territory: Rings, units: readonly ArrangedUnit[], shapes: readonly Rings[], options: { unitsOnly?: boolean } = {}): Piece[] {
  const tree = new RBush<Entry>();
  const entries: Entry[] = [];
  const region = normalise(territory);
  const owned: Rings[] = [];
  units.forEach((unit, u) => {
    const rings = normalise(unit.rings);
    const own = unit.within ? rings : intersection(region, rings);
    if (area(own) <= NOISE_STEPS2) return;
    entries.push(entry({ unit: u, cover: [], rings: own }));
    owned.push(own);
  });
  const rest = options.unitsOnly ? [] : difference(region, union(owned));
  if (area(rest) > NOISE_STEPS2) entries.push(entry({ unit: -1, cover: [], rings: rest }));
  tree.load(entries);

  shapes.forEach((shape, s) => {
    const rings = normalise(shape);
    if (rings.length === 0) return;
    const [minX, minY, maxX, maxY] = bounds(rings);
    let key: string | null = null;
    for (const face of tree.search({ minX, minY, maxX, maxY })) {
      if (face.minX === minX && face.minY === minY && face.maxX === maxX && face.maxY === maxY) {
        key ??= shapeKey(rings);
        face.key ??= shapeKey(face.piece.rings);
        if (face.key === key) {
          face.piece.cover.push(s);
          continue;
        }
      }
      const inside = intersection(face.piece.rings, rings);
      const insideSteps2 = area(inside);
      if (insideSteps2 <= NOISE_STEPS2) continue;
      if (face.steps2 - insideSteps2 <= NOISE_STEPS2) {
        face.piece.cover.push(s);
        continue;
      }
      const outside = difference(face.piece.rings, rings);
      tree.remove(face);
      tree.insert(entry({ unit: face.piece.unit, cover: [...face.piece.cover, s], rings: inside }));
      if (area(outside) > NOISE_STEPS2) tree.insert(entry({ unit: face.piece.unit, cover: face.piece.cover, rings: outside }));
    }
  });
  return tree.all().map((e) => e.piece);
}

function entry(piece: Piece): Entry {
  const [minX, minY, maxX, maxY] = bounds(piece.rings);
  return { minX, minY, maxX, maxY, piece, steps2: area(piece.rings), key: null };
}
