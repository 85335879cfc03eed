import * as polyclip from 'polyclip-ts';
import { type FlatPolygons, buildFlat, polygonFirstRing, ringStart } from './flat-geometry';

/** polyclip's nested form: polygons → rings → closed [x, y] positions. */
export type ClipGeometry = [number, number][][][];

/**
 * Retry grids (metres): polyclip-ts computes with arbitrary precision, yet on some inputs with nearly
 * collinear edges it fails to close an output ring ("Unable to complete output ring", known upstream:
 * mfogel/polygon-clipping#91, luizbarboza/polyclip-ts#5). Rounding the inputs to a fine grid removes the
 * near-degeneracy; even the coarsest grid moves points by far less than the 0.2 mm resolution.
 */
const RETRY_GRIDS_M = [1e-9, 1e-7, 1e-5];

/**
 * Exact polygon overlay in the plane frame (metres). It is the slow path: only the children whose edges
 * do not match go through it.
 */
export const overlay = {
  union: (...geometries: ClipGeometry[]): ClipGeometry => {
    const nonEmpty = geometries.filter((g) => g.length > 0);
    return nonEmpty.length === 0 ? [] : robustly((gs) => polyclip.union(gs[0], ...gs.slice(1)), nonEmpty);
  },
  intersection: (a: ClipGeometry, b: ClipGeometry): ClipGeometry => (a.length === 0 || b.length === 0 ? [] : robustly(([x, y]) => polyclip.intersection(x, y), [a, b])),
  difference: (a: ClipGeometry, ...subtract: ClipGeometry[]): ClipGeometry => {
    const nonEmpty = subtract.filter((g) => g.length > 0);
    return a.length === 0 || nonEmpty.length === 0 ? a : robustly(([x, ...ys]) => polyclip.difference(x, ...ys), [a, ...nonEmpty]);
  },
};

function robustly(run: (geometries: ClipGeometry[]) => polyclip.Geom, geometries: ClipGeometry[]): ClipGeometry {
  try {
    return run(geometries) as ClipGeometry;
  } catch (error) {
    for (const grid of RETRY_GRIDS_M) {
      try {
        return run(geometries.map((g) => roundTo(g, grid))) as ClipGeometry;
      } catch {
        // The next, coarser grid may still succeed; the original error is rethrown after the last.
      }
    }
    throw error;
  }
}

function roundTo(geometry: ClipGeometry, grid: number): ClipGeometry {
  return geometry.map((rings) => rings.map((ring) => ring.map(([x, y]): [number, number] => [Math.round(x / grid) * grid, Math.round(y / grid) * grid])));
}

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

/** A rectangle as a clip geometry. */
export function rectangle([minX, minY, maxX, maxY]: readonly number[]): ClipGeometry {
  return [[[[minX, minY], [maxX, minY], [maxX, maxY], [minX, maxY], [minX, minY]]]];
}
