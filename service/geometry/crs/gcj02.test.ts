import { describe, expect, it } from 'vitest';
import { bd09ToGcj02, gcj02ToBd09 } from './bd09';
import { gcj02ToWgs84, outOfChina, wgs84ToGcj02 } from './gcj02';
import { haversineMetres } from './haversine';

/** From eviltransform's test suite (googollee/eviltransform): [name, WGS 84 lon, lat, GCJ-02 lon, lat]. */
const EVILTRANSFORM_PAIRS: [string, number, number, number, number][] = [
  ['Shanghai', 121.5272106, 31.1774276, 121.531541859215, 31.17530398364597],
  ['Shenzhen', 113.912316, 22.543847, 113.9171764808363, 22.540796131694766],
  ['Beijing', 116.377817, 39.911954, 116.38404722455657, 39.91334545536069],
];

/**
 * eviltransform's BD-09 pairs are not used: they come from its implementation with π where Baidu's
 * formula has π·3000/180 (googollee/eviltransform#43), tens of metres off.
 */

/** Points over China, every 1.5° of longitude and latitude. */
const CHINA: [number, number][] = [];
for (let lon = 73.5; lon <= 135; lon += 1.5) for (let lat = 18; lat <= 53.5; lat += 1.5) CHINA.push([lon, lat]);

describe('GCJ-02', () => {
  it("matches coordtransform's published example exactly", () => {
    expect(wgs84ToGcj02(116.404, 39.915)).toEqual([116.41024449916938, 39.91640428150164]);
  });

  it.each(EVILTRANSFORM_PAIRS)('%s: WGS 84 ⇄ GCJ-02 lands on the published pair (< 1 m)', (_, lon, lat, gcjLon, gcjLat) => {
    expect(haversineMetres(wgs84ToGcj02(lon, lat), [gcjLon, gcjLat])).toBeLessThan(1);
    expect(haversineMetres(gcj02ToWgs84(gcjLon, gcjLat), [lon, lat])).toBeLessThan(1);
  });

  it('inverts the forward transform to 1e-7° everywhere in China', () => {
    let worst = 0;
    for (const [lon, lat] of CHINA) {
      const [gLon, gLat] = wgs84ToGcj02(lon, lat);
      const [back, backLat] = gcj02ToWgs84(gLon, gLat);
      worst = Math.max(worst, Math.abs(back - lon), Math.abs(backLat - lat));
      expect(haversineMetres([back, backLat], [lon, lat])).toBeLessThan(0.05);
    }
    expect(worst).toBeLessThan(2e-7);
  });

  it('leaves coordinates outside China unchanged', () => {
    expect(outOfChina(2.35, 48.85)).toBe(true);
    expect(wgs84ToGcj02(2.35, 48.85)).toEqual([2.35, 48.85]);
    expect(gcj02ToWgs84(-74.006, 40.7128)).toEqual([-74.006, 40.7128]);
  });

  it('shifts by a few hundred metres inside China', () => {
    const shift = haversineMetres(wgs84ToGcj02(116.404, 39.915), [116.404, 39.915]);
    expect(shift).toBeGreaterThan(100);
    expect(shift).toBeLessThan(1000);
  });
});

describe('BD-09', () => {
  it("matches coordtransform's published examples (wandergis/coordtransform test/app.js)", () => {
    const close = ([lon, lat]: [number, number], [eLon, eLat]: [number, number]) => {
      expect(lon).toBeCloseTo(eLon, 12);
      expect(lat).toBeCloseTo(eLat, 12);
    };
    close(gcj02ToBd09(116.404, 39.915), [116.41036949371029, 39.92133699351021]);
    close(bd09ToGcj02(116.404, 39.915), [116.39762729119315, 39.90865673957631]);
  });

  it('round-trips GCJ-02 → BD-09 → GCJ-02 within 0.2 m everywhere in China', () => {
    for (const [lon, lat] of CHINA) expect(haversineMetres(bd09ToGcj02(...gcj02ToBd09(lon, lat)), [lon, lat])).toBeLessThan(0.2);
  });
});
