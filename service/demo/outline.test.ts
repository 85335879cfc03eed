import { area } from '@turf/turf';
import { describe, expect, it } from 'vitest';
import { cellRing, createLattice } from './lattice';
import { createOutliner } from './outline';
import { createRandom } from './random';
import { partitionProblems, ringProblems } from './test-checks';

const lattice = createLattice(createRandom(7), 5, 5, [104.06, 30.66]);
const outline = createOutliner(lattice);
const cellsOf = (pattern: string[]) => pattern.flatMap((row, j) => [...row].flatMap((ch, i) => (ch === '#' ? [j * 5 + i] : [])));
const labelled = (cells: number[]) => {
  const label = new Int32Array(25).fill(-1);
  for (const c of cells) label[c] = 1;
  return label;
};
const cellArea = (cells: number[]) => cells.reduce((s, c) => s + area({ type: 'Polygon', coordinates: [cellRing(lattice, c)] }), 0);

describe('outline', () => {
  it.each([
    ['one cell', ['.....', '..#..', '.....', '.....', '.....'], 1, [1]],
    ['a block with a hole', ['.....', '.###.', '.#.#.', '.###.', '.....'], 1, [2]],
    ['two cells touching at a corner become two polygons', ['.....', '.#...', '..#..', '.....', '.....'], 2, [1, 1]],
    ['a hole touching the shell at a corner stays a hole', ['.....', '.###.', '.#.#.', '.##..', '.....'], 1, [2]],
    ['a fork with a notch', ['.....', '.#.#.', '.###.', '.##..', '.....'], 1, [1]],
  ])('%s', (_, pattern, polygons, rings) => {
    const cells = cellsOf(pattern);
    const geometry = outline(cells, labelled(cells), 1);
    expect(geometry.coordinates.length).toBe(polygons);
    expect(geometry.coordinates.map((p) => p.length)).toEqual(rings);
    expect(ringProblems(geometry)).toEqual([]);
    expect(area(geometry)).toBeCloseTo(cellArea(cells), 6);
    expect(partitionProblems(geometry, cells.map((c) => ({ type: 'MultiPolygon', coordinates: [[cellRing(lattice, c)]] })))).toEqual([]);
  });
});
