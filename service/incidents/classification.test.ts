import { describe, expect, it } from 'vitest';
import fixture from '../../fixtures/incidents/classification.json';
import { caseNumber } from './case-number';
import { Classification } from './classification';
import { escalation, routeCase, type ChainUnit } from './routing';
import { ROUTES } from './workflow';

const classification = new Classification(fixture);
const chain: ChainUnit[] = [
  { code: '510199001001001', name: '一网格', level: 'grid', levelName: '网格' },
  { code: '510199001001', name: '一社区', level: 'community', levelName: '社区' },
  { code: '510199001', name: '一街道', level: 'street', levelName: '街道' },
  { code: '510199', name: '青川区', level: 'district', levelName: '区县' },
];

describe('the shipped classification', () => {
  it('has 6 major classes, every route, and a department and time limit that resolve', () => {
    const { classes } = classification.doc;
    expect(classes).toHaveLength(6);
    const minors = classes.flatMap((c) => c.minor);
    expect(new Set(minors.map((m) => m.route))).toEqual(new Set(ROUTES));
    for (const m of minors) {
      if (m.department) expect(classification.department(m.department).key).toBe(m.department);
      expect(m.timeLimits.handle.amount).toBeGreaterThan(0);
    }
  });

  it('rejects an unknown category with a coded 422', () => {
    expect(() => classification.category('9999')).toThrow(expect.objectContaining({ status: 422, code: 'unknown_category' }));
  });

  it('rejects an inconsistent classification naming the class', () => {
    const bad = structuredClone(fixture);
    bad.classes[0]!.minor[0]!.code = '0201';
    expect(() => new Classification(bad)).toThrow(/minor class "0201" must extend its major class code "01"/);
    const missing = structuredClone(fixture);
    missing.classes[0]!.minor[0]!.department = 'nobody';
    expect(() => new Classification(missing)).toThrow(/department "nobody"/);
  });

  it('takes the domain rule as the default register limits: community within 2 h, street within half a working day', () => {
    expect(classification.registerWithin(1)).toEqual({ type: 'natural_hours', amount: 2 });
    expect(classification.registerWithin(2)).toEqual({ type: 'working_days', amount: 0.5 });
    expect(classification.registerWithin(7)).toEqual({ type: 'working_days', amount: 0.5 });
  });
});

describe('routing over the chain', () => {
  it('keeps small problems in the grid, ordinary ones in the community, serious ones in the street', () => {
    expect(routeCase(chain, classification.category('0101'))).toMatchObject({ handlingLevel: 0, handling: { code: chain[0]!.code }, responsible: { code: chain[0]!.code } });
    expect(routeCase(chain, classification.category('0601'))).toMatchObject({ handlingLevel: 1, handling: { code: chain[1]!.code } });
    expect(routeCase(chain, classification.category('0401'))).toMatchObject({ route: 'urgent', handlingLevel: 2, handling: { code: chain[2]!.code } });
  });

  it('lifts a route to its lowest level and stops at the top of a short chain', () => {
    expect(routeCase(chain, classification.category('0101'), 'coordination').handlingLevel).toBe(1);
    expect(routeCase(chain.slice(0, 2), classification.category('0401')).handlingLevel).toBe(1);
  });

  it('escalates one level of the chain at a time, and not past its top', () => {
    expect(escalation(chain, 1).handling.code).toBe(chain[2]!.code);
    expect(() => escalation(chain, 3)).toThrow(expect.objectContaining({ status: 409, code: 'no_higher_level' }));
  });
});

describe('case numbers', () => {
  it('are unit code + Beijing date + sequence', () => {
    expect(caseNumber('510199001001001', new Date('2026-12-02T17:30:00Z'), 7)).toBe('510199001001001-20261203-0007');
    expect(caseNumber('A1', new Date('2026-12-02T15:59:59Z'), 12345)).toBe('A1-20261202-12345');
  });
});
