import type { MultiPolygon, Polygon, Position } from 'geojson';
import { latitude, mercatorX, mercatorY, type LonLatBbox } from './tile-math';

/**
 * Cuts a polygon to a box (Sutherland–Hodgman, one ring at a time). New vertices are interpolated in
 * Web Mercator, so each lies on the straight line geojson-vt draws between the two original vertices:
 * inside the box the result is the same shape. Used to hand a shard only the part of a large grid
 * (a district with thousands of vertices) it covers.
 * @param geometry - polygon or multipolygon in degrees
 * @param box - [west, south, east, north] in degrees
 * @returns the parts inside the box, or null when nothing is; a polygon whose outer ring is cut away loses its holes too
 * @example clipToBox({ type: 'Polygon', coordinates: [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]] }, [1, -1, 3, 3]) // the east half
 */
export function clipToBox(geometry: Polygon | MultiPolygon, box: LonLatBbox): MultiPolygon | null {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  const [x0, x1, y0, y1] = [mercatorX(box[0]), mercatorX(box[2]), mercatorY(box[3]), mercatorY(box[1])];
  const out: Position[][][] = [];
  for (const polygon of polygons) {
    const rings: Position[][] = [];
    for (const [i, ring] of polygon.entries()) {
      // Open ring: without the closing point, which the last step puts back.
      let points = ring.slice(0, -1).map(([lon, lat]) => [mercatorX(lon!), mercatorY(lat!)] as [number, number]);
      points = clipEdge(points, 0, x0, false);
      points = clipEdge(points, 0, x1, true);
      points = clipEdge(points, 1, y0, false);
      points = clipEdge(points, 1, y1, true);
      if (points.length < 3) {
        if (i === 0) break;
        continue;
      }
      const closed = [...points, points[0]!].map(([x, y]) => [(x - 0.5) * 360, latitude(y)]);
      rings.push(closed);
    }
    if (rings.length > 0) out.push(rings);
  }
  return out.length > 0 ? { type: 'MultiPolygon', coordinates: out } : null;
}

/** Keeps the part of a ring (open, in Mercator) on one side of an axis-parallel line. */
function clipEdge(points: [number, number][], axis: 0 | 1, at: number, keepBelow: boolean): [number, number][] {
  const inside = (p: [number, number]) => (keepBelow ? p[axis] <= at : p[axis] >= at);
  const out: [number, number][] = [];
  for (let i = 0; i < points.length; i++) {
    const a = points[i === 0 ? points.length - 1 : i - 1]!;
    const b = points[i]!;
    if (inside(b)) {
      if (!inside(a)) out.push(cross(a, b, axis, at));
      out.push(b);
    } else if (inside(a)) {
      out.push(cross(a, b, axis, at));
    }
  }
  return out;
}

function cross(a: [number, number], b: [number, number], axis: 0 | 1, at: number): [number, number] {
  const t = (at - a[axis]) / (b[axis] - a[axis]);
  return axis === 0 ? [at, a[1] + t * (b[1] - a[1])] : [a[0] + t * (b[0] - a[0]), at];
}
