import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { ACTIONS, ROUTES, STATUSES, WORKFLOWS, decide, fills, type ActorRef, type ActorRole, type Route, type Status } from './workflow';

/** Every kind of caller a case can meet, at a handling level of 1 (the grid's parent). */
const HANDLING = 1;
const ROLES: ActorRole[] = [
  { kind: 'grid_worker' },
  { kind: 'unit_officer', offset: 0 },
  { kind: 'unit_officer', offset: 1 },
  { kind: 'unit_officer', offset: 2 },
  { kind: 'unit_officer', offset: 3 },
  { kind: 'department', own: true },
  { kind: 'department', own: false },
  { kind: 'command_centre' },
];

function thrown(f: () => unknown): AppError {
  try {
    f();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

// Generated from the tables: every (route, status, action, caller) either works as the table says,
// is a 403 for a caller the row does not name, or is a 409 listing the allowed actions.
describe.each(ROUTES)('the %s transition table', (route) => {
  const table = WORKFLOWS[route];
  for (const status of STATUSES) {
    for (const action of ACTIONS) {
      const row = table.find((r) => r.action === action && r.from.includes(status));
      if (row) {
        it(`${status} --${action}--> ${row.to ?? status}`, () => {
          for (const role of ROLES) {
            const may = row.by.some((ref) => fills(ref, role, HANDLING));
            if (may) expect(decide(route, status, action, role, HANDLING)).toBe(row.to ?? status);
            else expect(thrown(() => decide(route, status, action, role, HANDLING))).toMatchObject({ status: 403, code: 'actor_not_allowed' });
          }
          expect(ROLES.some((role) => row.by.some((ref) => fills(ref, role, HANDLING)))).toBe(true);
        });
      } else {
        it(`${status} --${action}--> 409`, () => {
          const allowed = table.filter((r) => r.from.includes(status)).map((r) => r.action);
          for (const role of ROLES) {
            const err = thrown(() => decide(route, status, action, role, HANDLING));
            expect(err).toMatchObject({ status: 409, code: 'transition_not_allowed' });
            expect((err.details as { allowed: { action: string }[] }).allowed.map((a) => a.action)).toEqual(allowed);
          }
        });
      }
    }
  }

  it('reaches every status from "reported", and only rejected cases cannot be reopened', () => {
    const seen = new Set<Status>(['reported']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const r of table) {
        const to = r.to;
        if (to && r.from.some((s) => seen.has(s)) && !seen.has(to)) {
          seen.add(to);
          grew = true;
        }
      }
    }
    expect([...seen].sort()).toEqual([...STATUSES].sort());
    const exits = (s: Status) => table.filter((r) => r.from.includes(s));
    expect(exits('rejected')).toEqual([]);
    for (const s of STATUSES.filter((x) => x !== 'rejected')) expect(exits(s).length, `${route} ${s}`).toBeGreaterThan(0);
  });

  it('lists each (status, action) at most once', () => {
    const keys = table.flatMap((r) => r.from.map((s) => `${s}/${r.action}`));
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('actor slots relative to the handling level', () => {
  const cases: [ActorRef, ActorRole, number, boolean][] = [
    [{ kind: 'unit_officer', level: 'grid' }, { kind: 'unit_officer', offset: 0 }, 2, true],
    [{ kind: 'unit_officer', level: 'handling' }, { kind: 'unit_officer', offset: 2 }, 2, true],
    [{ kind: 'unit_officer', level: 'handling' }, { kind: 'unit_officer', offset: 1 }, 2, false],
    [{ kind: 'unit_officer', level: 'above_handling' }, { kind: 'unit_officer', offset: 3 }, 2, true],
    [{ kind: 'unit_officer', level: 'above_handling' }, { kind: 'unit_officer', offset: 1 }, 0, true],
    [{ kind: 'department' }, { kind: 'department', own: false }, 0, false],
    [{ kind: 'grid_worker' }, { kind: 'unit_officer', offset: 0 }, 0, false],
  ];
  it.each(cases)('%o filled by %o at handling %i: %s', (ref, role, handling, expected) => {
    expect(fills(ref, role, handling)).toBe(expected);
  });

  it('routes differ where DOMAIN.md says they do', () => {
    const by = (route: Route, action: string, from: Status) => WORKFLOWS[route].find((r) => r.action === action && r.from.includes(from))?.by;
    // urgent: the grid worker reports up at once; routine: the grid worker registers it himself.
    expect(by('urgent', 'escalate', 'reported')).toContainEqual({ kind: 'grid_worker' });
    expect(by('routine', 'register', 'reported')).toContainEqual({ kind: 'grid_worker' });
    // approval: the community accepts, the street reviews.
    expect(by('approval', 'register', 'reported')).toEqual([{ kind: 'unit_officer', level: 'handling' }]);
    expect(by('approval', 'accept', 'dispatched')).toEqual([{ kind: 'unit_officer', level: 'above_handling' }]);
  });
});
