import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { bboxTouchesTile, fitZoom, mercatorY, parseTile, tileAt, tileBounds, tilesCovering, unionBounds, type LonLatBbox, type TileCoord } from './tile-math';

const round = (v: number[]) => v.map((n) => +n.toFixed(6));

describe('parseTile', () => {
  it.each([
    ['0', '0', '0', { z: 0, x: 0, y: 0 }],
    ['1', '1', '1', { z: 1, x: 1, y: 1 }],
    ['14', '13006', '6776', { z: 14, x: 13006, y: 6776 }],
    ['24', '16777215', '0', { z: 24, x: 16777215, y: 0 }],
  ])('z=%s x=%s y=%s is a tile', (z, x, y, tile) => {
    expect(parseTile(z, x, y)).toEqual(tile);
  });

  it.each([
    ['25', '0', '0', /tile z "25" must be an integer from 0 to 24/],
    ['-1', '0', '0', /tile z "-1"/],
    ['1.5', '0', '0', /tile z "1.5"/],
    ['', '0', '0', /tile z ""/],
    ['0', '1', '0', /tile x "1" must be an integer from 0 to 0 at zoom 0/],
    ['2', '0', '4', /tile y "4" must be an integer from 0 to 3 at zoom 2/],
    ['3', 'abc', '0', /tile x "abc"/],
    ['3', '1e1', '0', /tile x "1e1"/],
    ['3', '0x1', '0', /tile x "0x1"/],
    ['3', '999999999', '0', /tile x "999999999"/],
  ])('z=%s x=%s y=%s is refused', (z, x, y, message) => {
    let caught: unknown;
    try {
      parseTile(z, x, y);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect(caught).toMatchObject({ status: 400, code: 'invalid_tile' });
    expect((caught as Error).message).toMatch(message);
  });
});

describe('tileBounds', () => {
  it.each<[TileCoord, number[]]>([
    [{ z: 0, x: 0, y: 0 }, [-180, -85.051129, 180, 85.051129]],
    [{ z: 1, x: 0, y: 0 }, [-180, 0, 0, 85.051129]],
    [{ z: 1, x: 1, y: 1 }, [0, -85.051129, 180, 0]],
    [{ z: 2, x: 3, y: 0 }, [90, 66.51326, 180, 85.051129]],
    [{ z: 10, x: 807, y: 420 }, [103.710938, 30.448674, 104.0625, 30.751278]],
  ])('%j', (tile, bounds) => {
    expect(round(tileBounds(tile))).toEqual(bounds);
  });

  it('grows by a buffer measured in tile widths', () => {
    expect(round(tileBounds({ z: 1, x: 1, y: 0 }, 0.5))).toEqual([-90, -66.51326, 270, 88.970618]);
  });
});

describe('tileAt', () => {
  it.each<[number, number, number, TileCoord]>([
    [0, 0, 0, { z: 0, x: 0, y: 0 }],
    [104.05, 30.65, 10, { z: 10, x: 807, y: 420 }],
    [-180, 85.06, 3, { z: 3, x: 0, y: 0 }],
    [180, -90, 3, { z: 3, x: 7, y: 7 }],
    [179.999, 0.001, 1, { z: 1, x: 1, y: 0 }],
  ])('lon %d lat %d at zoom %d', (lon, lat, z, tile) => {
    expect(tileAt(lon, lat, z)).toEqual(tile);
  });

  it('inverts tileBounds at the north-west corner of every tile', () => {
    for (const tile of [{ z: 5, x: 25, y: 13 }, { z: 12, x: 3229, y: 1686 }, { z: 18, x: 206709, y: 107945 }]) {
      const [w, , , n] = tileBounds(tile);
      expect(tileAt(w + 1e-9, n - 1e-9, tile.z)).toEqual(tile);
    }
  });
});

describe('mercatorY', () => {
  it.each([
    [0, 0.5],
    [85.0511287798066, 0],
    [-85.0511287798066, 1],
    [90, 0],
    [-90, 1],
  ])('lat %d → %d', (lat, y) => {
    expect(mercatorY(lat)).toBeCloseTo(y, 9);
  });
});

describe('bboxTouchesTile', () => {
  const tile = { z: 10, x: 807, y: 420 }; // 103.710938, 30.448674 – 104.0625, 30.751278 (checked with PostGIS ST_TileEnvelope)
  it.each<[string, LonLatBbox, number, boolean]>([
    ['inside', [103.8, 30.5, 103.9, 30.6], 0, true],
    ['covering', [100, 20, 110, 40], 0, true],
    ['touching the east edge', [104.0625, 30.5, 104.1, 30.6], 0, true],
    ['east of it', [104.07, 30.5, 104.1, 30.6], 0, false],
    ['east of it but inside the buffer', [104.07, 30.5, 104.1, 30.6], 64 / 4096 * 2, true],
    ['north of it', [103.8, 30.76, 103.9, 30.8], 0, false],
    ['south of it', [103.8, 30.3, 103.9, 30.44], 0, false],
    ['a point inside', [103.9, 30.6, 103.9, 30.6], 0, true],
  ])('%s', (_name, bbox, buffer, touches) => {
    expect(bboxTouchesTile(bbox, tile, buffer)).toBe(touches);
  });
});

describe('tilesCovering', () => {
  it.each<[LonLatBbox, number, string[]]>([
    [[103.8, 30.5, 103.9, 30.6], 10, ['10/807/420']],
    [[103.7, 30.5, 104.1, 30.6], 10, ['10/806/420', '10/807/420', '10/808/420']],
    [[-180, -85, 180, 85], 1, ['1/0/0', '1/1/0', '1/0/1', '1/1/1']],
  ])('%j at zoom %d', (bbox, z, keys) => {
    expect(tilesCovering(bbox, z).map((t) => `${t.z}/${t.x}/${t.y}`)).toEqual(keys);
  });
});

describe('fitZoom', () => {
  it.each<[LonLatBbox, number]>([
    [[-180, -85, 180, 85], 1],
    [[104, 30.6, 104.02, 30.62], 14],
    [[104, 30.6, 104, 30.6], 24],
  ])('%j → %d', (bbox, z) => {
    expect(fitZoom(bbox)).toBe(z);
  });
});

describe('unionBounds', () => {
  it.each<[(LonLatBbox | null)[], LonLatBbox | null]>([
    [[], null],
    [[null], null],
    [[[1, 2, 3, 4], null, [0, 3, 2, 5]], [0, 2, 3, 5]],
  ])('%j → %j', (boxes, union) => {
    expect(unionBounds(boxes)).toEqual(union);
  });
});
