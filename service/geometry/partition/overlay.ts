import type { ClipGeometry } from './boolean';
import { type FlatPolygons, buildFlat, polygonFirstRing, ringStart } from './flat-geometry';

export type { ClipGeometry } from './boolean';

/** Flat polygons as clip geometry, rings closed. */
export function toClip(flat: FlatPolygons): ClipGeometry {
  const polygons: ClipGeometry = [];
  for (let p = 0; p < flat.polygonEnds.length; p++) {
    const rings: [number, number][][] = [];
    for (let r = polygonFirstRing(flat, p); r < flat.polygonEnds[p]; r++) {
      const start = ringStart(flat, r);
      const ring: [number, number][] = [];
      for (let i = start; i < flat.ringEnds[r]; i++) ring.push([flat.xy[2 * i], flat.xy[2 * i + 1]]);
      ring.push([flat.xy[2 * start], flat.xy[2 * start + 1]]);
      rings.push(ring);
    }
    polygons.push(rings);
  }
  return polygons;
}

/** Back to flat polygons, dropping the closing positions and any ring left with fewer than 3 vertices. */
export function fromClip(geometry: ClipGeometry): FlatPolygons {
  const polygons: number[][][] = [];
  for (const rings of geometry) {
    const open = rings.map((ring) => ring.slice(0, -1).flat());
    if (open.length > 0 && open[0].length >= 6) polygons.push(open.filter((ring) => ring.length >= 6));
  }
  return buildFlat(polygons);
}
