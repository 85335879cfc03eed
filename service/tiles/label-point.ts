import type { LineString, MultiPolygon, Polygon, Position } from 'geojson';

/**
 * A point that marks a polygon or a line where the shape itself is too small to see: inside the
 * largest part of a polygon (a sliver's centroid can lie outside it), halfway along a line.
 * For a polygon it is the middle of the widest stretch inside the part along the horizontal line through
 * the middle of its outer ring's latitude range, holes included: the scan-line idea of GEOS's
 * InteriorPoint, on one line only.
 * @param geometry - a Polygon, MultiPolygon or LineString in lon/lat
 * @returns [lon, lat]: the first position when the shape has no width or length, null when it has no position
 * @example labelPoint({ type: 'Polygon', coordinates: [[[0, 0], [4, 0], [4, 2], [0, 2], [0, 0]]] }) // [2, 1]
 */
export function labelPoint(geometry: Polygon | MultiPolygon | LineString): Position | null {
  if (geometry.type === 'LineString') return halfway(geometry.coordinates);
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  let largest: Position[][] = [];
  let largestArea = -1;
  for (const polygon of polygons) {
    const area = Math.abs(ringArea(polygon[0] ?? []));
    if (area > largestArea) {
      largest = polygon;
      largestArea = area;
    }
  }
  return scanLineMiddle(largest);
}

function scanLineMiddle(polygon: Position[][]): Position | null {
  const outer = polygon[0] ?? [];
  let minY = Infinity;
  let maxY = -Infinity;
  for (const p of outer) {
    minY = Math.min(minY, p[1]!);
    maxY = Math.max(maxY, p[1]!);
  }
  const y = (minY + maxY) / 2;
  const xs: number[] = [];
  for (const ring of polygon) {
    for (let i = 1; i < ring.length; i++) {
      const [x1, y1] = ring[i - 1]!;
      const [x2, y2] = ring[i]!;
      // Half-open on y, so a vertex on the line is counted once.
      if (y1! > y !== y2! > y) xs.push(x1! + ((y - y1!) * (x2! - x1!)) / (y2! - y1!));
    }
  }
  xs.sort((a, b) => a - b);
  let best: Position | null = outer[0] ?? null;
  let width = -1;
  for (let i = 0; i + 1 < xs.length; i += 2) {
    if (xs[i + 1]! - xs[i]! > width) {
      width = xs[i + 1]! - xs[i]!;
      best = [(xs[i]! + xs[i + 1]!) / 2, y];
    }
  }
  return best;
}

function halfway(line: Position[]): Position | null {
  let length = 0;
  for (let i = 1; i < line.length; i++) length += segment(line[i - 1]!, line[i]!);
  let left = length / 2;
  for (let i = 1; i < line.length; i++) {
    const d = segment(line[i - 1]!, line[i]!);
    if (d > 0 && left <= d) {
      const t = left / d;
      const [x1, y1] = line[i - 1]!;
      const [x2, y2] = line[i]!;
      return [x1! + t * (x2! - x1!), y1! + t * (y2! - y1!)];
    }
    left -= d;
  }
  return line[0] ?? null;
}

const segment = (a: Position, b: Position) => Math.hypot(b[0]! - a[0]!, b[1]! - a[1]!);

function ringArea(ring: Position[]): number {
  let area = 0;
  for (let i = 1; i < ring.length; i++) area += ring[i - 1]![0]! * ring[i]![1]! - ring[i]![0]! * ring[i - 1]![1]!;
  return area / 2;
}
