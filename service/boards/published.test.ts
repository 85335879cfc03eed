import { describe, expect, it } from 'vitest';
import type { Grid } from '../kernel/types';
import { maskPhone, publishedGroups, publishedHotline, publishedPeople } from './published';

const grid = (attributes: Record<string, unknown>, people: Grid['people'] = []): Grid => ({
  system: 's', code: 'A1', parentCode: null, level: 'grid', name: 'A1', type: null, people, attributes,
  geometry: { type: 'Polygon', coordinates: [] }, geometryIssues: [], validFrom: null, validTo: null, version: 1, updatedAt: '',
});

describe('published fields', () => {
  it.each([
    ['13812345678', '138****5678'],
    ['138 1234 5678', '138****5678'],
    ['+8613812345678', '138****5678'],
    ['028-87654321', '028******21'],
    ['12345', '*****'],
    ['', null],
    [undefined, null],
  ])('masks the phone %s as %s', (phone, masked) => {
    expect(maskPhone(phone)).toBe(masked);
  });

  it('keeps name and title of people, masks their phones and drops everything else', () => {
    const people = publishedPeople(
      [
        { name: '张伟', role: 'responsible', title: '网格长', phone: '13800000001', photoUrl: 'http://x/p.jpg' },
        { name: '李娜', role: 'helper' },
      ],
      'responsible',
    );
    expect(people).toEqual([{ name: '张伟', title: '网格长', phone: '138****0001' }]);
  });

  it('takes the hotline from the grid or its nearest ancestor', () => {
    expect(publishedHotline([grid({}), grid({ 服务热线: '028-12345' }), grid({ hotline: '12345' })])).toBe('028-12345');
    expect(publishedHotline([grid({})])).toBeNull();
  });

  it('publishes known special-group counts by key or Chinese name, and nothing else', () => {
    const groups = publishedGroups(grid({ 党员: 12, elderly_alone: '3', disabled: -1, low_income: 'many', key_persons: 4, households: 300 }));
    expect(groups).toEqual([
      { key: 'party_members', count: 12 },
      { key: 'elderly_alone', count: 3 },
    ]);
  });
});
