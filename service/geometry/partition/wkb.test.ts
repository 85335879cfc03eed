import { describe, expect, it } from 'vitest';
import { polygonFromWkb } from './wkb';

/** WKB of polygons given as rings of [x, y], little- or big-endian, optionally EWKB with SRID 4326. */
function wkb(type: 'Polygon' | 'MultiPolygon', polygons: number[][][][], options: { little?: boolean; srid?: boolean } = {}): string {
  const little = options.little ?? true;
  const chunks: Buffer[] = [];
  const header = (code: number, srid: boolean) => {
    const b = Buffer.alloc(srid ? 9 : 5);
    b.writeUInt8(little ? 1 : 0, 0);
    const flagged = srid ? code | 0x20000000 : code;
    if (little) b.writeUInt32LE(flagged, 1);
    else b.writeUInt32BE(flagged, 1);
    if (srid) little ? b.writeUInt32LE(4326, 5) : b.writeUInt32BE(4326, 5);
    chunks.push(b);
  };
  const uint = (n: number) => {
    const b = Buffer.alloc(4);
    little ? b.writeUInt32LE(n) : b.writeUInt32BE(n);
    chunks.push(b);
  };
  const polygon = (rings: number[][][]) => {
    uint(rings.length);
    for (const ring of rings) {
      uint(ring.length);
      for (const [x, y] of ring) {
        const b = Buffer.alloc(16);
        little ? (b.writeDoubleLE(x!, 0), b.writeDoubleLE(y!, 8)) : (b.writeDoubleBE(x!, 0), b.writeDoubleBE(y!, 8));
        chunks.push(b);
      }
    }
  };
  if (type === 'Polygon') {
    header(3, options.srid ?? false);
    polygon(polygons[0]!);
  } else {
    header(6, options.srid ?? false);
    uint(polygons.length);
    for (const p of polygons) {
      header(3, false);
      polygon(p);
    }
  }
  return Buffer.concat(chunks).toString('base64');
}

const square = [
  [0, 0],
  [1, 0],
  [1, 1],
  [0, 1],
  [0, 0],
];

describe('polygonFromWkb', () => {
  it('reads Polygons and MultiPolygons, either byte order, with or without an SRID', () => {
    expect(polygonFromWkb(wkb('Polygon', [[square]]))).toEqual({ type: 'Polygon', coordinates: [square] });
    expect(polygonFromWkb(wkb('Polygon', [[square]], { little: false, srid: true }))).toEqual({ type: 'Polygon', coordinates: [square] });
    const two = [[square], [square.map(([x, y]) => [x! + 2, y!])]];
    expect(polygonFromWkb(wkb('MultiPolygon', two, { srid: true }))).toEqual({ type: 'MultiPolygon', coordinates: two });
    expect(polygonFromWkb(wkb('MultiPolygon', []))).toEqual({ type: 'MultiPolygon', coordinates: [] });
  });

  it('rounds to 9 decimals with ties to even, as ST_AsGeoJSON(geom, 9) prints', () => {
    // 1/1024° quantised data has exact ties in the tenth decimal (113073/1024 = 110.4228515625).
    const ring = [
      [110.4228515625, 22.7666015625],
      [-110.4228515625, 22.123456789],
      [113.8955078125, -22.1234567894],
      [110.4228515625, 22.7666015625],
    ];
    const { coordinates } = polygonFromWkb(wkb('Polygon', [[ring]]));
    expect(coordinates).toEqual([
      [
        [110.422851562, 22.766601562],
        [-110.422851562, 22.123456789],
        [113.895507812, -22.123456789],
        [110.422851562, 22.766601562],
      ],
    ]);
  });

  it('names a type that is not polygonal', () => {
    const point = Buffer.alloc(21);
    point.writeUInt8(1, 0);
    point.writeUInt32LE(1, 1);
    expect(() => polygonFromWkb(point.toString('base64'))).toThrow('expected a Polygon or MultiPolygon, got WKB type 1');
  });
});
