import chineseDays from 'chinese-days/dist/chinese-days.json' with { type: 'json' };
import holidayLib from 'chinese-days';

/**
 * Public holidays and adjusted working days (调休) of mainland China, by date (YYYY-MM-DD, Beijing time).
 * Source: the `chinese-days` package, which tracks the State Council's yearly notices and covers 2025 and
 * 2026. Its data has no 2027 yet (the notice was not in the package when this was written), so 2027 holds
 * the statutory days of 《全国年节及纪念日放假办法》(2024 revision) — New Year 1 day, Spring Festival 4
 * (eve to the 3rd day), Qingming 1, Labour Day 2, Dragon Boat 1, Mid-Autumn 1, National Day 3 — with lunar
 * dates from the same package, and no adjusted days: `provisional` says so, and a newer `chinese-days`
 * with 2027 replaces it without a code change. Until then an administrator loads the published notice as
 * data (`configured`, service.ts `setCalendarYear`), which overrides any year.
 */
export interface CalendarYear {
  year: number;
  /** `configured`: loaded by an administrator (PUT /api/incidents/calendar/{year}), ahead of the package. */
  source: 'chinese-days' | 'statutory' | 'configured';
  provisional: boolean;
  /** Days off that would otherwise be working days, and weekend days of a holiday period. */
  holidays: Record<string, string>;
  /** Weekend days that are working days (调休). */
  workdays: Record<string, string>;
}

export const CALENDAR_YEARS = [2025, 2026, 2027] as const;

const packaged = chineseDays as { holidays: Record<string, string>; workdays: Record<string, string> };

export function calendarYears(): CalendarYear[] {
  return CALENDAR_YEARS.map((year) => packagedYear(year) ?? statutoryYear(year));
}

function pick(map: Record<string, string>, year: number): Record<string, string> {
  const prefix = `${year}-`;
  const out: Record<string, string> = {};
  for (const [date, label] of Object.entries(map)) {
    // Labels read "English,中文,days"; the Chinese name is what the calendar shows.
    if (date.startsWith(prefix)) out[date] = label.split(',')[1] ?? label;
  }
  return out;
}

function packagedYear(year: number): CalendarYear | null {
  const holidays = pick(packaged.holidays, year);
  if (Object.keys(holidays).length === 0) return null;
  return { year, source: 'chinese-days', provisional: false, holidays, workdays: pick(packaged.workdays, year) };
}

function statutoryYear(year: number): CalendarYear {
  const holidays: Record<string, string> = {};
  const add = (date: string, name: string, days = 1) => {
    const t = Date.parse(`${date}T00:00:00Z`);
    for (let i = 0; i < days; i++) holidays[new Date(t + i * 86_400_000).toISOString().slice(0, 10)] = name;
  };
  const lunar = (md: string) => holidayLib.getSolarDateFromLunar(`${year}-${md}`).date;
  add(`${year}-01-01`, '元旦');
  // Spring Festival: lunar new year's eve (the day before 1/1) and the first three days.
  add(new Date(Date.parse(`${lunar('01-01')}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10), '春节', 4);
  add(holidayLib.getSolarTermDate(year, 4, 'pure_brightness'), '清明');
  add(`${year}-05-01`, '劳动节', 2);
  add(lunar('05-05'), '端午');
  add(lunar('08-15'), '中秋');
  add(`${year}-10-01`, '国庆节', 3);
  return { year, source: 'statutory', provisional: true, holidays, workdays: {} };
}

/**
 * Checks an administrator's table for one year: dates of that year (YYYY-MM-DD), a non-empty name for
 * each, adjusted working days on weekends only, and no date both a holiday and a working day.
 * @returns a message naming the first bad entry, or null
 */
export function calendarYearProblem(year: number, holidays: Record<string, string>, workdays: Record<string, string>): string | null {
  for (const [field, map] of [['holidays', holidays], ['workdays', workdays]] as const) {
    for (const [date, name] of Object.entries(map)) {
      const t = Date.parse(`${date}T00:00:00Z`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== date) return `${field}: "${date}" is not a date YYYY-MM-DD`;
      if (!date.startsWith(`${year}-`)) return `${field}: ${date} is not in ${year}`;
      if (!name.trim()) return `${field}: ${date} needs the holiday's name`;
      const weekday = new Date(t).getUTCDay();
      if (field === 'workdays' && weekday !== 0 && weekday !== 6) return `workdays: ${date} is a weekday; adjusted working days (调休) are Saturdays or Sundays`;
      if (field === 'workdays' && holidays[date]) return `${date} is both a holiday and an adjusted working day`;
    }
  }
  return null;
}
