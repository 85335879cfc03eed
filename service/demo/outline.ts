import type { MultiPolygon, Position } from 'geojson';
import { cellCorners, neighbour, position, type Lattice } from './lattice';

/** The outline of the cells of `cells` that carry `label[c] === value`. */
export type Outline = (cells: readonly number[], label: Int32Array, value: number) => MultiPolygon;

/**
 * Outlines unions of lattice cells as MultiPolygons, traced along cell sides that separate the
 * union from the rest. Every vertex is a lattice vertex, so a parent's boundary and its children's are
 * made of the very same coordinates and segments.
 *
 * Each 4-connected component becomes one polygon. Sides are directed with the component on their left,
 * which makes outer rings counter-clockwise and holes clockwise (RFC 7946). Where two cells of the
 * component touch only at a corner, the walk turns right first: that keeps the outside cells at that
 * corner on different rings, so a hole touching the shell shares a point with it (valid) instead of the
 * shell touching itself (invalid). Two components that touch at a corner are two polygons of the
 * MultiPolygon sharing that point (valid).
 */
export function createOutliner(lattice: Lattice): Outline {
  const component = new Int32Array(lattice.columns * lattice.rows);
  let token = 0;
  const vertexStep = [1, -(lattice.columns + 1), -1, lattice.columns + 1];

  const ring = (sides: Set<number>, start: number): Position[] => {
    const vertices: number[] = [];
    let side = start;
    for (;;) {
      sides.delete(side);
      const v = side >> 2;
      const d = side & 3;
      vertices.push(v);
      const w = v + vertexStep[d];
      let next = -1;
      for (const turn of [3, 0, 1]) {
        const candidate = w * 4 + ((d + turn) & 3);
        if (candidate === start || sides.has(candidate)) {
          next = candidate;
          break;
        }
      }
      if (next < 0) throw new Error(`outline: no side leaves vertex ${w}; the cell set is not a union of whole cells`);
      if (next === start) break;
      side = next;
    }
    vertices.push(vertices[0]);
    return vertices.map((v) => position(lattice, v));
  };

  return (cells, label, value) => {
    const first = token + 1;
    const polygons: Position[][][] = [];
    for (const seed of cells) {
      if (component[seed] >= first) continue;
      token++;
      const members = [seed];
      component[seed] = token;
      for (let k = 0; k < members.length; k++) {
        for (let d = 0; d < 4; d++) {
          const n = neighbour(lattice, members[k], d);
          if (n >= 0 && label[n] === value && component[n] !== token) {
            component[n] = token;
            members.push(n);
          }
        }
      }
      members.sort((a, b) => a - b);
      // Side key: start vertex * 4 + direction (0 east, 1 north, 2 west, 3 south). The side facing
      // neighbour direction d runs from corner (d + 1) % 4 of [sw, se, ne, nw] in direction (d + 1) % 4.
      const sides = new Set<number>();
      for (const c of members) {
        const corners = cellCorners(lattice, c);
        for (let d = 0; d < 4; d++) {
          const n = neighbour(lattice, c, d);
          if (n < 0 || component[n] !== token) sides.add(corners[(d + 1) & 3] * 4 + ((d + 1) & 3));
        }
      }
      // The north side of the first cell in reading order borders the outside, so it starts the shell.
      const shellStart = cellCorners(lattice, members[0])[2] * 4 + 2;
      const rings = [ring(sides, shellStart)];
      for (const side of sides) rings.push(ring(sides, side));
      polygons.push(rings);
    }
    return { type: 'MultiPolygon', coordinates: polygons };
  };
}
