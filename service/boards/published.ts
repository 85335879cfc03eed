import type { Grid, Person } from '../kernel/types';

/**
 * What a public output may show of a grid (DOMAIN.md "Access and privacy": the public sees what is
 * published on boards; leaking residents' information is forbidden). Everything a board, a responsibility
 * map or its workbook prints passes through here: names and titles of the people on duty, their phones
 * masked, a hotline the grid publishes, and aggregate counts — never a person's record.
 */
export interface PublishedPerson {
  name: string;
  title: string | null;
  /** The mobile with its middle digits hidden (138****5678). */
  phone: string | null;
}

export interface PublishedGroup {
  key: string;
  count: number;
}

/**
 * The special-group counts a board may show, in print order, when a grid carries them as attributes
 * (DOMAIN.md "What each grid carries": party members and counts of vulnerable groups). Each key also
 * answers to the Chinese column names registers use. Counts of key persons from police sources are
 * restricted data and deliberately absent.
 */
export const GROUP_ATTRIBUTES: readonly { key: string; aliases: readonly string[] }[] = [
  { key: 'party_members', aliases: ['党员', '党员数'] },
  { key: 'elderly', aliases: ['老年人', '老年人数', '60岁以上老人'] },
  { key: 'elderly_alone', aliases: ['独居老人', '空巢老人'] },
  { key: 'disabled', aliases: ['残疾人', '残疾人数'] },
  { key: 'low_income', aliases: ['低保户', '低保'] },
  { key: 'left_behind_children', aliases: ['留守儿童'] },
  { key: 'veterans', aliases: ['退役军人'] },
];

/** Attribute names a grid's published hotline may go by. */
const HOTLINE_ATTRIBUTES = ['hotline', '服务热线', '热线', '热线电话'];

/**
 * Hides the middle of a phone number: a mainland mobile keeps its 3-digit prefix and last 4 digits
 * (138****5678), other numbers keep their first 3 and last 2 characters; numbers too short to keep
 * anything are hidden whole.
 * @param phone as stored, possibly with spaces, dashes or a +86 prefix
 * @returns the masked number, or null for an empty one
 * @example maskPhone('13812345678') // '138****5678'
 */
export function maskPhone(phone: string | undefined | null): string | null {
  const digits = (phone ?? '').replace(/[\s-]/g, '').replace(/^(\+?86)(?=1\d{10}$)/, '');
  if (!digits) return null;
  if (/^1\d{10}$/.test(digits)) return `${digits.slice(0, 3)}****${digits.slice(7)}`;
  if (digits.length < 7) return '*'.repeat(digits.length);
  return `${digits.slice(0, 3)}${'*'.repeat(digits.length - 5)}${digits.slice(-2)}`;
}

export function publishedPeople(people: Person[], role: Person['role']): PublishedPerson[] {
  return people.filter((p) => p.role === role).map((p) => ({ name: p.name, title: p.title?.trim() || null, phone: maskPhone(p.phone) }));
}

/**
 * The hotline a grid publishes: its own `hotline` attribute, else the nearest ancestor's (a community's
 * or street's service line covers its grids). A hotline is an office number meant to be called, so it is
 * printed as given.
 * @param chain the grid first, then its ancestors up to the top
 */
export function publishedHotline(chain: Grid[]): string | null {
  for (const g of chain) {
    for (const key of HOTLINE_ATTRIBUTES) {
      const v = g.attributes[key];
      if ((typeof v === 'string' && v.trim()) || typeof v === 'number') return String(v).trim();
    }
  }
  return null;
}

/** The special-group counts a grid carries, as non-negative integers; anything else is not shown. */
export function publishedGroups(grid: Grid): PublishedGroup[] {
  const out: PublishedGroup[] = [];
  for (const { key, aliases } of GROUP_ATTRIBUTES) {
    for (const name of [key, ...aliases]) {
      const v = grid.attributes[name];
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
      if (Number.isInteger(n) && n >= 0) {
        out.push({ key, count: n });
        break;
      }
    }
  }
  return out;
}
