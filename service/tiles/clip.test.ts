import { describe, expect, it } from 'vitest';
import type { MultiPolygon, Polygon } from 'geojson';
import { clipToBox } from './clip';
import type { LonLatBbox } from './tile-math';

const rect = (x0: number, y0: number, x1: number, y1: number) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
const round = (g: MultiPolygon | null) => g && g.coordinates.map((p) => p.map((r) => r.map(([x, y]) => [+x!.toFixed(9), +y!.toFixed(9)])));

describe('clipToBox', () => {
  it.each<[string, Polygon | MultiPolygon, LonLatBbox, number[][][][] | null]>([
    ['inside: unchanged', { type: 'Polygon', coordinates: [rect(1, 1, 2, 2)] }, [0, 0, 3, 3], [[rect(1, 1, 2, 2)]]],
    ['across the east edge: cut on it', { type: 'Polygon', coordinates: [rect(0, 0, 2, 1)] }, [-1, -1, 1, 2], [[rect(0, 0, 1, 1)]]],
    ['outside: nothing', { type: 'Polygon', coordinates: [rect(5, 5, 6, 6)] }, [0, 0, 1, 1], null],
    ['a hole outside the box is dropped, the outer ring kept', { type: 'Polygon', coordinates: [rect(0, 0, 10, 10), rect(8, 8, 9, 9).reverse()] }, [0, 0, 5, 5], [[[[0, 5], [0, 0], [5, 0], [5, 5], [0, 5]]]]],
    ['the part of a multipolygon outside the box is dropped', { type: 'MultiPolygon', coordinates: [[rect(0, 0, 1, 1)], [rect(5, 5, 6, 6)]] }, [-1, -1, 2, 2], [[rect(0, 0, 1, 1)]]],
  ])('%s', (_name, geometry, box, expected) => {
    expect(round(clipToBox(geometry, box))).toEqual(expected);
  });

  it('puts a new vertex where the Mercator straight line crosses the box edge, not the lon/lat one', () => {
    // From (0°, 0°) to (10°, 60°): halfway in Mercator is 35.26°N, where lon/lat interpolation would say 30°N.
    const clipped = round(clipToBox({ type: 'Polygon', coordinates: [[[0, 0], [10, 60], [0, 60], [0, 0]]] }, [-1, -1, 5, 61]))!;
    expect(clipped[0]![0]![1]).toEqual([5, 35.264389683]);
  });
});
