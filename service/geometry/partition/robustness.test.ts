import fc from 'fast-check';
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { describe, expect, it } from 'vitest';
import { type PartitionGrid, checkGeometry, validatePartition } from './index';
import { GOVERNANCE_SYSTEM } from './testing/generate';

const L = 116.4;
const B = 39.9;

/** Positions from a small lattice, so rings repeat points, run along each other and cross. */
const position: fc.Arbitrary<Position> = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 })).map(([i, j]): Position => [L + i * 0.0005, B + j * 0.0005]) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 })).map(([i, j]): Position => [L + i * 0.0005 + 3e-12, B + j * 0.0005 - 2e-12]) },
  { weight: 1, arbitrary: fc.constantFrom<Position>([Number.NaN, B], [L, Number.POSITIVE_INFINITY], [500, B], [L]) },
);

/** Rings that may be collapsed, unclosed, self-intersecting, spiked or full of duplicates. */
const ring: fc.Arbitrary<Position[]> = fc
  .record({ points: fc.array(position, { minLength: 0, maxLength: 9 }), close: fc.boolean() })
  .map(({ points, close }) => (close && points.length > 0 ? [...points, points[0]] : points));

const geometry: fc.Arbitrary<Polygon | MultiPolygon | null> = fc.oneof(
  fc.constant(null),
  fc.array(ring, { minLength: 0, maxLength: 3 }).map((rings): Polygon => ({ type: 'Polygon', coordinates: rings })),
  fc.array(fc.array(ring, { minLength: 1, maxLength: 2 }), { minLength: 0, maxLength: 3 }).map((polygons): MultiPolygon => ({ type: 'MultiPolygon', coordinates: polygons })),
);

const square: Polygon = {
  type: 'Polygon',
  coordinates: [
    [
      [L, B],
      [L + 0.002, B],
      [L + 0.002, B + 0.002],
      [L, B + 0.002],
      [L, B],
    ],
  ],
};

describe('robustness', () => {
  it('never crashes on broken geometries, and names every invalid or empty grid', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(square), geometry), fc.array(geometry, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 3 }), (parent, children, maxDepth) => {
        const grids: PartitionGrid[] = [
          { code: '110101', parentCode: null, level: 'district', geometry: parent },
          ...children.map((g, i) => ({ code: `110101${String(i + 1).padStart(3, '0')}`, parentCode: '110101', level: 'street', geometry: g })),
        ];
        const report = validatePartition({ ...GOVERNANCE_SYSTEM, overlapPolicy: { maxDepth } }, grids, { areaTolerance: 0.01 });
        const named = new Set(report.issues.filter((i) => i.kind === 'invalid' || i.kind === 'empty').flatMap((i) => i.grids));
        for (const grid of grids) {
          if (checkGeometry(grid.geometry).length > 0) expect(named, `${grid.code} ${JSON.stringify(grid.geometry)}`).toContain(grid.code);
        }
        for (const issue of report.issues) {
          // A gap names the children along it, and a gap no child touches has none.
          if (issue.kind !== 'gap' && issue.kind !== 'sliver') expect(issue.grids.length).toBeGreaterThan(0);
          if (issue.area_m2 !== null) expect(Number.isFinite(issue.area_m2)).toBe(true);
        }
        for (const summary of report.parents) expect(Number.isFinite(summary.coverageRatio)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('rejects options and systems it cannot use, naming the bad value', () => {
    expect(() => validatePartition(GOVERNANCE_SYSTEM, [], { areaTolerance: -1 })).toThrow(/areaTolerance must be a finite number ≥ 0, got -1/);
    expect(() => validatePartition({ ...GOVERNANCE_SYSTEM, overlapPolicy: { maxDepth: 0 } }, [])).toThrow(/maxDepth of system governance must be an integer ≥ 1, got 0/);
    expect(() => validatePartition({ ...GOVERNANCE_SYSTEM, levels: [{ key: 'a', order: 1 }, { key: 'a', order: 2 }] }, [])).toThrow(/level a appears twice/);
  });
});
