import proj4 from 'proj4';
import { describe, expect, it } from 'vitest';
import { FamilyFrame } from './family-frame';
import { buildFlat } from './flat-geometry';

/** Area by an independent route: densify every lon/lat-straight edge, project to LAEA (proj4), shoelace. */
function laeaArea(ring: [number, number][], steps: number): number {
  const [lon0, lat0] = ring[0];
  const laea = proj4('EPSG:4326', `+proj=laea +lat_0=${lat0} +lon_0=${lon0} +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs`);
  const points: number[][] = [];
  ring.forEach(([x1, y1], i) => {
    const [x2, y2] = ring[(i + 1) % ring.length];
    for (let k = 0; k < steps; k++) points.push(laea.forward([x1 + ((x2 - x1) * k) / steps, y1 + ((y2 - y1) * k) / steps]));
  });
  return Math.abs(points.reduce((s, [x, y], i) => s + x * points[(i + 1) % points.length][1] - points[(i + 1) % points.length][0] * y, 0) / 2);
}

function frameArea(ring: [number, number][]): number {
  const flat = buildFlat([[ring.flat()]]);
  const lons = ring.map((p) => p[0]);
  const lats = ring.map((p) => p[1]);
  const frame = new FamilyFrame([Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)]);
  return frame.area(frame.toPlane(flat));
}

describe('FamilyFrame measures', () => {
  it('gives the ellipsoidal area of lon/lat-straight edges, as a densified equal-area projection does', () => {
    const rings: [number, number][][] = [
      [[116.3, 39.85], [116.31, 39.85], [116.31, 39.86], [116.3, 39.86]],
      [[116.3, 39.85], [116.7, 39.9], [116.45, 40.2]],
      [[100, 20], [101, 20], [101, 21], [100, 21]],
    ];
    for (const ring of rings) expect(frameArea(ring) / laeaArea(ring, 2000)).toBeCloseTo(1, 8);
  });

  it('does not change an area when a vertex is inserted on a straight edge', () => {
    const ring: [number, number][] = [[116.3, 39.85], [116.7, 39.9], [116.45, 40.2]];
    const split: [number, number][] = [ring[0], [116.4, 39.8625], ring[1], ring[2]];
    expect(Math.abs(frameArea(split) - frameArea(ring))).toBeLessThan(1e-12 * frameArea(ring));
  });

  it('measures lengths on the ellipsoid', () => {
    const frame = new FamilyFrame([116, 39.5, 116, 40.5]);
    const degreeOfLatitude = frame.length(0, -0.5 * frame.ky, 0, 0.5 * frame.ky);
    expect(degreeOfLatitude).toBeCloseTo(111034.6, 0);
  });
});
