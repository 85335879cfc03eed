import { area as turfArea, difference as turfDifference, featureCollection, kinks, polygon as turfPolygon } from '@turf/turf';
import fc from 'fast-check';
import type { Polygon, Position } from 'geojson';
import { describe, expect, it } from 'vitest';
import { type PartitionGrid, validatePartition } from './index';
import { GOVERNANCE_SYSTEM, generateLatticePartition, seededRandom } from './testing/generate';

type Point = [number, number];
const snap = (v: number) => Math.round(v * 1e9) / 1e9;

/** Splits a convex polygon by the line through `through` at `angle`; the crossing points are snapped and shared. */
function cut(ring: Point[], through: Point, angle: number): [Point[], Point[]] {
  const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
  const side = (p: Point) => (p[0] - through[0]) * dy - (p[1] - through[1]) * dx;
  const left: Point[] = [];
  const right: Point[] = [];
  ring.forEach((p, i) => {
    const q = ring[(i + 1) % ring.length];
    const sp = side(p);
    const sq = side(q);
    (sp <= 0 ? left : right).push(p);
    if ((sp < 0 && sq > 0) || (sp > 0 && sq < 0)) {
      const t = sp / (sp - sq);
      const x: Point = [snap(p[0] + t * (q[0] - p[0])), snap(p[1] + t * (q[1] - p[1]))];
      left.push(x);
      right.push(x);
    }
  });
  return [left, right];
}

function ringArea(ring: Point[]): number {
  return ring.reduce((s, p, i) => s + p[0] * ring[(i + 1) % ring.length][1] - ring[(i + 1) % ring.length][0] * p[1], 0) / 2;
}

/** Splits a convex ring into `count` convex pieces by cuts through the largest piece's centroid. */
function split(ring: Point[], count: number, random: () => number): Point[][] {
  const pieces = [ring];
  while (pieces.length < count) {
    pieces.sort((a, b) => ringArea(b) - ringArea(a));
    const largest = pieces[0];
    const centroid: Point = [largest.reduce((s, p) => s + p[0], 0) / largest.length, largest.reduce((s, p) => s + p[1], 0) / largest.length];
    const [a, b] = cut(largest, centroid, random() * Math.PI);
    if (a.length < 3 || b.length < 3) continue;
    pieces.splice(0, 1, a, b);
  }
  return pieces;
}

const toPolygon = (ring: Point[]): Polygon => ({ type: 'Polygon', coordinates: [[...ring, ring[0]]] });

describe('properties', () => {
  it('a polygon split recursively into children validates clean', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer(),
          lon: fc.double({ min: 100, max: 125, noNaN: true }),
          lat: fc.double({ min: 20, max: 45, noNaN: true }),
          radius: fc.double({ min: 0.002, max: 0.05, noNaN: true }),
          vertices: fc.integer({ min: 3, max: 12 }),
          children: fc.integer({ min: 1, max: 6 }),
          grandchildren: fc.integer({ min: 1, max: 5 }),
        }),
        ({ seed, lon, lat, radius, vertices, children, grandchildren }) => {
          const random = seededRandom(seed);
          const angles = Array.from({ length: vertices }, (_, i) => ((i + 0.2 + 0.6 * random()) / vertices) * 2 * Math.PI);
          const root: Point[] = angles.map((a) => [snap(lon + radius * Math.cos(a)), snap(lat + radius * Math.sin(a))]);
          const grids: PartitionGrid[] = [{ code: '1', parentCode: null, level: 'district', geometry: toPolygon(root) }];
          split(root, children, random).forEach((child, i) => {
            const code = `1${String(i + 1).padStart(2, '0')}`;
            grids.push({ code, parentCode: '1', level: 'street', geometry: toPolygon(child) });
            split(child, grandchildren, random).forEach((g, j) => grids.push({ code: `${code}${String(j + 1).padStart(2, '0')}`, parentCode: code, level: 'community', geometry: toPolygon(g) }));
          });
          const report = validatePartition(GOVERNANCE_SYSTEM, grids);
          expect(report.issues).toEqual([]);
          for (const p of report.parents.filter((s) => s.parent !== null)) expect(p.coverageRatio).toBeGreaterThan(1 - 1e-6);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('moving one shared vertex of one child is always caught, with the area of an independent computation', () => {
    const { grids } = generateLatticePartition({ seed: 3, columns: 8, rows: 8, cellsPerCommunity: 4, communitiesPerStreet: 2 });
    const communities = grids.filter((g) => g.level === 'community');
    const cells = grids.filter((g) => g.level === 'grid');
    fc.assert(
      fc.property(
        fc.record({
          cell: fc.integer({ min: 0, max: cells.length - 1 }),
          vertex: fc.nat(),
          distance: fc.double({ min: 2, max: 10, noNaN: true }),
          bearing: fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        }),
        ({ cell, vertex, distance, bearing }) => {
          const child = cells[cell];
          const parent = communities.find((c) => c.code === child.parentCode);
          const ring = (child.geometry as Polygon).coordinates[0].slice(0, -1);
          const onParent = new Set((parent?.geometry as Polygon).coordinates[0].map((p) => p.join(',')));
          const interior = ring.map((p, i) => i).filter((i) => !onParent.has(ring[i].join(',')));
          fc.pre(interior.length > 0);
          const at = interior[vertex % interior.length];
          const [lon, lat] = ring[at];
          const moved: Position = [lon + (distance * Math.cos(bearing)) / (111320 * Math.cos((lat * Math.PI) / 180)), lat + (distance * Math.sin(bearing)) / 110950];
          const newRing = ring.map((p, i) => (i === at ? moved : p));
          const before = turfPolygon([[...ring, ring[0]]]);
          const after = turfPolygon([[...newRing, newRing[0]]]);
          fc.pre(kinks(after).features.length === 0);

          const edited = grids.map((g) => (g === child ? { ...g, geometry: after.geometry } : g));
          const report = validatePartition(GOVERNANCE_SYSTEM, edited, { areaTolerance: 0.01, edgeTolerance: 0, parents: [child.parentCode as string] });
          const kinds = new Set(report.issues.map((i) => i.kind));
          expect(kinds.size).toBeGreaterThan(0);
          for (const kind of kinds) expect(['overlap', 'gap', 'sliver']).toContain(kind);
          for (const issue of report.issues) expect(issue.grids).toContain(child.code);

          const gained = turfDifference(featureCollection([after, before]));
          const lost = turfDifference(featureCollection([before, after]));
          const expectedOverlap = gained ? turfArea(gained) : 0;
          const expectedGap = lost ? turfArea(lost) : 0;
          const summary = report.parents[0];
          // turf measures on a sphere, the validator on the GRS80 ellipsoid: they differ by up to ~0.5%.
          expect(Math.abs(summary.overlap_m2 - expectedOverlap)).toBeLessThanOrEqual(0.01 * expectedOverlap + 0.02);
          expect(Math.abs(summary.gap_m2 - expectedGap)).toBeLessThanOrEqual(0.01 * expectedGap + 0.02);
        },
      ),
      { numRuns: 100 },
    );
  });
});
