import { describe, expect, it } from 'vitest';
import { levelMinzooms, median } from './levels';

const levels = [
  { key: 'grid', order: 4 },
  { key: 'district', order: 1 },
  { key: 'street', order: 2 },
  { key: 'community', order: 3 },
];
// Larger bbox side as a fraction of the Mercator world (40,075 km at the equator; ×cos φ elsewhere).
const km = (n: number) => n / 40075;

describe('levelMinzooms', () => {
  it.each<[string, Record<string, number>, Record<string, number>]>([
    ['a city: 30 km district, 5 km streets, 1.5 km communities, 300 m grids', { district: km(30), street: km(5), community: km(1.5), grid: km(0.3) }, { district: 0, street: 10, community: 12, grid: 14 }],
    ['a level never comes before the level above it', { district: km(30), street: km(5), community: km(10), grid: km(0.3) }, { district: 0, street: 10, community: 10, grid: 14 }],
    ['a level without grids comes two zooms after the one above', { district: km(30), street: km(5), grid: km(0.3) }, { district: 0, street: 10, community: 12, grid: 14 }],
    ['tiny grids stop at maxzoom', { district: km(30), street: km(0.001), community: km(0.0001), grid: km(0.00001) }, { district: 0, street: 18, community: 18, grid: 18 }],
    ['an empty system', {}, { district: 0, street: 2, community: 4, grid: 6 }],
  ])('%s', (_name, sizes, expected) => {
    expect(Object.fromEntries(levelMinzooms(levels, new Map(Object.entries(sizes)), 18))).toEqual(expected);
  });
});

describe('median', () => {
  it.each<[number[], number | undefined]>([
    [[], undefined],
    [[3], 3],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2],
  ])('%j → %s', (values, m) => {
    expect(median(values)).toBe(m);
  });
});
