import fc from 'fast-check';
import type { Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { FamilyFrame } from './family-frame';
import { type BBox, buildFlat, snapDegrees } from './flat-geometry';
import * as polyclip from 'polyclip-ts';
import { type ClipGeometry, fromClip, toClip } from './overlay';
import { type PartitionGrid, validatePartition } from './index';
import { GOVERNANCE_SYSTEM } from './testing/generate';

const d = 0.001;
const corner = (x: number, y: number): [number, number] => [snapDegrees(116.4 + x * d), snapDegrees(39.9 + y * d)];

/** A shape in lattice units: rings of [x, y], shell first. */
type Shape = [number, number][][];
const toGeoJSON = (shape: Shape): Polygon => ({ type: 'Polygon', coordinates: shape.map((ring) => [...ring, ring[0]].map(([x, y]) => corner(x, y))) });
const rect = ([x0, y0, x1, y1]: number[]): Shape => [[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]];

/** Rectangles on a quarter-cell lattice: shared edges, T-junctions, overlaps, gaps and overhangs all happen. */
const box = fc
  .tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }))
  .map(([x, y, w, h]) => [x / 4, y / 4, (x + w) / 4, (y + h) / 4]);

/** Triangles between lattice points: edges crossing at any angle, vertices on other edges. */
const triangle = fc
  .tuple(...Array.from({ length: 6 }, () => fc.integer({ min: 0, max: 16 })))
  .filter(([ax, ay, bx, by, cx, cy]) => (bx - ax) * (cy - ay) - (by - ay) * (cx - ax) !== 0)
  .map(([ax, ay, bx, by, cx, cy]): Shape => [[[ax / 4, ay / 4], [bx / 4, by / 4], [cx / 4, cy / 4]]]);

/** A tiling of [0, 4]² by a random guillotine split, so clean families are common too. */
const tiling = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 15 })), { maxLength: 5 }).map((cuts) => {
  let pieces = [[0, 0, 4, 4]];
  for (const [vertical, at] of cuts) {
    const c = at / 4;
    pieces = pieces.flatMap(([x0, y0, x1, y1]) =>
      vertical ? (c > x0 && c < x1 ? [[x0, y0, c, y1], [c, y0, x1, y1]] : [[x0, y0, x1, y1]]) : c > y0 && c < y1 ? [[x0, y0, x1, c], [x0, c, x1, y1]] : [[x0, y0, x1, y1]],
    );
  }
  return pieces.map(rect);
});

const parentShape: fc.Arbitrary<Shape | null> = fc.oneof(
  fc.constant(rect([0, 0, 4, 4])),
  fc.constant([...rect([0, 0, 4, 4]), [[1, 1], [1, 2.5], [2.5, 2.5], [2.5, 1]]] as Shape),
  box.map(rect),
  triangle,
  fc.constant(null),
);

const childShapes: fc.Arbitrary<Shape[]> = fc.oneof(
  tiling,
  fc.array(fc.oneof(box.map(rect), triangle), { minLength: 1, maxLength: 7 }),
  fc.tuple(tiling, fc.array(fc.oneof(box.map(rect), triangle), { maxLength: 2 })).map(([t, extra]) => [...t, ...extra]),
);

/**
 * An independent overlay for the oracle: polyclip-ts (exact, arbitrary precision, slow), not the integer
 * Clipper the validator uses (issue #15).
 */
const overlay = {
  union: (...gs: ClipGeometry[]): ClipGeometry => (gs.filter((g) => g.length > 0).length === 0 ? [] : (polyclip.union(gs[0], ...gs.slice(1)) as ClipGeometry)),
  intersection: (a: ClipGeometry, b: ClipGeometry): ClipGeometry => (a.length === 0 || b.length === 0 ? [] : (polyclip.intersection(a, b) as ClipGeometry)),
  difference: (a: ClipGeometry, b: ClipGeometry): ClipGeometry => (a.length === 0 || b.length === 0 ? a : (polyclip.difference(a, b) as ClipGeometry)),
};

/** The same measures by brute force: whole overlays, no coverage proof, no windows. */
function reference(parent: Shape | null, children: Shape[], maxDepth: number) {
  const frame = new FamilyFrame([...corner(0, 0), ...corner(4, 4)] as BBox);
  const clip = (shape: Shape): ClipGeometry => toClip(frame.toPlane(buildFlat([shape.map((ring) => ring.flatMap(([x, y]) => corner(x, y)))])));
  const area = (g: ClipGeometry) => (g.length === 0 ? 0 : frame.area(fromClip(g)));
  const clips = children.map(clip);
  // layers[k]: covered at least k times; adding c turns (layers[k − 1] ∩ c) into depth k.
  const layers: ClipGeometry[] = [[], []];
  for (const c of clips) {
    for (let k = layers.length; k >= 2; k--) layers[k] = overlay.union(layers[k] ?? [], overlay.intersection(layers[k - 1], c));
    layers[1] = overlay.union(layers[1], c);
  }
  const p = parent ? clip(parent) : null;
  const perimeter = [...clips, ...(p ? [p] : [])].reduce((s, g) => s + frame.measure(fromClip(g)).perimeter, 0);
  return {
    perimeter,
    gap: p ? area(overlay.difference(p, layers[1])) : 0,
    overlap: area(layers[maxDepth + 1] ?? []),
    outside: p ? clips.reduce((s, c) => s + area(overlay.difference(c, p)), 0) : 0,
  };
}

describe('the coverage proof agrees with brute-force overlay', () => {
  it('on random families (rectangles, triangles, a parent with a hole or none) for every overlap depth', () => {
    fc.assert(
      fc.property(
        parentShape,
        childShapes,
        fc.integer({ min: 1, max: 3 }),
        (parent, children, maxDepth) => {
          const grids: PartitionGrid[] = [{ code: 'P', parentCode: null, level: 'district', geometry: parent ? toGeoJSON(parent) : null }];
          children.forEach((c, i) => grids.push({ code: `P${i}`, parentCode: 'P', level: 'street', geometry: toGeoJSON(c) }));
          const report = validatePartition({ ...GOVERNANCE_SYSTEM, overlapPolicy: { maxDepth } }, grids, { edgeTolerance: 0, areaTolerance: 0 });
          const measured = report.parents.find((s) => s.parent === 'P');
          const expected = reference(parent, children, maxDepth);
          // The report rounds to 0.01 m². The validator's overlay rounds each new intersection point to the
          // 1e-9° lattice (≤ 0.06 mm away), which moves an area by at most that times the edges it bounds.
          const snap = 0.6e-4 * expected.perimeter;
          const close = (actual: number | undefined, wanted: number) => expect(Math.abs((actual ?? NaN) - wanted)).toBeLessThanOrEqual(0.01 + snap + 1e-9 * wanted);
          close(measured?.gap_m2, expected.gap);
          close(measured?.overlap_m2, expected.overlap);
          close(measured?.outside_m2, expected.outside);
        },
      ),
      { numRuns: 150 },
    );
  });
});
