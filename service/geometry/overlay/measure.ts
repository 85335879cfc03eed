import { FamilyFrame } from '../partition/family-frame';
import type { FlatPolygons } from '../partition/flat-geometry';
import { STEPS_PER_DEGREE, type IntFrame, type Rings } from './boolean';

/**
 * Areas in m² exactly as the partition validator measures them (service/geometry/partition/
 * family-frame.ts): on the GRS80 ellipsoid for edges straight in lon/lat, as PostGIS `geography` areas
 * of the same polygons are to within a few parts in 10⁵.
 */
export class AreaMeter {
  private readonly frame: FamilyFrame;

  constructor(
    private readonly ints: IntFrame,
    bbox: [number, number, number, number],
  ) {
    this.frame = new FamilyFrame(bbox);
  }

  /** Area in m² of a region in integer steps (outers and holes wound oppositely, as Clipper returns them). */
  area(rings: Rings): number {
    if (rings.length === 0) return 0;
    let vertices = 0;
    for (const ring of rings) vertices += ring.length;
    const xy = new Float64Array(vertices * 2);
    const ringEnds = new Uint32Array(rings.length);
    let v = 0;
    rings.forEach((ring, r) => {
      for (const p of ring) {
        xy[2 * v] = (p.x + this.ints.ox) / STEPS_PER_DEGREE;
        xy[2 * v + 1] = (p.y + this.ints.oy) / STEPS_PER_DEGREE;
        v++;
      }
      ringEnds[r] = v;
    });
    // One "polygon" holding every ring: the measure sums signed ring integrals, so holes subtract.
    const flat: FlatPolygons = { xy, ringEnds, polygonEnds: Uint32Array.of(rings.length) };
    return this.frame.area(this.frame.toPlane(flat));
  }
}
