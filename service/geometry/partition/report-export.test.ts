import { describe, expect, it } from 'vitest';
import { type PartitionGrid, reportToCsv, reportToGeoJSON, validatePartition } from './index';
import { GOVERNANCE_SYSTEM } from './testing/generate';

const rect = (x0: number, x1: number) => ({
  type: 'Polygon' as const,
  coordinates: [
    [
      [116.4 + x0 * 0.001, 39.9],
      [116.4 + x1 * 0.001, 39.9],
      [116.4 + x1 * 0.001, 39.901],
      [116.4 + x0 * 0.001, 39.901],
      [116.4 + x0 * 0.001, 39.9],
    ],
  ],
});

const grids: PartitionGrid[] = [
  { code: 'A,"1"', parentCode: null, level: 'district', geometry: rect(0, 2) },
  { code: 'A,"1"001', parentCode: 'A,"1"', level: 'street', geometry: rect(0, 1.1) },
  { code: 'A,"1"002', parentCode: 'A,"1"', level: 'street', geometry: rect(1, 2) },
  { code: 'A,"1"003', parentCode: 'A,"1"', level: 'street', geometry: null },
];

describe('report exports', () => {
  const report = validatePartition(GOVERNANCE_SYSTEM, grids);

  it('writes the per-parent summary as RFC 4180 CSV', () => {
    const csv = reportToCsv(report);
    expect(csv.endsWith('\r\n')).toBe(true);
    const lines = csv.split('\r\n').slice(0, -1);
    expect(lines[0]).toBe('system,parent,level,children,parentArea_m2,childrenArea_m2,coveredArea_m2,coverageRatio,gap_m2,overlap_m2,outside_m2,issues');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^governance,,,1,0,/);
    expect(lines[2]).toMatch(/^governance,"A,""1""",district,3,18990\.52,19940\.05,18990\.52,1,0,949\.53,0,2$/);
  });

  it('writes the drawable issues as GeoJSON features pointing back into the report', () => {
    const collection = reportToGeoJSON(report);
    expect(report.issues.map((i) => i.kind)).toEqual(['empty', 'overlap']);
    expect(collection.features).toHaveLength(1);
    expect(collection.features[0].geometry.type).toBe('Polygon');
    expect(collection.features[0].properties).toMatchObject({ index: 1, kind: 'overlap', parent: 'A,"1"', grids: ['A,"1"001', 'A,"1"002'], area_m2: 949.53, depth: 2 });
  });
});
