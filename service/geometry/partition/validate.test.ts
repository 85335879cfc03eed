import type { MultiPolygon, Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { type PartitionGrid, type StoredGridRow, gridsDigest, keepValidationWorkerReady, polygonFromWkb, validatePartition, validateStoredSystemInWorker, validateSystem, validateSystemInWorker } from './index';
import { warmUpSystem } from './warm-up';
import { GOVERNANCE_SYSTEM, generateLatticePartition } from './testing/generate';

const d = 0.001;
const rect = (x0: number, y0: number, x1: number, y1: number): Polygon => ({
  type: 'Polygon',
  coordinates: [
    [
      [116.4 + x0 * d, 39.9 + y0 * d],
      [116.4 + x1 * d, 39.9 + y0 * d],
      [116.4 + x1 * d, 39.9 + y1 * d],
      [116.4 + x0 * d, 39.9 + y1 * d],
      [116.4 + x0 * d, 39.9 + y0 * d],
    ],
  ],
});
const grid = (code: string, parentCode: string | null, level: string, geometry: Polygon | null): PartitionGrid => ({ code, parentCode, level, geometry });

describe('validatePartition', () => {
  it('re-checks only the named parents', () => {
    const { system, grids } = generateLatticePartition({ seed: 5, columns: 8, rows: 8, cellsPerCommunity: 2, communitiesPerStreet: 2 });
    const community = grids.find((g) => g.level === 'community') as PartitionGrid;
    const report = validatePartition(system, grids, { parents: [community.code] });
    expect(report.parents.map((p) => p.parent)).toEqual([community.code]);
    expect(report.summary.gridsChecked).toBe(4);
    expect(report.issues).toEqual([]);
  });

  it('reports a named parent without children as one gap', () => {
    const grids = [grid('110101', null, 'district', rect(0, 0, 1, 1))];
    const report = validatePartition(GOVERNANCE_SYSTEM, grids, { parents: ['110101'] });
    expect(report.issues.map((i) => [i.kind, i.area_m2])).toEqual([['gap', report.parents[0].parentArea_m2]]);
    expect(report.parents[0].coverageRatio).toBe(0);
  });

  it('finds overlaps between children that match every edge (two full layers)', () => {
    // Each layer tiles the parent on its own, so the inner children of both layers have no unmatched
    // edge; only the winding number of the residual shows that they are covered twice.
    const grids = [grid('110101', null, 'district', rect(0, 0, 12, 12))];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) grids.push(grid(`110101${i}${j}1`, '110101', 'street', rect(4 * i, 4 * j, 4 * i + 4, 4 * j + 4)));
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) grids.push(grid(`110101${i}${j}2`, '110101', 'street', rect(3 * i, 3 * j, 3 * i + 3, 3 * j + 3)));
    const report = validatePartition(GOVERNANCE_SYSTEM, grids);
    const family = report.parents.find((p) => p.parent === '110101');
    expect(family?.overlap_m2).toBeCloseTo(family?.parentArea_m2 ?? 0, 1);
    expect(new Set(report.issues.flatMap((i) => i.grids)).size).toBe(25);
    expect(report.issues.every((i) => i.kind === 'overlap' && i.depth === 2)).toBe(true);
  });

  it('checks a family whose parent has no geometry for overlaps only', () => {
    const grids = [grid('110101', null, 'district', null), grid('110101001', '110101', 'street', rect(0, 0, 1.1, 1)), grid('110101002', '110101', 'street', rect(1, 0, 2, 1))];
    const report = validatePartition(GOVERNANCE_SYSTEM, grids);
    expect(report.issues.map((i) => [i.kind, i.parent])).toEqual([
      ['empty', null],
      ['overlap', '110101'],
    ]);
  });

  it('does not report what is below the tolerances, but measures it', () => {
    const grids = [grid('110101', null, 'district', rect(0, 0, 2, 1)), grid('110101001', '110101', 'street', rect(0, 0, 1, 1)), grid('110101002', '110101', 'street', rect(1.001, 0, 2, 1))];
    const report = validatePartition(GOVERNANCE_SYSTEM, grids, { areaTolerance: 20 });
    expect(report.issues).toEqual([]);
    expect(report.parents[1].gap_m2).toBeCloseTo(9.5, 0);
  });

  it('flags a grid that names itself as parent, and keeps it out of the geometry checks', () => {
    const grids = [grid('110101', '110101', 'district', rect(0, 0, 1, 1))];
    expect(validatePartition(GOVERNANCE_SYSTEM, grids).issues.map((i) => i.kind)).toEqual(['orphan']);
  });
});

describe('the validation worker kept ready', () => {
  it('warms up on a system that takes the overlay and repair paths, and validates like the main thread', async () => {
    const { system, grids } = warmUpSystem();
    const local = validateSystem(system, grids, null, {});
    // The warm-up must reach the overlay (overlap, gap) and the repair (invalid ring), or it compiles too little.
    expect(local.summary.counts).toMatchObject({ overlap: 1, invalid: 1 });
    expect(local.summary.counts.gap + local.summary.counts.sliver).toBeGreaterThan(0);
    keepValidationWorkerReady();
    const { report } = await validateSystemInWorker({ system, grids, scope: null, options: {}, fixes: false });
    expect({ ...report, generatedAt: null }).toEqual({ ...local, generatedAt: null });
  });

  it('receives a large system in parts (validate-in-worker.ts posts 2,000 grids a message) and validates all of it', async () => {
    const { system, grids } = generateLatticePartition({ seed: 7, columns: 48, rows: 48, cellsPerCommunity: 4, communitiesPerStreet: 4 });
    // One grid moved onto its neighbour: the report must name grids from whichever part they came in.
    const moved = grids.map((g, i) => (i === grids.length - 1 ? { ...g, geometry: grids[grids.length - 2]!.geometry } : g));
    expect(moved.length).toBeGreaterThan(2_000);
    const local = validateSystem(system, moved, null, {});
    expect(local.summary.counts.overlap).toBeGreaterThan(0);
    const { report } = await validateSystemInWorker({ system, grids: moved, scope: null, options: {}, fixes: false });
    expect(report.summary.gridsChecked).toBe(local.summary.gridsChecked);
    expect({ ...report, generatedAt: null }).toEqual({ ...local, generatedAt: null });
    // A stored system's rows cross in parts the same way.
    const rows = moved.map((g) => ({ ...g, version: '1', geometry: wkb(g.geometry!) }));
    const fromWkb = validateSystem(system, rows.map((r) => ({ ...r, geometry: polygonFromWkb(r.geometry) })), null, {});
    const stored = await validateStoredSystemInWorker(
      { system, scope: null, options: {}, fixes: false, source: 'validate.test:parts' },
      { digest: async () => gridsDigest(rows), read: async () => rows },
    );
    expect({ ...stored.report, generatedAt: null }).toEqual({ ...fromWkb, generatedAt: null });
  });
});

/** Base64 WKB (little-endian MultiPolygon) of a polygonal geometry, as the database sends it. */
function wkb(geometry: Polygon | MultiPolygon): string {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  const chunks: Buffer[] = [];
  const head = (type: number, count: number) => {
    const b = Buffer.alloc(9);
    b.writeUInt8(1, 0);
    b.writeUInt32LE(type, 1);
    b.writeUInt32LE(count, 5);
    chunks.push(b);
  };
  head(6, polygons.length);
  for (const rings of polygons) {
    head(3, rings.length);
    for (const ring of rings) {
      const b = Buffer.alloc(4 + 16 * ring.length);
      b.writeUInt32LE(ring.length, 0);
      ring.forEach(([x, y], i) => {
        b.writeDoubleLE(x!, 4 + 16 * i);
        b.writeDoubleLE(y!, 12 + 16 * i);
      });
      chunks.push(b);
    }
  }
  return Buffer.concat(chunks).toString('base64');
}

describe('validating a stored system again in the worker', () => {
  it('reuses grids and families only at the same row versions, and reports as a validation from scratch', async () => {
    const { system, grids } = warmUpSystem();
    const sent: number[] = [];
    const validate = async (current: PartitionGrid[], versions: Map<string, string>) => {
      const read = async (known: ReadonlyMap<string, string>): Promise<StoredGridRow[]> => {
        const rows = current.map((g) => ({ ...g, version: versions.get(g.code)!, geometry: known.get(g.code) === versions.get(g.code) ? null : wkb(g.geometry!) }));
        sent.push(rows.filter((r) => r.geometry !== null).length);
        return rows;
      };
      const digest = async () => gridsDigest(current.map((g) => ({ code: g.code, version: versions.get(g.code)! })));
      const { report } = await validateStoredSystemInWorker({ system, scope: null, options: {}, fixes: false, source: 'validate.test' }, { digest, read });
      // The oracle: the same grids as read from WKB, validated from scratch on this thread.
      const fresh = validateSystem(system, current.map((g) => ({ ...g, geometry: polygonFromWkb(wkb(g.geometry!)) })), null, {});
      expect({ ...report, generatedAt: null }).toEqual({ ...fresh, generatedAt: null });
      return report;
    };
    const v1 = new Map(grids.map((g) => [g.code, '1']));
    const first = await validate(grids, v1);
    // The same rows (digest): nothing read or sent.
    await validate(grids, v1);
    expect(sent).toEqual([grids.length]);

    // One cell moved onto its neighbour (a new row version): the worker must check it anew.
    const moved = grids.map((g) => (g.code === 'p3-3' ? { ...g, geometry: warmUpSystem().grids.find((x) => x.code === 'p3-4')!.geometry } : g));
    const third = await validate(moved, new Map(v1).set('p3-3', '2'));
    expect(sent[1]).toBe(1);
    expect(third.summary.counts.overlap).toBeGreaterThan(first.summary.counts.overlap);
    // Moved back under yet another version: as the first report again.
    const fourth = await validate(grids, new Map(v1).set('p3-3', '3'));
    expect(sent[2]).toBe(1);
    expect(fourth.issues).toEqual(first.issues);
  });
});
