import type { Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { type PartitionGrid, proposeFixes, validatePartition } from './index';
import { GOVERNANCE_SYSTEM } from './testing/generate';

const d = 0.001;
const at = (x: number, y: number): [number, number] => [Math.round((116.4 + x * d) * 1e9) / 1e9, Math.round((39.9 + y * d) * 1e9) / 1e9];
const polygon = (...points: [number, number][]): Polygon => ({ type: 'Polygon', coordinates: [[...points.map(([x, y]) => at(x, y)), at(...points[0])]] });
const rect = (x0: number, y0: number, x1: number, y1: number) => polygon([x0, y0], [x1, y0], [x1, y1], [x0, y1]);

const district = (x1: number): PartitionGrid => ({ code: '110101', parentCode: null, level: 'district', geometry: rect(0, 0, x1, 1) });
const street = (n: number, geometry: Polygon): PartitionGrid => ({ code: `110101${String(n).padStart(3, '0')}`, parentCode: '110101', level: 'street', geometry });

function apply(grids: PartitionGrid[], result: { code: string; geometry: PartitionGrid['geometry'] }[]): PartitionGrid[] {
  return grids.map((g) => {
    const change = result.find((r) => r.code === g.code);
    return change ? { ...g, geometry: change.geometry } : g;
  });
}

describe('proposeFixes', () => {
  it('gives a small gap to the neighbour with the longest shared border, and the result validates clean', () => {
    // 002 lacks a notch at its top-left corner: the notch borders 001 along its west side only, 002 along two sides.
    const grids = [
      district(3),
      street(1, rect(0, 0, 1, 1)),
      street(2, polygon([1, 0], [2, 0], [2, 1], [1.05, 1], [1.05, 0.5], [1, 0.5])),
      street(3, rect(2, 0, 3, 1)),
    ];
    const report = validatePartition(GOVERNANCE_SYSTEM, grids);
    expect(report.issues.map((i) => i.kind)).toEqual(['gap']);
    expect(report.issues[0].grids).toEqual(['110101002', '110101001']);

    const [fix, ...rest] = proposeFixes(GOVERNANCE_SYSTEM, grids, report);
    expect(rest).toEqual([]);
    expect(fix).toMatchObject({ issue: 0, kind: 'gap', absorb: '110101002', area_m2: report.issues[0].area_m2 });
    expect(fix.sharedBorder_m).toBeCloseTo(55.5 + 4.27, 0);
    expect(fix.result.map((r) => r.code)).toEqual(['110101002']);
    expect(fix.result[0].geometry.type).toBe('MultiPolygon');
    expect(validatePartition(GOVERNANCE_SYSTEM, apply(grids, fix.result)).issues).toEqual([]);
  });

  it('cuts an intruding grid back so the intruded one keeps its area', () => {
    const grids = [district(2), street(1, polygon([0, 0], [1, 0], [1.05, 0.5], [1, 1], [0, 1])), street(2, rect(1, 0, 2, 1))];
    const report = validatePartition(GOVERNANCE_SYSTEM, grids);
    expect(report.issues.map((i) => i.kind)).toEqual(['overlap']);

    const [fix] = proposeFixes(GOVERNANCE_SYSTEM, grids, report);
    expect(fix).toMatchObject({ kind: 'overlap', absorb: '110101002' });
    expect(fix.result.map((r) => r.code)).toEqual(['110101001']);
    expect(validatePartition(GOVERNANCE_SYSTEM, apply(grids, fix.result)).issues).toEqual([]);
  });

  it('closes a sliver, and leaves issues above maxArea_m2 to people', () => {
    const grids = [district(2), street(1, rect(0, 0, 1, 1)), street(2, rect(1.015, 0, 2, 1))];
    const report = validatePartition(GOVERNANCE_SYSTEM, grids);
    expect(report.issues.map((i) => i.kind)).toEqual(['sliver']);
    const [fix] = proposeFixes(GOVERNANCE_SYSTEM, grids, report);
    expect(validatePartition(GOVERNANCE_SYSTEM, apply(grids, fix.result)).issues).toEqual([]);
    expect(proposeFixes(GOVERNANCE_SYSTEM, grids, report, { maxArea_m2: 10 })).toEqual([]);
  });
});
