import { describe, expect, it } from 'vitest';
import { PbfReader } from 'pbf';
import { VectorTile } from '@mapbox/vector-tile';
import { encodeTile, type MvtPolygon } from './mvt';

/** A closed ring from [x, y] pairs, as geojson-vt hands them over: flat, first point repeated at the end. */
const ring = (...points: [number, number][]) => Int16Array.from([...points, points[0]!].flat());

function decode(bytes: Uint8Array) {
  const tile = new VectorTile(new PbfReader(bytes));
  return Object.fromEntries(
    Object.entries(tile.layers).map(([name, layer]) => [
      name,
      {
        extent: layer.extent,
        version: layer.version,
        features: Array.from({ length: layer.length }, (_, i) => {
          const f = layer.feature(i);
          return { id: f.id, type: f.type, properties: f.properties, rings: f.loadGeometry().map((r) => r.map((p) => [p.x, p.y])) };
        }),
      },
    ]),
  );
}

const square: MvtPolygon = { id: 7, rings: [ring([0, 0], [100, 0], [100, 100], [0, 100])], properties: { code: 'A1' } };

describe('encodeTile', () => {
  it('writes layers, ids, typed properties and polygons that @mapbox/vector-tile decodes', () => {
    const bytes = encodeTile([
      {
        name: 'grids.city.grid',
        extent: 4096,
        features: [
          { ...square, properties: { code: 'A1', name: '网格一', households: 320, population: -3, share: 0.25, published: true, parent: null, type: undefined } },
          { id: 2 ** 40, rings: [ring([10, 10], [20, 10], [20, 20])], properties: { code: 'A2', households: 320 } },
        ],
      },
      { name: 'grids.city.empty', extent: 4096, features: [] },
    ]);
    const layers = decode(bytes);
    expect(Object.keys(layers)).toEqual(['grids.city.grid']);
    const layer = layers['grids.city.grid']!;
    expect(layer).toMatchObject({ extent: 4096, version: 2 });
    expect(layer.features[0]).toEqual({
      id: 7,
      type: 3,
      properties: { code: 'A1', name: '网格一', households: 320, population: -3, share: 0.25, published: true },
      rings: [[[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]]],
    });
    expect(layer.features[1]).toMatchObject({ id: 2 ** 40, properties: { code: 'A2', households: 320 } });
  });

  it('keeps the string "1" and the number 1 apart', () => {
    const layer = decode(encodeTile([{ name: 'l', extent: 4096, features: [{ ...square, properties: { a: '1', b: 1 } }] }])).l!;
    expect(layer.features[0]!.properties).toEqual({ a: '1', b: 1 });
  });

  it('drops repeated vertices, rings without area and holes before any outer ring', () => {
    const leadingHole = ring([210, 210], [210, 220], [220, 220], [220, 210]);
    const outer = ring([0, 0], [0, 0], [100, 0], [100, 100], [100, 100], [0, 100]);
    const hole = ring([10, 10], [10, 20], [20, 20], [20, 10]);
    const sliver = ring([200, 200], [300, 200], [250, 200]);
    const point = ring([400, 400], [400, 400], [400, 400]);
    const second = ring([500, 500], [600, 500], [600, 600]);
    const layer = decode(encodeTile([{ name: 'l', extent: 4096, features: [{ id: 1, rings: [leadingHole, outer, hole, sliver, point, second], properties: {} }] }])).l!;
    expect(layer.features[0]!.rings).toEqual([
      [[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]],
      [[10, 10], [10, 20], [20, 20], [20, 10], [10, 10]],
      [[500, 500], [600, 500], [600, 600], [500, 500]],
    ]);
  });

  it('writes outer rings with positive and holes with negative area in tile coordinates (spec 4.3.4.4)', () => {
    const layer = decode(
      encodeTile([{ name: 'l', extent: 4096, features: [{ rings: [ring([0, 0], [100, 0], [100, 100], [0, 100]), ring([10, 10], [10, 20], [20, 20], [20, 10])], properties: {} }] }]),
    ).l!;
    const area = (r: number[][]) => r.slice(1).reduce((a, [x, y], i) => a + r[i]![0]! * y! - x! * r[i]![1]!, 0);
    expect(layer.features[0]!.rings.map(area)).toEqual([20000, -200]);
  });

  it('writes points, multi-points and lines, dropping repeated vertices and one-point lines', () => {
    const layer = decode(
      encodeTile([
        {
          name: 'l',
          extent: 4096,
          features: [
            { id: 3, points: [10, 20], properties: { kind: 'invalid' } },
            { points: Int16Array.from([-5, 4100, 30, 40]), properties: {} },
            { lines: [Int16Array.from([0, 0, 0, 0, 50, 0, 50, 60]), Int16Array.from([7, 7, 7, 7]), Int16Array.from([100, 100, 90, 80])], properties: {} },
          ],
        },
      ]),
    ).l!;
    expect(layer.features.map((f) => [f.id, f.type, f.rings])).toEqual([
      [3, 1, [[[10, 20]]]],
      [undefined, 1, [[[-5, 4100]], [[30, 40]]]],
      [undefined, 2, [[[0, 0], [50, 0], [50, 60]], [[100, 100], [90, 80]]]],
    ]);
  });

  it('leaves out features whose geometry collapsed entirely, with their properties, and layers left empty', () => {
    const collapsed = { id: 9, rings: [ring([200, 200], [300, 200], [250, 200])], properties: { code: 'GONE' } };
    const bytes = encodeTile([
      { name: 'l', extent: 4096, features: [collapsed, square, { lines: [Int16Array.from([7, 7, 7, 7])], properties: { code: 'LINE' } }, { points: [], properties: {} }] },
      { name: 'empty', extent: 4096, features: [collapsed] },
    ]);
    expect(Buffer.from(bytes).includes('GONE')).toBe(false);
    const layers = decode(bytes);
    expect(Object.keys(layers)).toEqual(['l']);
    expect(layers.l!.features.map((f) => [f.id, f.properties])).toEqual([[7, { code: 'A1' }]]);
    expect(encodeTile([{ name: 'empty', extent: 4096, features: [collapsed] }])).toHaveLength(0);
  });

  it('returns an empty buffer when no layer has features', () => {
    expect(encodeTile([{ name: 'l', extent: 4096, features: [] }])).toHaveLength(0);
  });
});
