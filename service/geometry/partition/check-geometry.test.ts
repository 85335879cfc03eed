import type { MultiPolygon, Polygon, Position } from 'geojson';
import { describe, expect, it } from 'vitest';
import { inspectGeometry } from './check-geometry';
import { checkGeometry } from './index';

const polygon = (...rings: Position[][]): Polygon => ({ type: 'Polygon', coordinates: rings });
const square = (x: number, y: number, size: number): Position[] => [
  [x, y],
  [x + size, y],
  [x + size, y + size],
  [x, y + size],
  [x, y],
];

/** Case table: geometry → the problems expected (reason pattern and location). */
const cases: { name: string; geometry: Polygon | MultiPolygon | null; expected: { reason: RegExp; location: [number, number] | null }[] }[] = [
  { name: 'valid square', geometry: polygon(square(116, 39, 0.01)), expected: [] },
  { name: 'valid square wound clockwise', geometry: polygon([...square(116, 39, 0.01)].reverse()), expected: [] },
  { name: 'valid polygon with a hole touching the shell at a point', geometry: polygon(square(0, 0, 4), [[0, 2], [1, 1], [1, 3], [0, 2]]), expected: [] },
  { name: 'null', geometry: null, expected: [{ reason: /^geometry is empty$/, location: null }] },
  { name: 'no rings', geometry: polygon(), expected: [{ reason: /^geometry is empty$/, location: null }] },
  {
    name: 'bow-tie',
    geometry: polygon([[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]),
    expected: [{ reason: /^shell crosses itself$/, location: [1, 1] }],
  },
  {
    name: 'ring touching itself at a vertex',
    geometry: polygon([[0, 0], [4, 0], [4, 4], [2, 4], [2, 0], [1, 2], [0, 0]].map((p) => p as Position)),
    expected: [{ reason: /^shell touches itself$/, location: [2, 0] }],
  },
  { name: 'unclosed ring', geometry: polygon([[0, 0], [1, 0], [1, 1], [0, 1]]), expected: [{ reason: /^shell is not closed$/, location: [0, 0] }] },
  {
    name: 'ring with too few points',
    geometry: polygon([[0, 0], [1, 0], [0, 0]]),
    expected: [{ reason: /^shell has too few points: 2 distinct positions/, location: [0, 0] }],
  },
  // Repeated consecutive positions are valid for OGC and PostGIS (issue #15): counted, not a problem.
  { name: 'repeated consecutive vertex', geometry: polygon([[0, 0], [1, 0], [1, 0], [1, 1], [0, 1], [0, 0]]), expected: [] },
  { name: 'repeated closing vertex', geometry: polygon([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0], [0, 0]]), expected: [] },
  { name: 'near-repeated vertex (closer than the 1e-9° step)', geometry: polygon([[0, 0], [1, 0], [1 + 1e-12, 1e-12], [1, 1], [0, 1], [0, 0]]), expected: [] },
  {
    name: 'spike',
    geometry: polygon([[0, 0], [1, 0], [1, 0.5], [1.5, 0.5], [1, 0.5], [1, 1], [0, 1], [0, 0]]),
    expected: [{ reason: /^shell has a spike$/, location: [1.5, 0.5] }],
  },
  {
    name: 'hole crossing the shell',
    geometry: polygon(square(0, 0, 2), square(1, 1, 2)),
    expected: [
      { reason: /^shell and hole 1 cross$/, location: [1, 2] },
      { reason: /^shell and hole 1 cross$/, location: [2, 1] },
    ],
  },
  { name: 'hole outside its shell', geometry: polygon(square(0, 0, 1), square(5, 5, 1)), expected: [{ reason: /^hole 1 lies outside its shell$/, location: [5, 5] }] },
  {
    name: 'hole inside another hole',
    geometry: polygon(square(0, 0, 10), square(1, 1, 5), square(2, 2, 1)),
    expected: [{ reason: /^hole 2 lies inside hole 1$/, location: [2, 2] }],
  },
  {
    name: 'overlapping parts of a MultiPolygon',
    geometry: { type: 'MultiPolygon', coordinates: [[square(0, 0, 2)], [square(1, 1, 2)]] },
    expected: [
      { reason: /^polygons 1 and 2 of the MultiPolygon overlap$/, location: [1, 2] },
      { reason: /^polygons 1 and 2 of the MultiPolygon overlap$/, location: [2, 1] },
    ],
  },
  {
    name: 'nested parts of a MultiPolygon',
    geometry: { type: 'MultiPolygon', coordinates: [[square(0, 0, 10)], [square(2, 2, 1)]] },
    expected: [{ reason: /^polygons 1 and 2 of the MultiPolygon overlap$/, location: [2, 2] }],
  },
  { name: 'island in a lake is valid', geometry: { type: 'MultiPolygon', coordinates: [[square(0, 0, 10), square(1, 1, 5)], [square(2, 2, 1)]] }, expected: [] },
  {
    name: 'not finite, out of range',
    geometry: polygon([[0, 0], [1, 0], [Number.NaN, 3], [1, 1], [200, 1], [0, 1], [0, 0]]),
    expected: [{ reason: /^shell: 2 position\(s\) are not finite longitude\/latitude pairs/, location: [0, 0] }],
  },
];

describe('checkGeometry', () => {
  for (const c of cases) {
    it(c.name, () => {
      const problems = checkGeometry(c.geometry);
      expect(problems).toHaveLength(c.expected.length);
      c.expected.forEach((e, i) => {
        expect(problems[i].reason).toMatch(e.reason);
        if (e.location) {
          expect(problems[i].location?.[0]).toBeCloseTo(e.location[0], 9);
          expect(problems[i].location?.[1]).toBeCloseTo(e.location[1], 9);
        } else {
          expect(problems[i].location).toBeNull();
        }
      });
    });
  }

  it('names the part and ring in a MultiPolygon', () => {
    const problems = checkGeometry({ type: 'MultiPolygon', coordinates: [[square(0, 0, 1)], [[[5, 5], [6, 5], [6, 6], [5, 6]]]] });
    expect(problems.map((p) => p.reason)).toEqual(['polygon 2 shell is not closed']);
  });

  it('does not flood: at most 20 problems and a count of the rest', () => {
    const ring: Position[] = [];
    for (let i = 0; i < 60; i++) ring.push([i, 0], [i, -1], [i, 0]);
    ring.push([30, 10], [0, 0]);
    const problems = checkGeometry(polygon(ring));
    expect(problems).toHaveLength(21);
    expect(problems[20].reason).toMatch(/^and \d+ more problems$/);
  });

  it('counts repeated vertices instead of reporting them', () => {
    const inspection = inspectGeometry(polygon([[0, 0], [1, 0], [1, 0], [1, 0], [1, 1], [0, 1], [0, 0], [0, 0]]));
    expect(inspection.problems).toEqual([]);
    expect(inspection.repeatedVertices).toBe(3);
  });
});
