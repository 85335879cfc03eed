import { describe, expect, it } from 'vitest';
import { AddressCells, type AddressCellRow } from './address-cells';
import { mercatorX, mercatorY } from './tile-math';

/** Finest cells of random addresses, summed as the database sums them (address-queries.ts). */
function cellRows(cells: AddressCells, addresses: [number, number, number][]): AddressCellRow[] {
  const rows = new Map<string, AddressCellRow>();
  for (const [lon, lat, households] of addresses) {
    const mx = mercatorX(lon);
    const my = mercatorY(lat);
    const cx = Math.floor(mx * cells.cellsPerAxis);
    const cy = Math.floor(my * cells.cellsPerAxis);
    const row = rows.get(`${cx}/${cy}`) ?? { cx, cy, n: 0, households: 0, population: 0, sx: 0, sy: 0 };
    row.n++;
    row.households += households;
    row.population += 2 * households;
    row.sx += mx;
    row.sy += my;
    rows.set(`${cx}/${cy}`, row);
  }
  return [...rows.values()];
}

/** Seeded, so a failure repeats. */
function addressesAround(seed: number, count: number): [number, number, number][] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: count }, () => [104 + 0.1 * next(), 30.6 + 0.1 * next(), Math.floor(5 * next())]);
}

/** Every cell of zoom z around the test area (the world has 2^38 cells at zoom 15: too many to scan). */
const all = (cells: AddressCells, z: number) => {
  const r = cells.rangeOf([103.9, 30.5, 104.2, 30.8]);
  const d = cells.maxzoom - z;
  return cells.cells(z, r.x0 >> d, r.x1 >> d, r.y0 >> d, r.y1 >> d);
};
const total = (cells: AddressCells, z: number) => all(cells, z).reduce((t, c) => ({ n: t.n + c.n, households: t.households + c.households }), { n: 0, households: 0 });

describe('AddressCells', () => {
  it('sums every zoom from the finest cells', () => {
    const cells = new AddressCells(15, 4);
    const addresses = addressesAround(1, 2000);
    cells.load(cellRows(cells, addresses));
    const households = addresses.reduce((t, a) => t + a[2], 0);
    for (const z of [15, 10, 5, 0]) expect(total(cells, z)).toEqual({ n: 2000, households });
    expect(all(cells, 0)).toHaveLength(1);
    const [cell] = all(cells, 0);
    expect(cell!.sx / cell!.n).toBeCloseTo(mercatorX(104.05), 4);
  });

  it('replaces a range and the sums above it exactly as a fresh load would', () => {
    const cells = new AddressCells(15, 4);
    const before = addressesAround(2, 1000);
    cells.load(cellRows(cells, before));
    // Addresses in a box move away and new ones come in.
    const box: [number, number, number, number] = [104.02, 30.62, 104.05, 30.64];
    const inBox = ([lon, lat]: [number, number, number]) => lon >= box[0] && lon <= box[2] && lat >= box[1] && lat <= box[3];
    const after = [...before.filter((a) => !inBox(a)), ...addressesAround(3, 300).filter(inBox)];
    const range = cells.rangeOf(box);
    cells.replace(range, cellRows(cells, after));
    const fresh = new AddressCells(15, 4);
    fresh.load(cellRows(fresh, after));
    // Sums of positions differ in the last bits: the same numbers are added in another order.
    const rounded = (list: ReturnType<typeof all>) => list.map((c) => ({ ...c, sx: c.sx.toFixed(12), sy: c.sy.toFixed(12) }));
    for (const z of [15, 12, 8, 3, 0]) expect(rounded(all(cells, z))).toEqual(rounded(all(fresh, z)));
  });

  it('maps boxes to cell ranges and back, and knows its bounds', () => {
    const cells = new AddressCells(15, 4);
    expect(cells.bounds()).toBeNull();
    cells.load(cellRows(cells, [[104.0, 30.6, 1], [104.1, 30.7, 1]]));
    const [w, s, e, n] = cells.bounds()!;
    expect(w).toBeLessThanOrEqual(104.0);
    expect(e).toBeGreaterThan(104.1);
    expect(s).toBeLessThanOrEqual(30.6);
    expect(n).toBeGreaterThan(30.7);
    // A cell is 360° / 2^19 wide: about 0.0007°.
    expect(e - 104.1).toBeLessThan(360 / 2 ** 19);
    const range = cells.rangeOf([104.0, 30.6, 104.0, 30.6]);
    expect(range.x0).toBe(range.x1);
    const [cw, cs, ce, cn] = cells.boundsOf(range);
    expect(cw <= 104 && 104 < ce && cs <= 30.6 && 30.6 < cn).toBe(true);
  });

  it('refuses zooms whose cell keys would not be exact', () => {
    expect(() => new AddressCells(24, 4)).toThrow(/maxzoom 24 and bits 4/);
  });
});
