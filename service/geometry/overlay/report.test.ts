import { describe, expect, it } from 'vitest';
import type { Polygon } from 'geojson';
import { createRandom } from '../../demo/random';
import { alignGrids } from './alignment';
import { frameFor, toRings } from './boolean';
import { AreaMeter } from './measure';
import { areaTypeOf } from './policy';
import { buildOverlayReport } from './report';
import { DEFAULT_POLICY, type OverlayInput } from './types';

const STEP = 0.001;
const rect = (x0: number, y0: number, x1: number, y1: number): Polygon => ({
  type: 'Polygon',
  coordinates: [[[104 + x0 * STEP, 30 + y0 * STEP], [104 + x1 * STEP, 30 + y0 * STEP], [104 + x1 * STEP, 30 + y1 * STEP], [104 + x0 * STEP, 30 + y1 * STEP], [104 + x0 * STEP, 30 + y0 * STEP]]],
});

/**
 * Random rectangles on a 0.001° lattice over a territory cut into four units: the depth of every lattice
 * cell is known by counting, so the area at each depth and every unit's shares have an exact answer that
 * owes nothing to the overlay (areas are additive over cells on the ellipsoid).
 */
describe('buildOverlayReport against cell counting', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}`, () => {
      const random = createRandom(seed);
      const N = 12;
      const units = [rect(0, 0, 6, 6), rect(6, 0, 12, 6), rect(0, 6, 6, 12), rect(6, 6, 12, 12)].map((geometry, k) => ({ code: `U${k}`, name: `单元${k}`, type: k === 3 ? '农村' : '城市社区', geometry }));
      const systems: OverlayInput['systems'] = ['s1', 's2', 's3'].map((key) => ({
        key,
        name: key,
        grids: Array.from({ length: 3 }, (_, g) => {
          const x0 = Math.floor(random() * (N + 2)) - 1;
          const y0 = Math.floor(random() * (N + 2)) - 1;
          return { system: key, code: `${key}-${g}`, name: `${key}-${g}`, geometry: rect(x0, y0, x0 + 1 + Math.floor(random() * 6), y0 + 1 + Math.floor(random() * 6)) };
        }),
      }));
      const report = buildOverlayReport({ territory: { system: 'gov', code: 'T', name: '区', geometry: rect(0, 0, N, N) }, units, systems, policy: { ...DEFAULT_POLICY, areaTolerance: 0 } });

      const bbox: [number, number, number, number] = [104, 30, 104 + N * STEP, 30 + N * STEP];
      const frame = frameFor(bbox);
      const meter = new AreaMeter(frame, bbox);
      const depth = new Map<number, number>();
      const shares = units.map(() => systems.map(() => 0));
      const unitArea = units.map(() => 0);
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          const cell = meter.area(toRings(frame, [rect(i, j, i + 1, j + 1).coordinates]));
          const inside = (g: Polygon) => {
            const [[x0, y0], , [x1, y1]] = g.coordinates[0];
            return 104 + (i + 0.5) * STEP > x0 && 104 + (i + 0.5) * STEP < x1 && 30 + (j + 0.5) * STEP > y0 && 30 + (j + 0.5) * STEP < y1;
          };
          const covering = systems.map((s) => s.grids.some((g) => inside(g.geometry as Polygon)));
          const d = covering.filter(Boolean).length;
          depth.set(d, (depth.get(d) ?? 0) + cell);
          const u = (i < 6 ? 0 : 1) + (j < 6 ? 0 : 2);
          unitArea[u] += cell;
          covering.forEach((c, s) => c && (shares[u][s] += cell));
        }
      }
      for (const [d, area] of depth) expect(report.summary.depth_m2[String(d)], `depth ${d}`).toBeCloseTo(area, 0);
      report.units.forEach((row, u) => {
        expect(row.area_m2).toBeCloseTo(unitArea[u], 0);
        systems.forEach((s, k) => expect(row.shares[s.key]).toBeCloseTo(shares[u][k] / unitArea[u], 5));
      });
      expect(report.faces.reduce((sum, f) => sum + f.area_m2, 0)).toBeCloseTo(report.summary.area_m2, 0);
      expect(report.units[3].areaType).toBe('rural');
      report.units.forEach((row) => expect(row.present).toBe(Object.values(row.shares).filter((x) => x > 0).length));
      report.units.forEach((row) => expect(row.flags.includes('blank')).toBe(row.uncoveredShare > 0));
    });
  }
});

describe('areaTypeOf', () => {
  it.each([
    ['城市社区', 'urban'],
    ['农村社区', 'rural'],
    ['行政村', 'rural'],
    ['Rural village', 'rural'],
    [null, 'urban'],
  ] as const)('%s → %s', (type, expected) => expect(areaTypeOf(type)).toBe(expected));
});

describe('alignGrids', () => {
  it('gives each grid of A its shares in B, largest first, and lists those below the threshold', () => {
    const b = [rect(0, 0, 5, 10), rect(5, 0, 10, 10)].map((geometry, k) => ({ system: 'b', code: `B${k}`, name: `B${k}`, geometry }));
    const a = [rect(0, 0, 5, 10), rect(3, 0, 7, 10), rect(9, 0, 11, 10)].map((geometry, k) => ({ system: 'a', code: `A${k}`, name: `A${k}`, geometry }));
    const report = alignGrids({ key: 'a', grids: a }, { key: 'b', grids: b });
    expect(report.grids.map((g) => [g.code, g.shares.map((s) => [s.code, Number(s.share.toFixed(3))])])).toEqual([
      ['A0', [['B0', 1]]],
      ['A1', [['B0', 0.5], ['B1', 0.5]]],
      ['A2', [['B1', 0.5]]],
    ]);
    expect(report.straddling).toEqual(['A1', 'A2']);
    expect(report.grids[2].outsideShare).toBeCloseTo(0.5, 5);
    expect(alignGrids({ key: 'a', grids: a }, { key: 'b', grids: b }, 0.4).straddling).toEqual([]);
  });
});
