import type { Position } from 'geojson';

/**
 * Ring winding between shapefiles and GeoJSON. Shapefiles wind outer rings clockwise and holes
 * counter-clockwise (ESRI Shapefile Technical Description, 1998); GeoJSON the other way round
 * (RFC 7946 §3.1.6). A shapefile polygon record is a flat list of rings that the reader regroups.
 */

export interface OrganizedRings {
  /** Polygons in RFC 7946 winding: outer ring counter-clockwise, holes clockwise. */
  polygons: Position[][][];
  /** Rings dropped because they have fewer than three distinct points or no area. */
  degenerate: number;
  /** Counter-clockwise rings inside no outer ring, read as outer rings (files wound the wrong way). */
  promoted: number;
}

/**
 * Groups the rings of one shapefile polygon record into polygons: clockwise rings are outer rings, and
 * each counter-clockwise ring becomes a hole of the smallest outer ring that contains it.
 * @param rings the rings of the record, closed or not
 * @returns the polygons and counts of the rings that needed repair
 */
export function organizeRings(rings: Position[][]): OrganizedRings {
  const outers: { ring: Position[]; area: number; holes: Position[][] }[] = [];
  const inner: { ring: Position[]; area: number }[] = [];
  let degenerate = 0;
  for (const raw of rings) {
    const ring = closeRing(raw);
    const area2 = ring.length < 4 ? 0 : signedArea2(ring);
    if (area2 === 0) degenerate++;
    else if (area2 < 0) outers.push({ ring: ring.reverse(), area: -area2, holes: [] });
    else inner.push({ ring, area: area2 });
  }
  let promoted = 0;
  const candidates = [...outers].sort((a, b) => a.area - b.area);
  for (const hole of inner) {
    const container = candidates.find((outer) => outer.area > hole.area && hole.ring.slice(0, 3).some(([x, y]) => pointInRing(x, y, outer.ring)));
    if (container) {
      container.holes.push(hole.ring.reverse());
    } else {
      promoted++;
      outers.push({ ring: hole.ring, area: hole.area, holes: [] });
    }
  }
  return { polygons: outers.map((o) => [o.ring, ...o.holes]), degenerate, promoted };
}

/**
 * A closed copy of `ring` wound as asked.
 * @param ring a linear ring, closed or not
 * @param clockwise true for shapefile outer rings, false for shapefile holes
 */
export function orientRing(ring: Position[], clockwise: boolean): Position[] {
  const closed = closeRing(ring);
  return (signedArea2(closed) < 0) === clockwise ? closed : closed.reverse();
}

/** A copy of `ring` whose last position repeats the first. */
function closeRing(ring: Position[]): Position[] {
  const copy = ring.slice();
  const first = copy[0];
  const last = copy[copy.length - 1];
  if (first && last && (first[0] !== last[0] || first[1] !== last[1])) copy.push(first);
  return copy;
}

/** Twice the signed area of a closed ring (shoelace), positive when counter-clockwise with y up. */
function signedArea2(ring: Position[]): number {
  let sum = 0;
  for (let i = 0; i < ring.length - 1; i++) sum += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return sum;
}

/** Even-odd ray casting; points on the boundary may fall either way. */
function pointInRing(x: number, y: number, ring: Position[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
