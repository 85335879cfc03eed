import { describe, expect, it } from 'vitest';
import { GridIndex, prepareGrid } from './grid-index';
import { tileAt } from './tile-math';

const OPTIONS = { maxzoom: 18, extent: 4096, buffer: 64 };
const square = (x0: number, y0: number, x1: number, y1: number, clockwise = false) => {
  const ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
  return clockwise ? ring.reverse() : ring;
};
const grid = (code: string, coordinates: number[][][]) =>
  prepareGrid({ type: 'Polygon', coordinates }, { code, level: 'grid', id: code.charCodeAt(0), properties: { code } }, OPTIONS);

describe('prepareGrid', () => {
  it('winds exteriors positive and holes negative by area, whatever the input winding', () => {
    const g = grid('A', [square(116, 39, 116.01, 39.01, true), square(116.002, 39.002, 116.004, 39.004)]);
    expect(g.ringSize[0]).toBeGreaterThan(0);
    expect(g.ringSize[1]).toBeLessThan(0);
    expect(g.rings).toEqual([0, 5, 10]);
    expect(g.vertices).toBe(10);
  });
});

describe('GridIndex.tile', () => {
  const index = new GridIndex(OPTIONS);
  index.load([grid('A', [square(116, 39, 116.01, 39.01)]), grid('B', [square(116.01, 39, 116.02, 39.01)])], new Map([['grid', 10]]));

  it('clips a grid larger than the tile to the tile and its buffer', () => {
    const t = tileAt(116.005, 39.005, 17);
    const features = index.tile(t);
    expect(features.map((f) => f.polygon.properties.code)).toEqual(['A']);
    for (const ring of features[0]!.polygon.rings) {
      for (let i = 0; i < ring.length; i++) {
        expect(ring[i]).toBeGreaterThanOrEqual(-64);
        expect(ring[i]).toBeLessThanOrEqual(4096 + 64);
      }
    }
  });

  it('lists the grids of a tile by id, whatever order they were loaded or edited in', () => {
    const a = grid('A', [square(116, 39, 116.01, 39.01)]);
    const b = grid('B', [square(116.01, 39, 116.02, 39.01)]);
    const reversed = new GridIndex(OPTIONS);
    reversed.load([b, a], new Map([['grid', 10]]));
    const t = tileAt(116.01, 39.005, 12);
    expect(reversed.tile(t)).toEqual(index.tile(t));
    // An edit re-inserts its grid last; its place in the tile stays that of its id.
    reversed.update([grid('A', [square(116, 39, 116.01, 39.01)])], []);
    expect(reversed.tile(t).map((f) => f.polygon.properties.code)).toEqual(['A', 'B']);
  });

  it('lists the grids of a tile by id and leaves out levels below their minzoom', () => {
    const t = tileAt(116.01, 39.005, 12);
    expect(index.tile(t).map((f) => f.polygon.properties.code)).toEqual(['A', 'B']);
    expect(index.tile(tileAt(116.01, 39.005, 9))).toEqual([]);
  });

  it('drops an updated grid from its old place', () => {
    const moved = new GridIndex(OPTIONS);
    moved.load([grid('A', [square(116, 39, 116.01, 39.01)])], new Map([['grid', 0]]));
    moved.update([grid('A', [square(117, 40, 117.01, 40.01)])], []);
    expect(moved.tile(tileAt(116.005, 39.005, 14))).toEqual([]);
    expect(moved.tile(tileAt(117.005, 40.005, 14)).map((f) => f.polygon.properties.code)).toEqual(['A']);
  });
});
