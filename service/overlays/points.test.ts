import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { checkBankOutlets, checkOutlets, parsePoints } from './points';

const square: Polygon = { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]] };
const point = (properties: Record<string, unknown>, coordinates: unknown = [0.5, 0.5]) => ({ type: 'Feature', properties, geometry: { type: 'Point', coordinates } });

describe('bank points', () => {
  it('reads outlets and equipment, listing every bad feature with its index and field', () => {
    const { points, errors } = parsePoints(
      { type: 'FeatureCollection', features: [point({ kind: '网点', name: '一号网点', grid: 'A' }), point({ kind: 'bus', name: 'x' }), point({ kind: 'atm', name: 'y', grid: 'Z' }), point({ kind: 'atm', name: 'z' }, [200, 0])] },
      new Set(['A']),
    );
    expect(points).toEqual([{ kind: 'outlet', name: '一号网点', grid: 'A', lon: 0.5, lat: 0.5 }]);
    expect(errors.map((e) => [e.index, e.field])).toEqual([
      [1, 'kind'],
      [2, 'grid'],
      [3, 'geometry'],
    ]);
  });

  it('lists grids with no outlet and points outside the grid they name', () => {
    const grids = new Map([
      ['A', square],
      ['B', square],
    ]);
    const check = checkOutlets(
      [
        { code: 'A', name: '甲' },
        { code: 'B', name: '乙' },
      ],
      grids,
      [
        { kind: 'outlet', name: '甲网点', grid: 'A', lon: 0.5, lat: 0.5 },
        { kind: 'atm', name: '乙自助', grid: 'B', lon: 2, lat: 2 },
      ],
    );
    expect(check.missing).toEqual([{ code: 'B', name: '乙' }]);
    expect(check.outside).toEqual([{ name: '乙自助', kind: 'atm', grid: 'B', location: [2, 2] }]);
  });
});

/** fixtures/outlets/<case>: a bank's grids and its points as imported, with the expected outlet check. */
describe('outlet fixtures', () => {
  const root = resolve(__dirname, '../../fixtures/outlets');
  for (const name of readdirSync(root)) {
    it(name, () => {
      const input = JSON.parse(readFileSync(join(root, name, 'input.json'), 'utf8')) as {
        levels: { key: string; order: number }[];
        grids: FeatureCollection<Polygon | MultiPolygon>;
        points: unknown;
      };
      const grids = input.grids.features.map((f) => ({ code: String(f.properties!.code), name: String(f.properties!.name), level: String(f.properties!.level), geometry: f.geometry }));
      const { points, errors } = parsePoints(input.points, new Set(grids.map((g) => g.code)));
      const check = checkBankOutlets(input.levels, grids, points);
      const actual = { errors, ...check };
      const path = join(root, name, 'expected.json');
      if (process.env.UPDATE === '1') writeFileSync(path, JSON.stringify(actual, null, 1) + '\n');
      expect(actual).toEqual(JSON.parse(readFileSync(path, 'utf8')));
    });
  }
});
