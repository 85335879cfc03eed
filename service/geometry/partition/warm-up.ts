import type { Polygon } from 'geojson';
import type { PartitionGrid, PartitionSystem } from './types';
import { validateSystem } from './validate-system';

const SYSTEM: PartitionSystem = { key: 'warm-up', levels: [{ key: 'parent', order: 1 }, { key: 'cell', order: 2 }], overlapPolicy: { maxDepth: 1 } };
const SIZE = 12;
const CELL = 0.01;

/**
 * Runs the validator's paths on a small made-up system (a parent tiled by 12 × 12 cells, one of them
 * shifted so an overlap, a gap and an invalid ring go through the overlay and the repair), so that a
 * freshly started validation worker has compiled its code before the first real validation: a cold
 * validation of US counties paid ~0.4 s of unoptimised code on top of the work (issue #15).
 *
 * @param rounds how many times to validate it
 */
export function warmUpValidator(rounds = 8): void {
  const { system, grids } = warmUpSystem();
  for (let i = 0; i < rounds; i++) validateSystem(system, grids, null, {});
}

/** The made-up system the warm-up validates. */
export function warmUpSystem(): { system: PartitionSystem; grids: PartitionGrid[] } {
  return { system: SYSTEM, grids: warmUpGrids() };
}

function warmUpGrids(): PartitionGrid[] {
  const square = (x0: number, y0: number, w: number, h: number, steps: number): Polygon => {
    // Edges carry intermediate vertices, shared with the neighbours, as real boundaries do.
    const ring: [number, number][] = [];
    for (let i = 0; i < steps; i++) ring.push([x0 + (w * i) / steps, y0]);
    for (let i = 0; i < steps; i++) ring.push([x0 + w, y0 + (h * i) / steps]);
    for (let i = 0; i < steps; i++) ring.push([x0 + w - (w * i) / steps, y0 + h]);
    for (let i = 0; i < steps; i++) ring.push([x0, y0 + h - (h * i) / steps]);
    ring.push([x0, y0]);
    return { type: 'Polygon', coordinates: [ring] };
  };
  const grids: PartitionGrid[] = [{ code: 'p', parentCode: null, level: 'parent', geometry: square(100, 30, SIZE * CELL, SIZE * CELL, SIZE * 2) }];
  for (let row = 0; row < SIZE; row++) {
    for (let column = 0; column < SIZE; column++) {
      const shift = row === 5 && column === 5 ? CELL / 3 : 0;
      grids.push({ code: `p${row}-${column}`, parentCode: 'p', level: 'cell', geometry: square(100 + column * CELL + shift, 30 + row * CELL, CELL, CELL, 2) });
    }
  }
  // A bow-tie: an invalid ring the repair rebuilds.
  const last = grids[grids.length - 1].geometry as Polygon;
  const [a, b, c, d] = last.coordinates[0].filter((_, i) => i % 2 === 0);
  last.coordinates = [[a, c, b, d, a]];
  return grids;
}
