import { describe, expect, it } from 'vitest';
import { CrsError, fromWgs84, parseCrs, toWgs84, type CrsId } from './index';
import { haversineMetres } from './haversine';

describe('parseCrs', () => {
  it.each([
    ['wgs84', 'EPSG:4326'],
    ['WGS 84', 'EPSG:4326'],
    ['4326', 'EPSG:4326'],
    ['epsg:4326', 'EPSG:4326'],
    ['urn:ogc:def:crs:EPSG::4326', 'EPSG:4326'],
    ['CRS84', 'EPSG:4326'],
    ['cgcs2000', 'EPSG:4490'],
    ['CGCS 2000', 'EPSG:4490'],
    ['EPSG:4490', 'EPSG:4490'],
    ['gcj02', 'GCJ-02'],
    ['GCJ-02', 'GCJ-02'],
    [' gcj_02 ', 'GCJ-02'],
    ['bd09', 'BD-09'],
    ['BD-09', 'BD-09'],
    ['bd09ll', 'BD-09'],
    ['EPSG:4527', 'EPSG:4527'],
    ['4491', 'EPSG:4491'],
    ['epsg:4554', 'EPSG:4554'],
  ])('%s → %s', (input, crs) => {
    expect(parseCrs(input)).toBe(crs);
  });

  it.each(['EPSG:3857', '4555', 'EPSG:4490x', 'mars', ''])('rejects %j with unknown_crs, naming the input and the accepted forms', (input) => {
    const error = (() => {
      try {
        return parseCrs(input);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(CrsError);
    expect(error).toMatchObject({ code: 'unknown_crs', message: expect.stringContaining(`"${input}"`) });
    expect((error as Error).message).toMatch(/EPSG:4326.*GCJ-02.*BD-09.*EPSG:4491–EPSG:4554/);
  });
});

describe('toWgs84 / fromWgs84', () => {
  const tiananmen: [number, number] = [116.3975, 39.9087];

  it.each(['EPSG:4326', 'EPSG:4490', 'GCJ-02', 'BD-09', 'EPSG:4527', 'EPSG:4548', 'EPSG:4498', 'EPSG:4509'] as CrsId[])(
    '%s round-trips inside China within 1 m',
    (crs) => {
      const there = fromWgs84(crs);
      const back = toWgs84(crs);
      for (const [lon, lat] of [tiananmen, [115.9, 39.2], [118.2, 41.0]] as [number, number][]) {
        expect(haversineMetres(back(...there(lon, lat)), [lon, lat])).toBeLessThan(1);
      }
    },
  );

  it('treats CGCS2000 lon/lat as WGS 84', () => {
    expect(toWgs84('EPSG:4490')(...tiananmen)).toEqual(tiananmen);
  });

  it('returns one converter per CRS', () => {
    expect(toWgs84('EPSG:4527')).toBe(toWgs84('EPSG:4527'));
  });

  it('rejects ids that parseCrs would not return', () => {
    expect(() => toWgs84('EPSG:3857')).toThrow(CrsError);
    expect(() => fromWgs84('EPSG:4555')).toThrow(/unknown coordinate reference system "EPSG:4555"/);
  });
});
