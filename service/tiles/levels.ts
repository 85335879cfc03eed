import type { Level } from '../kernel/types';

/** How wide, in screen pixels, a level's median grid must be before the level is drawn and put in tiles. */
const MIN_PIXELS = 48;
/** MapLibre draws vector tiles 512 px wide, so at zoom z the world is 512·2^z px across. */
const TILE_PIXELS = 512;
/** A level without grids yet appears this many zooms after the level above it. */
const EMPTY_LEVEL_STEP = 2;

/**
 * The zoom from which each level of a system is drawn: the top level from zoom 0, every other level
 * once its median grid spans MIN_PIXELS, never before the level above it. Levels toggle by zoom
 * this way (issue #4) without hard-coding any system's levels (DOMAIN.md "levels are data per system"),
 * and a tile never carries thousands of grids too small to see.
 * @param levels - the system's levels, in any order
 * @param medianSize - per level key, the median grid's larger bbox side as a fraction of the Web Mercator world
 * @param maxzoom - the deepest zoom tiles are made for
 * @returns minzoom per level key
 * @example levelMinzooms([{ key: 'district', order: 1 }, { key: 'grid', order: 2 }], new Map([['grid', 1e-5]]), 18) // district 0, grid 14
 */
export function levelMinzooms(levels: Pick<Level, 'key' | 'order'>[], medianSize: ReadonlyMap<string, number>, maxzoom: number): Map<string, number> {
  const out = new Map<string, number>();
  let previous: number | null = null;
  for (const level of [...levels].sort((a, b) => a.order - b.order)) {
    const size = medianSize.get(level.key);
    let z: number;
    if (previous === null) z = 0;
    else if (size === undefined || !(size > 0)) z = previous + EMPTY_LEVEL_STEP;
    else z = Math.max(previous, Math.ceil(Math.log2(MIN_PIXELS / (TILE_PIXELS * size))));
    z = Math.min(maxzoom, Math.max(0, z));
    out.set(level.key, z);
    previous = z;
  }
  return out;
}

/** The median of a list of numbers (the lower middle one for an even count); undefined when empty. */
export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  return sorted[(sorted.length - 1) >> 1];
}
