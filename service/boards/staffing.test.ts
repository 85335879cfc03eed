import { describe, expect, it } from 'vitest';
import type { Grid, Person } from '../kernel/types';
import { staffingReport } from './staffing';

const grid = (code: string, level: string, people: Person[]): Grid => ({
  system: 's', code, parentCode: null, level, name: code, type: null, people, attributes: {},
  geometry: { type: 'Polygon', coordinates: [] }, geometryIssues: [], validFrom: null, validTo: null, version: 1, updatedAt: '',
});
const lead = (name: string): Person => ({ name, role: 'responsible' });
const helper = (name: string): Person => ({ name, role: 'helper' });

describe('one worker per grid', () => {
  const grids = [grid('A2', 'grid', [lead('甲'), lead('乙')]), grid('A1', 'grid', [helper('丙')]), grid('A3', 'grid', [lead('丁'), helper('戊')]), grid('A', 'community', [])];

  it('lists grids with no responsible person and with more than one; helpers do not count', () => {
    const report = staffingReport('s', grids, { under: null, level: null });
    expect(report.checked).toBe(4);
    expect(report.missing.map((g) => g.code)).toEqual(['A', 'A1']);
    expect(report.multiple).toEqual([{ code: 'A2', name: 'A2', level: 'grid', parent: null, responsible: ['甲', '乙'] }]);
  });

  it('checks one level only when asked', () => {
    const report = staffingReport('s', grids, { under: 'A', level: 'grid' });
    expect(report).toMatchObject({ under: 'A', level: 'grid', checked: 3 });
    expect(report.missing.map((g) => g.code)).toEqual(['A1']);
  });
});
