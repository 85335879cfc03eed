import proj4 from 'proj4';
import { describe, expect, it } from 'vitest';
import { fromWgs84, toWgs84, type CrsId } from './index';
import { gaussKrugerProj4, gaussKrugerZone } from './gauss-kruger';
import { haversineMetres } from './haversine';

/**
 * Every zone as the EPSG dataset defines it: `projinfo EPSG:<code> -o PROJ` with PROJ 9.1.1 (EPSG
 * v10.076), [code, central meridian, false easting]. Spot-checked against the epsg.io pages of 4492,
 * 4498, 4500, 4502, 4505, 4506, 4507, 4510, 4522, 4524, 4528, 4530 and 4547.
 */
const EPSG_ZONES: [number, number, number][] = [
  [4491, 75, 13500000], [4492, 81, 14500000], [4493, 87, 15500000], [4494, 93, 16500000], [4495, 99, 17500000],
  [4496, 105, 18500000], [4497, 111, 19500000], [4498, 117, 20500000], [4499, 123, 21500000], [4500, 129, 22500000],
  [4501, 135, 23500000],
  [4502, 75, 500000], [4503, 81, 500000], [4504, 87, 500000], [4505, 93, 500000], [4506, 99, 500000],
  [4507, 105, 500000], [4508, 111, 500000], [4509, 117, 500000], [4510, 123, 500000], [4511, 129, 500000],
  [4512, 135, 500000],
  [4513, 75, 25500000], [4514, 78, 26500000], [4515, 81, 27500000], [4516, 84, 28500000], [4517, 87, 29500000],
  [4518, 90, 30500000], [4519, 93, 31500000], [4520, 96, 32500000], [4521, 99, 33500000], [4522, 102, 34500000],
  [4523, 105, 35500000], [4524, 108, 36500000], [4525, 111, 37500000], [4526, 114, 38500000], [4527, 117, 39500000],
  [4528, 120, 40500000], [4529, 123, 41500000], [4530, 126, 42500000], [4531, 129, 43500000], [4532, 132, 44500000],
  [4533, 135, 45500000],
  [4534, 75, 500000], [4535, 78, 500000], [4536, 81, 500000], [4537, 84, 500000], [4538, 87, 500000],
  [4539, 90, 500000], [4540, 93, 500000], [4541, 96, 500000], [4542, 99, 500000], [4543, 102, 500000],
  [4544, 105, 500000], [4545, 108, 500000], [4546, 111, 500000], [4547, 114, 500000], [4548, 117, 500000],
  [4549, 120, 500000], [4550, 123, 500000], [4551, 126, 500000], [4552, 129, 500000], [4553, 132, 500000],
  [4554, 135, 500000],
];

/** City centres projected by PROJ 9.1.1: `echo "lat lon" | cs2cs -d 4 EPSG:4490 EPSG:<code>` → northing easting. */
const PROJ_CONTROLS: [string, number, number, number, number, number][] = [
  ['Beijing', 116.3975, 39.9087, 4527, 39448481.5746, 4419565.4353],
  ['Beijing', 116.3975, 39.9087, 4548, 448481.5746, 4419565.4353],
  ['Beijing', 116.3975, 39.9087, 4498, 20448481.5746, 4419565.4353],
  ['Beijing', 116.3975, 39.9087, 4509, 448481.5746, 4419565.4353],
  ['Shanghai', 121.4737, 31.2304, 4549, 640412.315, 3457455.4886],
  ['Shanghai', 121.4737, 31.2304, 4528, 40640412.315, 3457455.4886],
  ['Chengdu', 104.0665, 30.5723, 4523, 35410449.4253, 3383928.0881],
  ['Chengdu', 104.0665, 30.5723, 4496, 18410449.4253, 3383928.0881],
  ['Urumqi', 87.6168, 43.8256, 4538, 549615.9011, 4854629.6266],
  ['Urumqi', 87.6168, 43.8256, 4493, 15549615.9011, 4854629.6266],
  ['Harbin', 126.535, 45.8038, 4530, 42541589.0842, 5074417.6267],
  ['Guangzhou', 113.2644, 23.1291, 4547, 424654.893, 2559024.7393],
  ['Lhasa', 91.1409, 29.6456, 4539, 610473.9866, 3281372.4435],
  ['Lhasa', 91.1409, 29.6456, 4494, 16319972.1739, 3282273.3558],
];

/**
 * Published on epsg.io ("Center coordinates" of the area of use, computed there with PROJ): the centre of
 * the WGS 84 bounds and its projection, [code, west, south, east, north, easting, northing].
 */
const EPSG_IO_CENTRES: [number, number, number, number, number, number, number][] = [
  [4498, 114, 19.02, 120, 51.52, 20500000.0, 3904547.52],
  [4500, 126, 29.7, 132, 52.79, 22500000.0, 4567782.08],
  [4502, 73.62, 35.42, 78.01, 41.07, 571345.22, 4235006.84],
  [4505, 90, 27.71, 96.01, 47.9, 500440.32, 4185854.08],
  [4506, 96, 21.13, 102.01, 43.18, 500471.67, 3559040.11],
  [4507, 102, 17.75, 108, 42.47, 500000.0, 3332307.27],
  [4510, 120, 24.64, 126, 53.56, 500000.0, 4329605.63],
  [4522, 100.5, 21.13, 103.5, 42.69, 34500000.0, 3531872.69],
  [4524, 106.5, 18.19, 109.51, 42.47, 36500480.83, 3356695.63],
  [4530, 124.5, 40.19, 127.5, 53.2, 42500000.0, 5173340.81],
];

describe('gaussKrugerZone', () => {
  it.each(EPSG_ZONES)('EPSG:%i has central meridian %i and false easting %i', (code, centralMeridian, falseEasting) => {
    expect(gaussKrugerZone(code)).toMatchObject({ code, centralMeridian, falseEasting, prefixed: falseEasting > 500000 });
    expect(gaussKrugerProj4(gaussKrugerZone(code)!)).toBe(
      `+proj=tmerc +lat_0=0 +lon_0=${centralMeridian} +k=1 +x_0=${falseEasting} +y_0=0 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs`,
    );
  });

  it('knows no other code', () => {
    expect([4490, 4555, 2383, Number.NaN].map(gaussKrugerZone)).toEqual([null, null, null, null]);
  });
});

describe('Gauss-Krüger conversions', () => {
  it.each(PROJ_CONTROLS)('%s (%d, %d) in EPSG:%i is (%d, %d) as PROJ computes it, to the centimetre', (_, lon, lat, code, easting, northing) => {
    const crs: CrsId = `EPSG:${code}`;
    const [x, y] = fromWgs84(crs)(lon, lat);
    expect(Math.hypot(x - easting, y - northing)).toBeLessThan(0.01);
    expect(haversineMetres(toWgs84(crs)(easting, northing), [lon, lat])).toBeLessThan(0.01);
  });

  it.each(EPSG_IO_CENTRES)('EPSG:%i: the centre of the area of use lands where epsg.io publishes it (1 m)', (code, west, south, east, north, easting, northing) => {
    const [x, y] = fromWgs84(`EPSG:${code}`)((west + east) / 2, (south + north) / 2);
    expect(Math.hypot(x - easting, y - northing)).toBeLessThan(1);
  });

  it('agrees with proj4 given the registry definition written out by hand', () => {
    const registry = proj4('+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=39500000 +y_0=0 +ellps=GRS80 +units=m +no_defs', 'WGS84');
    for (const [lon, lat] of [[115.6, 39.2], [117, 40], [118.4, 41.1]]) {
      const [x, y] = registry.inverse([lon, lat]);
      expect(haversineMetres(toWgs84('EPSG:4527')(x, y), [lon, lat])).toBeLessThan(0.001);
    }
  });

  it.each([4491, 4496, 4509, 4513, 4527, 4548, 4554])('EPSG:%i round-trips inside its zone to the millimetre', (code) => {
    const zone = gaussKrugerZone(code)!;
    const crs: CrsId = `EPSG:${code}`;
    for (let dLon = -zone.width / 2; dLon <= zone.width / 2; dLon += zone.width / 4) {
      for (const lat of [18, 30, 42, 53]) {
        const lon = zone.centralMeridian + dLon;
        const [x, y] = fromWgs84(crs)(lon, lat);
        expect(haversineMetres(toWgs84(crs)(x, y), [lon, lat])).toBeLessThan(0.001);
      }
    }
  });

  it('differs between the prefixed and the plain form of a zone by the prefix only', () => {
    const [prefixed, northing] = fromWgs84('EPSG:4527')(116.3975, 39.9087);
    const [plain, sameNorthing] = fromWgs84('EPSG:4548')(116.3975, 39.9087);
    expect(prefixed - plain).toBeCloseTo(39_000_000, 6);
    expect(northing).toBe(sameNorthing);
  });
});
