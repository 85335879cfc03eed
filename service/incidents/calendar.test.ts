import { describe, expect, it } from 'vitest';
import { WorkingCalendar, type TimeLimit } from './calendar';
import { calendarYears } from './calendar-days';

const cal = new WorkingCalendar();
const bj = (local: string) => new Date(`${local}+08:00`);
const local = (d: Date) => new Date(+d + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
const H = (h: number): TimeLimit => ({ type: 'working_hours', amount: h });

// Working day 08:30–12:00, 13:30–17:30 (7.5 h). 2026: 10-01..07 National Day, 10-10 (Sat) and 09-20 (Sun)
// adjusted working days; 02-15..23 Spring Festival with 02-14 (Sat) and 02-28 (Sat) worked.
const deadlines: [string, string, TimeLimit, string][] = [
  ['inside the morning', '2026-12-03T09:00', H(1), '2026-12-03 10:00'],
  ['across the lunch break', '2026-12-03T11:30', H(1), '2026-12-03 14:00'],
  ['ending exactly at noon stays at noon', '2026-12-03T11:00', H(1), '2026-12-03 12:00'],
  ['reported during lunch', '2026-12-03T12:15', H(1), '2026-12-03 14:30'],
  ['reported before office hours', '2026-12-03T07:00', H(1), '2026-12-03 09:30'],
  ['reported in the evening', '2026-12-03T20:00', H(1), '2026-12-04 09:30'],
  ['across a weekend', '2026-12-04T17:00', H(1), '2026-12-07 09:00'],
  ['reported on a Saturday', '2026-12-05T10:00', H(2), '2026-12-07 10:30'],
  ['across National Day', '2026-09-30T17:00', H(1), '2026-10-08 09:00'],
  ['onto an adjusted working Sunday (调休)', '2026-09-18T17:00', H(1), '2026-09-20 09:00'],
  ['onto an adjusted working Saturday before Spring Festival', '2026-02-13T17:00', H(1), '2026-02-14 09:00'],
  ['across Spring Festival', '2026-02-14T17:00', H(1), '2026-02-24 09:00'],
  ['one working day onto an adjusted Saturday', '2026-10-09T09:00', { type: 'working_days', amount: 1 }, '2026-10-10 09:00'],
  ['half a working day (DOMAIN.md: the street within half a working day)', '2026-12-03T15:00', { type: 'working_days', amount: 0.5 }, '2026-12-04 09:45'],
  ['three working days over a weekend', '2026-12-03T10:00', { type: 'working_days', amount: 3 }, '2026-12-08 10:00'],
  ['natural hours ignore the calendar', '2026-12-04T17:00', { type: 'natural_hours', amount: 2 }, '2026-12-04 19:00'],
  ['natural days ignore holidays', '2026-09-30T10:00', { type: 'natural_days', amount: 3 }, '2026-10-03 10:00'],
  ['2025 National Day and Mid-Autumn', '2025-09-30T17:00', H(1), '2025-10-09 09:00'],
  ['2025 adjusted working Sunday 09-28', '2025-09-26T17:00', H(1), '2025-09-28 09:00'],
  ['2027 Spring Festival (statutory, provisional)', '2027-02-04T17:00', H(1), '2027-02-09 09:00'],
];

describe('deadlines in working time (Asia/Shanghai)', () => {
  it.each(deadlines)('%s: %s + %o → %s', (_name, from, limit, due) => {
    expect(local(cal.deadline(bj(from), limit).due)).toBe(due);
  });

  it('warns when the configured share of the limit is used', () => {
    const { warnAt, due } = cal.deadline(bj('2026-12-04T16:00'), H(2), 0.75);
    expect(local(warnAt)).toBe('2026-12-04 17:30');
    expect(local(due)).toBe('2026-12-07 09:00');
  });

  const elapsed: [string, string, string, number][] = [
    ['a weekend night', '2026-12-04T17:00', '2026-12-07T09:00', 1],
    ['lunch only', '2026-12-03T12:00', '2026-12-03T13:30', 0],
    ['a whole working week', '2026-11-30T00:00', '2026-12-05T00:00', 37.5],
    ['National Day week with its adjusted Saturday', '2026-10-01T00:00', '2026-10-11T00:00', 22.5],
    ['backwards is nothing', '2026-12-04T10:00', '2026-12-03T10:00', 0],
  ];
  it.each(elapsed)('working time over %s', (_name, from, to, hours) => {
    expect(cal.workingTimeBetween(bj(from), bj(to)) / 3_600_000).toBe(hours);
  });

  it('shows time left in working time, negative once overdue', () => {
    const due = bj('2026-12-07T09:00');
    expect(cal.clock(due, bj('2026-12-04T17:00'), 'working_hours')).toMatchObject({ leftMs: 3_600_000, overdue: false });
    expect(cal.clock(due, bj('2026-12-07T10:00'), 'working_hours')).toMatchObject({ leftMs: -3_600_000, overdue: true });
    expect(cal.clock(due, bj('2026-12-07T08:00'), 'natural_hours').leftMs).toBe(3_600_000);
  });

  it('describes weekends, holidays and adjusted days', () => {
    expect(cal.describeDay('2026-10-10')).toEqual({ date: '2026-10-10', working: true, adjusted: '国庆节' });
    expect(cal.describeDay('2026-10-01')).toEqual({ date: '2026-10-01', working: false, holiday: '国庆节' });
    expect(cal.describeDay('2026-12-05')).toEqual({ date: '2026-12-05', working: false });
  });

  it('covers 2025–2027: the package for 2025 and 2026, statutory days for 2027', () => {
    expect(calendarYears().map((y) => [y.year, y.source, y.provisional])).toEqual([
      [2025, 'chinese-days', false],
      [2026, 'chinese-days', false],
      [2027, 'statutory', true],
    ]);
  });

  it('rejects working periods that overlap or run backwards', () => {
    expect(() => new WorkingCalendar({ periods: [['09:00', '12:00'], ['11:00', '17:00']] })).toThrow(/period 1/);
    expect(() => new WorkingCalendar({ periods: [['12:00', '09:00']] })).toThrow(/period 0/);
  });
});
