import { calendarYears, type CalendarYear } from './calendar-days';

/**
 * Working time in Asia/Shanghai (issue #11 "Deadlines in working time"). China has kept UTC+8 without
 * daylight saving since 1991, so a fixed offset is exact for every date the service meets.
 * A day is a working day when it is Monday–Friday and not a public holiday, or when it is an adjusted
 * working day (调休); working time is the day's working periods (lunch break excluded).
 */
const OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export const TIME_LIMIT_TYPES = ['natural_hours', 'working_hours', 'working_days', 'natural_days'] as const;
export type TimeLimitType = (typeof TIME_LIMIT_TYPES)[number];

/** A time limit as the classification writes it, e.g. `{ type: 'working_days', amount: 3 }`. */
export interface TimeLimit {
  type: TimeLimitType;
  amount: number;
}

export interface WorkingHours {
  /** Working periods of a working day, local time "HH:MM"–"HH:MM", in order; the gaps are breaks. */
  periods: [string, string][];
}

/** 08:30–12:00 and 13:30–17:30: the common office day of Chinese local government, 7.5 hours. */
export const DEFAULT_WORKING_HOURS: WorkingHours = { periods: [['08:30', '12:00'], ['13:30', '17:30']] };

export interface Deadline {
  /** When the limit runs out. */
  due: Date;
  /** When `share` of it is used up (the yellow card, issue #11). */
  warnAt: Date;
}

export interface Clock {
  due: string;
  /** Milliseconds left (negative when overdue), in working time for working-time limits. */
  leftMs: number;
  overdue: boolean;
}

export class WorkingCalendar {
  years: CalendarYear[];
  readonly hours: WorkingHours;
  /** Minutes after local midnight. */
  private readonly periods: [number, number][];
  readonly dayMs: number;
  private readonly holidays = new Map<string, string>();
  private readonly workdays = new Map<string, string>();
  private readonly dayCache = new Map<number, boolean>();

  constructor(hours: WorkingHours = DEFAULT_WORKING_HOURS, years: CalendarYear[] = calendarYears()) {
    this.hours = hours;
    this.years = years;
    this.periods = hours.periods.map(([a, b], i) => {
      const start = minutes(a);
      const end = minutes(b);
      if (!(end > start) || (i > 0 && start < minutes(hours.periods[i - 1]![1]))) {
        throw new RangeError(`working period ${i} "${a}–${b}" must end after it starts and after the previous period`);
      }
      return [start, end];
    });
    this.dayMs = this.periods.reduce((sum, [a, b]) => sum + (b - a) * MINUTE_MS, 0);
    for (const y of years) {
      for (const [d, name] of Object.entries(y.holidays)) this.holidays.set(d, name);
      for (const [d, name] of Object.entries(y.workdays)) this.workdays.set(d, name);
    }
  }

  /**
   * Puts a year's holidays and adjusted working days in place of what the calendar had for it (an
   * administrator's table, e.g. the State Council's notice before a package release carries it).
   * Deadlines computed afterwards follow it; stored deadlines stay as they were computed.
   */
  replaceYear(year: CalendarYear): void {
    const prefix = `${year.year}-`;
    for (const map of [this.holidays, this.workdays]) for (const d of [...map.keys()]) if (d.startsWith(prefix)) map.delete(d);
    for (const [d, name] of Object.entries(year.holidays)) this.holidays.set(d, name);
    for (const [d, name] of Object.entries(year.workdays)) this.workdays.set(d, name);
    this.years = [...this.years.filter((y) => y.year !== year.year), year].sort((a, b) => a.year - b.year);
    this.dayCache.clear();
  }

  /** Is the local date (days since 1970-01-01, Beijing time) a working day? */
  isWorkingDay(day: number): boolean {
    let working = this.dayCache.get(day);
    if (working === undefined) {
      const key = dateKey(day);
      const weekday = (day + 4) % 7; // 1970-01-01 was a Thursday; 0 = Sunday
      working = this.workdays.has(key) || (weekday !== 0 && weekday !== 6 && !this.holidays.has(key));
      this.dayCache.set(day, working);
    }
    return working;
  }

  /** The kind of a local date for the calendar resource: working day, weekend, holiday or 调休 day. */
  describeDay(date: string): { date: string; working: boolean; holiday?: string; adjusted?: string } {
    const day = Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
    const out: { date: string; working: boolean; holiday?: string; adjusted?: string } = { date, working: this.isWorkingDay(day) };
    const holiday = this.holidays.get(date);
    const adjusted = this.workdays.get(date);
    if (holiday) out.holiday = holiday;
    if (adjusted) out.adjusted = adjusted;
    return out;
  }

  /** Working time in [from, to); 0 when `to` is not after `from`. */
  workingTimeBetween(from: Date | number, to: Date | number): number {
    const a = +from;
    const b = +to;
    if (!(b > a)) return 0;
    let total = 0;
    for (let day = localDay(a); day <= localDay(b - 1); day++) {
      if (!this.isWorkingDay(day)) continue;
      const midnight = day * DAY_MS - OFFSET_MS;
      for (const [s, e] of this.periods) {
        const lo = Math.max(a, midnight + s * MINUTE_MS);
        const hi = Math.min(b, midnight + e * MINUTE_MS);
        if (hi > lo) total += hi - lo;
      }
    }
    return total;
  }

  /**
   * The instant `amount` ms of working time after `from`. A limit that runs out exactly at the end of
   * a working period ends there, not at the start of the next one.
   */
  addWorkingTime(from: Date | number, amount: number): Date {
    const start = +from;
    if (!(amount > 0)) return new Date(start);
    let left = amount;
    for (let day = localDay(start); ; day++) {
      if (!this.isWorkingDay(day)) continue;
      const midnight = day * DAY_MS - OFFSET_MS;
      for (const [s, e] of this.periods) {
        const lo = Math.max(start, midnight + s * MINUTE_MS);
        const hi = midnight + e * MINUTE_MS;
        if (hi <= lo) continue;
        if (hi - lo >= left) return new Date(lo + left);
        left -= hi - lo;
      }
    }
  }

  /** Length of a limit in its own terms: natural ms, or working ms for working-time types. */
  limitMs(limit: TimeLimit): number {
    switch (limit.type) {
      case 'natural_hours':
      case 'working_hours':
        return limit.amount * 3_600_000;
      case 'natural_days':
        return limit.amount * DAY_MS;
      case 'working_days':
        return limit.amount * this.dayMs;
    }
  }

  /**
   * When a limit started at `from` runs out, and when `share` of it is used.
   * Working days count as working time (1 working day = one day's working hours), so a case registered
   * at 10:00 on a Monday with 1 working day is due at 10:00 on the next working day.
   * @example cal.deadline(new Date('2026-10-09T09:00:00+08:00'), { type: 'working_days', amount: 1 }).due
   *   // 2026-10-10T09:00+08:00: a Saturday, but an adjusted working day
   */
  deadline(from: Date | number, limit: TimeLimit, share = 0.8): Deadline {
    const total = this.limitMs(limit);
    if (isWorking(limit)) return { due: this.addWorkingTime(from, total), warnAt: this.addWorkingTime(from, total * share) };
    return { due: new Date(+from + total), warnAt: new Date(+from + total * share) };
  }

  /** Time left until `due` as seen at `now`, in the limit's own terms (negative once overdue). */
  clock(due: Date | number, now: Date | number, type: TimeLimitType): Clock {
    const d = +due;
    const n = +now;
    const working = type === 'working_hours' || type === 'working_days';
    const leftMs = working ? (d >= n ? this.workingTimeBetween(n, d) : -this.workingTimeBetween(d, n)) : d - n;
    return { due: new Date(d).toISOString(), leftMs, overdue: n > d };
  }
}

function isWorking(limit: TimeLimit): boolean {
  return limit.type === 'working_hours' || limit.type === 'working_days';
}

function localDay(t: number): number {
  return Math.floor((t + OFFSET_MS) / DAY_MS);
}

function dateKey(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function minutes(hhmm: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (!m || Number(m[1]) > 24 || Number(m[2]) > 59) throw new RangeError(`working time "${hhmm}" must be HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}
