import type { Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { validatePartition } from './index';
import { generateLatticePartition } from './testing/generate';

/** Timing is logged, not asserted: machines differ. The assertions are about what was found. */
function timed<T>(label: string, run: () => T): T {
  run();
  const started = performance.now();
  const result = run();
  console.log(`${label}: ${(performance.now() - started).toFixed(0)} ms`);
  return result;
}

describe('performance (clean families are proven without overlay)', () => {
  for (const [columns, cellsPerCommunity] of [
    [32, 4],
    [100, 5],
  ]) {
    const { system, grids } = generateLatticePartition({ seed: 11, columns, rows: columns, cellsPerCommunity, communitiesPerStreet: 4 });

    it(`validates a clean ${grids.length}-grid partition`, () => {
      const report = timed(`validatePartition, ${grids.length} grids, clean`, () => validatePartition(system, grids));
      expect(report.issues).toEqual([]);
      expect(report.summary.gridsChecked).toBe(grids.length);
      expect(report.summary.coverageRatio).toBe(1);
    });

    it(`finds one moved vertex among ${grids.length} grids, overlaying only around it`, () => {
      const target = grids.findIndex((g) => g.level === 'grid' && g.code.endsWith('007'));
      const edited = grids.map((g, i) => {
        if (i !== target) return g;
        const ring = (g.geometry as Polygon).coordinates[0].map((p) => [...p]);
        ring[4][0] += 0.00005;
        return { ...g, geometry: { type: 'Polygon' as const, coordinates: [ring] } };
      });
      const report = timed(`validatePartition, ${grids.length} grids, one vertex moved`, () => validatePartition(system, edited));
      expect(report.issues.map((i) => i.kind)).toContain('overlap');
      for (const issue of report.issues) expect(issue.grids).toContain(grids[target].code);
    });
  }
});
