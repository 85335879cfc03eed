import { type BBox, type FlatPolygons, ringStart, snapDegrees } from './flat-geometry';

/** GRS80, which CGCS2000 matches to within 0.1 mm on the ellipsoid; WGS 84 differs by less. */
const SEMI_MAJOR = 6378137;
const ECCENTRICITY2 = 0.0066943800229;
const ECCENTRICITY = Math.sqrt(ECCENTRICITY2);
const RADIANS = Math.PI / 180;
/** Simpson panels per edge are at most this many radians of latitude apart (≈13 km): exact to < 1 mm². */
const PANEL_RADIANS = 0.002;

/**
 * The local frames of one parent family (a parent and its children).
 *
 * Geometry: an equirectangular plane scaled to true metres at the family's centre. It is affine in
 * lon/lat, so an edge that is straight in lon/lat (RFC 7946 §3.1.1; PostGIS `geometry` treats it so too)
 * stays straight and a vertex on a neighbour's edge stays on it. Hashing, noding and overlay all run
 * here. Its scale drifts by tan(lat)·Δlat (≈0.7% half a degree from the centre at 40°N), which only
 * affects the metre tolerances, never topology.
 *
 * Measures: areas are exact on the GRS80 ellipsoid for those lon/lat-straight edges. This is Lambert's
 * cylindrical equal-area projection (authalic latitude) with each edge integrated along its true course
 * (Simpson's rule) instead of replaced by a chord between projected vertices. A chord in a projection —
 * LAEA or transverse Mercator alike — departs from the lon/lat-straight edge by ~L²·tan(lat)/8R (2.6 mm
 * on a 400 m edge at 40°N), so a grid's area would change, by up to a part in 10⁴, when a neighbour's
 * vertex is inserted on its edge, and would depend on which family measured it. Integrated exactly, the
 * area is the same in every family and for every subdivision of the edges. Lengths use the ellipsoid's
 * radii of curvature at each segment's middle latitude (exact to < 1 ppm for segments under 10 km).
 */
export class FamilyFrame {
  readonly lon0: number;
  readonly lat0: number;
  /** Metres per degree of longitude and of latitude at the centre. */
  readonly kx: number;
  readonly ky: number;
  /** Zone area at the centre latitude, subtracted so sums of large zone areas do not lose digits. */
  private readonly zone0: number;

  /** @param bbox the family's extent in lon/lat; the frames are centred on its middle */
  constructor(bbox: BBox) {
    this.lon0 = (bbox[0] + bbox[2]) / 2;
    this.lat0 = (bbox[1] + bbox[3]) / 2;
    const phi = this.lat0 * RADIANS;
    const w = 1 - ECCENTRICITY2 * Math.sin(phi) ** 2;
    this.kx = (RADIANS * SEMI_MAJOR * Math.cos(phi)) / Math.sqrt(w);
    this.ky = (RADIANS * SEMI_MAJOR * (1 - ECCENTRICITY2)) / w ** 1.5;
    this.zone0 = zoneArea(phi);
  }

  toPlane(flat: FlatPolygons): FlatPolygons {
    const { lon0, lat0, kx, ky } = this;
    const from = flat.xy;
    const xy = new Float64Array(from.length);
    for (let i = 0; i < xy.length; i += 2) {
      xy[i] = (from[i] - lon0) * kx;
      xy[i + 1] = (from[i + 1] - lat0) * ky;
    }
    return { xy, ringEnds: flat.ringEnds, polygonEnds: flat.polygonEnds };
  }

  /** Back from the plane frame to lon/lat, snapped to the 1e-9° step. */
  toLonLat(x: number, y: number): [number, number] {
    return [snapDegrees(this.lon0 + x / this.kx), snapDegrees(this.lat0 + y / this.ky)];
  }

  /**
   * Area in m² of polygons given in the plane frame: −∮ Z(φ) dλ over the rings, Z(φ) being the
   * ellipsoid's zone area from the equator per radian of longitude.
   */
  area(plane: FlatPolygons): number {
    let area = 0;
    const { xy } = plane;
    for (let r = 0; r < plane.ringEnds.length; r++) {
      const start = ringStart(plane, r);
      const end = plane.ringEnds[r];
      for (let i = start, j = end - 1; i < end; j = i++) {
        const lambda1 = (xy[2 * j] / this.kx) * RADIANS;
        const phi1 = (this.lat0 + xy[2 * j + 1] / this.ky) * RADIANS;
        const lambda2 = (xy[2 * i] / this.kx) * RADIANS;
        const phi2 = (this.lat0 + xy[2 * i + 1] / this.ky) * RADIANS;
        area -= (lambda2 - lambda1) * this.meanZone(phi1, phi2);
      }
    }
    return Math.abs(area);
  }

  /** Area (m²) and perimeter (m, holes included) of polygons given in the plane frame. */
  measure(plane: FlatPolygons): { area: number; perimeter: number } {
    let perimeter = 0;
    const { xy } = plane;
    for (let r = 0; r < plane.ringEnds.length; r++) {
      const start = ringStart(plane, r);
      const end = plane.ringEnds[r];
      for (let i = start, j = end - 1; i < end; j = i++) perimeter += this.length(xy[2 * j], xy[2 * j + 1], xy[2 * i], xy[2 * i + 1]);
    }
    return { area: this.area(plane), perimeter };
  }

  /** Length in metres of a plane-frame segment on the ellipsoid. */
  length(x1: number, y1: number, x2: number, y2: number): number {
    return segmentLength((x1 / this.kx) * RADIANS, (this.lat0 + y1 / this.ky) * RADIANS, (x2 / this.kx) * RADIANS, (this.lat0 + y2 / this.ky) * RADIANS);
  }

  /** Mean of the zone area (relative to the centre's) over an edge whose latitude runs linearly from φ1 to φ2. */
  private meanZone(phi1: number, phi2: number): number {
    if (phi1 === phi2) return zoneArea(phi1) - this.zone0;
    const panels = Math.ceil(Math.abs(phi2 - phi1) / PANEL_RADIANS);
    const step = (phi2 - phi1) / panels;
    let sum = 0;
    for (let k = 0; k < panels; k++) {
      const a = phi1 + k * step;
      sum += zoneArea(a) + 4 * zoneArea(a + step / 2) + zoneArea(a + step) - 6 * this.zone0;
    }
    return sum / (6 * panels);
  }
}

/** Area of the ellipsoid between the equator and latitude φ, per radian of longitude (m²). */
function zoneArea(phi: number): number {
  const s = Math.sin(phi);
  const es = ECCENTRICITY * s;
  return ((SEMI_MAJOR * SEMI_MAJOR * (1 - ECCENTRICITY2)) / 2) * (s / (1 - es * es) + Math.log((1 + es) / (1 - es)) / (2 * ECCENTRICITY));
}

/** Length of a short lon/lat-straight segment (radians), scaled by the radii of curvature at its middle. */
function segmentLength(lambda1: number, phi1: number, lambda2: number, phi2: number): number {
  const phi = (phi1 + phi2) / 2;
  const w = 1 - ECCENTRICITY2 * Math.sin(phi) ** 2;
  const east = ((lambda2 - lambda1) * SEMI_MAJOR * Math.cos(phi)) / Math.sqrt(w);
  const north = ((phi2 - phi1) * SEMI_MAJOR * (1 - ECCENTRICITY2)) / w ** 1.5;
  return Math.hypot(east, north);
}
