import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BankCheck } from './bank-check';
import { runCase, type BankCase, type OverlayCase } from './fixtures';
import type { OverlayReport } from './types';

const ROOT = resolve(__dirname, '../../../fixtures/overlays');
const UPDATE = process.env.UPDATE === '1';
/** m² of a 0.001° × 0.01° strip at 30.6°N (≈ 95.9 m × 1108.6 m on GRS80). */
const STRIP_M2 = 106_300;

/** What each case is about, checked beside the whole expected report. */
const INTENT: Record<string, (r: OverlayReport & BankCheck) => void> = {
  'blank-between-two-banks': (r) => {
    expect(r.blanks.map((b) => b.unit)).toEqual(['510199001001', '510199001002']);
    expect(r.summary.blank_m2 / (2 * STRIP_M2)).toBeCloseTo(1, 2);
    expect(r.overlaps).toEqual([]);
    expect(r.units.every((u) => u.flags.includes('blank'))).toBe(true);
  },
  'allowed-urban-overlap': (r) => {
    expect(r.overlaps).toHaveLength(1);
    expect(r.overlaps[0].systems).toEqual(['bank-a', 'bank-b']);
    expect(r.overlaps[0].excess).toBe(false);
    expect(r.excess).toEqual([]);
    expect(r.units[0].overlappedShare).toBeCloseTo(0.3, 3);
    expect(r.summary.blank_m2).toBe(0);
  },
  'excessive-overlap': (r) => {
    expect(r.excess.map((e) => [e.unit, e.rule, e.actual])).toEqual([
      ['510199001001', 'depth', 3],
      ['510199001002', 'share', 1],
    ]);
    expect(r.excess[0].systems).toEqual(['bank-a', 'bank-b', 'bank-c']);
    expect(r.units[0].flags).toContain('excess-depth');
    expect(r.table.find((s) => s.system === 'bank-a')!.exclusive_m2).toBe(0);
  },
  'rural-overlap': (r) => {
    expect(r.units.map((u) => u.areaType)).toEqual(['rural', 'rural']);
    expect(r.units.every((u) => u.flags.includes('rural-overlap') && u.flags.includes('excess-depth'))).toBe(true);
    expect(r.summary.overlap_m2 / (4 * STRIP_M2)).toBeCloseTo(1, 2);
    expect(r.summary.excess_m2).toBe(r.summary.overlap_m2);
  },
  'bank-grid-straddling-two-villages': (r) => {
    expect(r.straddling.map((s) => s.code)).toEqual(['A02']);
    expect(r.straddling[0].shares.map((s) => [s.unit, s.share])).toEqual([
      ['510199101201', 0.5],
      ['510199101202', 0.5],
    ]);
    expect(r.partition.issues).toEqual([]);
    expect(r.withoutWorker).toEqual([]);
  },
  'grid-with-no-worker': (r) => {
    expect(r.withoutWorker.map((g) => g.code)).toEqual(['A01']);
    expect(r.partition.issues.map((i) => i.kind)).toEqual(['gap']);
    expect(r.straddling).toEqual([]);
  },
};

describe('overlay fixtures', () => {
  const cases = readdirSync(ROOT).filter((d) => existsSync(join(ROOT, d, 'input.json')));
  it('has every case the issue asks for', () => expect(cases.sort()).toEqual(Object.keys(INTENT).sort()));

  for (const name of cases) {
    it(name, () => {
      const input = JSON.parse(readFileSync(join(ROOT, name, 'input.json'), 'utf8')) as OverlayCase | BankCase;
      const result = runCase(input) as OverlayReport & BankCheck;
      INTENT[name](result);
      const path = join(ROOT, name, 'expected.json');
      const actual = JSON.parse(JSON.stringify(result));
      if (UPDATE) {
        writeFileSync(path, JSON.stringify(actual, null, 1) + '\n');
        return;
      }
      if (!existsSync(path)) throw new Error(`missing ${path}; review the case, then create it with: UPDATE=1 npx vitest run service/geometry/overlay/fixtures.test.ts`);
      expect(actual).toEqual(JSON.parse(readFileSync(path, 'utf8')));
    });
  }
});
