import { rootsIn, type AreaScope } from '../kernel/scope';
import type { Grid, Person } from '../kernel/types';
import { isPoliceField } from './restricted';

/** Personal fields masked for roles without personal data (issue #10 §4); exports list them. */
export const MASKED_FIELDS = ['people.name', 'people.phone'] as const;

/** 13812345678 → 138****5678; shorter numbers keep only their last two digits. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\s+/g, '');
  if (digits.length >= 11) return `${digits.slice(0, 3)}****${digits.slice(-4)}`;
  if (digits.length <= 2) return '*'.repeat(digits.length);
  return `${'*'.repeat(digits.length - 2)}${digits.slice(-2)}`;
}

/** 张三 → 张*, 欧阳明月 → 欧***; a Latin name keeps its first letter. */
export function maskName(name: string): string {
  const chars = [...name.trim()];
  if (chars.length === 0) return '';
  return chars[0] + '*'.repeat(Math.max(1, chars.length - 1));
}

/** A person as a role without personal data sees them: role and title stay (they describe the post). */
export function maskPerson(p: Person): Person {
  const { photoUrl: _photo, ...rest } = p;
  return { ...rest, name: maskName(p.name), ...(p.phone === undefined ? {} : { phone: maskPhone(p.phone) }) };
}

/** Phone-like runs of digits in free text (attributes), masked the same way. */
export function maskPhonesIn(text: string): string {
  return text.replace(/(?<!\d)1\d{10}(?!\d)/g, (m) => maskPhone(m));
}

/**
 * A grid as a role without personal data sees it: its people masked, phone numbers in attributes too, and
 * no police-sourced attribute (not even a count: boards leave key persons out, DOMAIN.md).
 */
export function maskGrid<G extends Pick<Grid, 'people' | 'attributes'>>(g: G): G {
  const attributes = Object.fromEntries(
    Object.entries(g.attributes)
      .filter(([k]) => !isPoliceField(k))
      .map(([k, v]) => [k, typeof v === 'string' ? maskPhonesIn(v) : v]),
  );
  return { ...g, people: g.people.map(maskPerson), attributes };
}

/**
 * A grid's ancestors (parent first, up to the top) as a caller scoped to subtrees may see them: an ancestor
 * is in scope when it or one of its own ancestors is a root of the caller's scope; above that lie other
 * units, whose officials are not the caller's to see (issue #10). Their people are dropped and phone
 * numbers in their attributes masked; the boundary, name and code stay (the map shows them to everyone).
 */
export function ancestorsInScope<G extends Pick<Grid, 'code' | 'people' | 'attributes'>>(scope: AreaScope, system: string, ancestors: readonly G[]): G[] {
  const roots = rootsIn(scope, system);
  if (roots === null) return [...ancestors];
  const inScope: boolean[] = [];
  for (let i = ancestors.length - 1; i >= 0; i--) inScope[i] = roots.includes(ancestors[i]!.code) || (inScope[i + 1] ?? false);
  return ancestors.map((g, i) => (inScope[i] ? g : { ...maskGrid(g), people: [] }));
}
