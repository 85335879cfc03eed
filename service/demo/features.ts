import type { Feature, MultiPolygon } from 'geojson';
import type { GridProperties } from './types';

/** Every grid of the demo city starts on the same day. */
const VALID_FROM = '2024-01-01';

/** A grid as the generator builds it: its properties but the sums, and the lattice cells it covers. */
export interface GridRecord extends Omit<GridProperties, 'households' | 'population' | 'valid_from'> {
  cells: readonly number[];
}

/**
 * A grid feature with the properties in a fixed order (byte-identical output); households and population
 * are the sums over the grid's cells.
 */
export function gridFeature(
  record: GridRecord,
  geometry: MultiPolygon,
  households: Int32Array,
  population: Int32Array,
): Feature<MultiPolygon, GridProperties> {
  let h = 0;
  let p = 0;
  for (const c of record.cells) {
    h += households[c];
    p += population[c];
  }
  return {
    type: 'Feature',
    properties: {
      code: record.code,
      name: record.name,
      level: record.level,
      parent: record.parent,
      type: record.type,
      people: record.people,
      households: h,
      population: p,
      valid_from: VALID_FROM,
    },
    geometry,
  };
}

/** A child's code: the parent's code and its 1-based sequence padded to `width` digits. */
export function childCode(parent: string, index: number, width: number): string {
  const text = String(index + 1).padStart(width, '0');
  if (text.length > width) throw new RangeError(`cannot number ${index + 1} children under ${parent} with ${width} digits`);
  return parent + text;
}

/** Digits needed to number `count` children, at least `min`. */
export function widthFor(count: number, min: number): number {
  return Math.max(min, String(count).length);
}
