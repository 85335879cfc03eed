import { area, booleanClockwise } from '@turf/turf';
import type { MultiPolygon, Position } from 'geojson';

/**
 * Checks the tests run on generated grids, computed from coordinates alone so they do not trust the
 * generator's own bookkeeping.
 */

const key = (a: Position, b: Position) => `${a[0]},${a[1]}>${b[0]},${b[1]}`;

function* segments(geometry: MultiPolygon): Generator<[Position, Position]> {
  for (const polygon of geometry.coordinates) for (const ring of polygon) for (let k = 0; k + 1 < ring.length; k++) yield [ring[k], ring[k + 1]];
}

/**
 * What keeps `children` from being an exact partition of `parent`: areas that do not add up (1e-6
 * relative), a parent boundary segment not found exactly once in the children, or an inner segment not
 * found exactly once in each direction (a shared side drawn with identical vertices by both neighbours).
 */
export function partitionProblems(parent: MultiPolygon, children: MultiPolygon[]): string[] {
  const problems: string[] = [];
  const parentArea = area(parent);
  const childArea = children.reduce((s, c) => s + area(c), 0);
  if (Math.abs(childArea - parentArea) > 1e-6 * parentArea) problems.push(`children cover ${childArea} m², the parent ${parentArea} m²`);
  const counts = new Map<string, number>();
  for (const child of children) for (const [a, b] of segments(child)) counts.set(key(a, b), (counts.get(key(a, b)) ?? 0) + 1);
  const boundary = new Set<string>();
  for (const [a, b] of segments(parent)) {
    boundary.add(key(a, b));
    if (counts.get(key(a, b)) !== 1 || counts.has(key(b, a))) problems.push(`parent side ${key(a, b)} is drawn ${counts.get(key(a, b)) ?? 0} times by the children`);
  }
  for (const child of children) {
    for (const [a, b] of segments(child)) {
      if (boundary.has(key(a, b))) continue;
      if (counts.get(key(a, b)) !== 1 || counts.get(key(b, a)) !== 1) problems.push(`inner side ${key(a, b)} is drawn ${counts.get(key(a, b))}× forwards and ${counts.get(key(b, a)) ?? 0}× backwards`);
    }
  }
  return problems;
}

/** Rings that are not closed, repeat a vertex, or turn the wrong way (RFC 7946: outer counter-clockwise, holes clockwise). */
export function ringProblems(geometry: MultiPolygon): string[] {
  const problems: string[] = [];
  geometry.coordinates.forEach((polygon, p) =>
    polygon.forEach((ring, r) => {
      const at = `polygon ${p} ring ${r}`;
      if (ring.length < 4 || key(ring[0], ring[0]) !== key(ring[ring.length - 1], ring[ring.length - 1])) problems.push(`${at} is not closed`);
      if (new Set(ring.slice(0, -1).map((v) => key(v, v))).size !== ring.length - 1) problems.push(`${at} repeats a vertex`);
      if (booleanClockwise(ring) !== (r > 0)) problems.push(`${at} turns the wrong way`);
    }),
  );
  return problems;
}

/** The mean of a polygon's outer ring vertices: inside for the convex cells of governance grids. */
export function vertexMean(geometry: MultiPolygon): [number, number] {
  const ring = geometry.coordinates[0][0].slice(0, -1);
  return [ring.reduce((s, p) => s + p[0], 0) / ring.length, ring.reduce((s, p) => s + p[1], 0) / ring.length];
}
