import { describe, expect, it } from 'vitest';
import type { Polygon } from 'geojson';
import { labelPoint } from './label-point';

const inside = (polygon: Polygon, [x, y]: number[]) => {
  let odd = false;
  for (const ring of polygon.coordinates) {
    for (let i = 1; i < ring.length; i++) {
      const [x1, y1] = ring[i - 1]!;
      const [x2, y2] = ring[i]!;
      if (y1! > y! !== y2! > y! && x! < x1! + ((y! - y1!) * (x2! - x1!)) / (y2! - y1!)) odd = !odd;
    }
  }
  return odd;
};

describe('labelPoint', () => {
  it.each<[string, Polygon]>([
    ['a rectangle', { type: 'Polygon', coordinates: [[[0, 0], [4, 0], [4, 2], [0, 2], [0, 0]]] }],
    // A thin crescent (a gap along a bent boundary): its centroid and bbox centre are outside it.
    ['a bent sliver', { type: 'Polygon', coordinates: [[[0, 0], [5, 4], [10, 0], [10, 0.1], [5, 4.1], [0, 0.1], [0, 0]]] }],
    ['a ring around a hole in the middle', { type: 'Polygon', coordinates: [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [[2, 2], [2, 8], [9, 8], [9, 2], [2, 2]]] }],
  ])('lies inside %s', (_, polygon) => {
    expect(inside(polygon, labelPoint(polygon)!)).toBe(true);
  });

  it('marks the largest part of a multi-polygon, a line halfway along it, and nothing without positions', () => {
    const small = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]];
    const large = [[[10, 0], [20, 0], [20, 10], [10, 10], [10, 0]]];
    expect(labelPoint({ type: 'MultiPolygon', coordinates: [small, large] })).toEqual([15, 5]);
    expect(labelPoint({ type: 'LineString', coordinates: [[0, 0], [2, 0], [2, 6]] })).toEqual([2, 2]);
    expect(labelPoint({ type: 'LineString', coordinates: [] })).toBeNull();
    expect(labelPoint({ type: 'Polygon', coordinates: [[[3, 3], [3, 3], [3, 3], [3, 3]]] })).toEqual([3, 3]);
  });
});
