import type { CodeScheme, Level } from '../kernel/types';

/**
 * Code schemes (DOMAIN.md "Codes"). A child's code extends its parent's by a segment whose length the
 * scheme fixes per level; `Level.codeSegment` overrides the scheme for that level.
 * - letter-number: community letter + grid number ("A1"); the top level is letters, below digits.
 * - db11-2157 (Beijing DB11/T 2157-2023): 6 district + 3 street + 3 community + 3 grid = 15 digits.
 * - cjt-349 (CJ/T 349-2010): 6 object class + 6 county, + 3 street + 3 community + 2 sequence = 20 digits.
 */
const SCHEME_SEGMENTS: Record<Exclude<CodeScheme['type'], 'free' | 'letter-number'>, number[]> = {
  'db11-2157': [6, 3, 3, 3],
  'cjt-349': [12, 3, 3, 2],
};

export interface Segment {
  length: number | null;
  charset: 'digits' | 'letters' | 'alnum';
}

/** The segment a grid at `level` adds to its parent's code, or null when the scheme does not constrain it. */
export function segmentFor(scheme: CodeScheme, levels: Level[], level: Level): Segment | null {
  if (level.codeSegment) return { length: level.codeSegment.length, charset: level.codeSegment.charset };
  const index = [...levels].sort((a, b) => a.order - b.order).findIndex((l) => l.key === level.key);
  switch (scheme.type) {
    case 'free':
      return null;
    case 'letter-number':
      return index === 0 ? { length: null, charset: 'letters' } : { length: null, charset: 'digits' };
    default: {
      const length = SCHEME_SEGMENTS[scheme.type][index];
      return length === undefined ? null : { length, charset: 'digits' };
    }
  }
}

const CHARSETS: Record<Segment['charset'], RegExp> = { digits: /^[0-9]+$/, letters: /^[A-Za-z]+$/, alnum: /^[A-Za-z0-9]+$/ };

/**
 * Checks `code` against its parent's code and the level's segment. Returns what was expected, or null
 * when the code conforms.
 */
export function checkCode(scheme: CodeScheme, levels: Level[], level: Level, code: string, parentCode: string | null): string | null {
  const segment = segmentFor(scheme, levels, level);
  if (scheme.type === 'free' && !segment) return null;
  if (parentCode !== null && !code.startsWith(parentCode)) return `a code that starts with the parent's code "${parentCode}"`;
  const own = parentCode === null ? code : code.slice(parentCode.length);
  if (!segment) return null;
  if (own.length === 0) return `a code longer than the parent's code "${parentCode}"`;
  if (segment.length !== null && own.length !== segment.length) {
    return `${segment.length} ${segment.charset === 'digits' ? 'digits' : 'characters'} after the parent's code (scheme ${scheme.type}, level ${level.key})`;
  }
  if (!CHARSETS[segment.charset].test(own)) return `${segment.charset} after the parent's code (scheme ${scheme.type}, level ${level.key})`;
  return null;
}

/**
 * Orders grids for numbering: north→south in rows, west→east within a row (DB11/T 2157: "numbered
 * west→east, north→south"; CJ/T 349: "left→right, top→bottom"). Centroids whose latitudes differ by less
 * than half the typical grid height fall in the same row.
 */
export function readingOrder<T>(items: T[], centroid: (item: T) => [number, number], height: (item: T) => number): T[] {
  if (items.length === 0) return [];
  const heights = items.map(height).sort((a, b) => a - b);
  const tolerance = heights[Math.floor(heights.length / 2)]! / 2;
  const byLat = [...items].sort((a, b) => centroid(b)[1] - centroid(a)[1] || centroid(a)[0] - centroid(b)[0]);
  const rows: T[][] = [];
  let rowTop = Infinity;
  for (const item of byLat) {
    const lat = centroid(item)[1];
    if (rows.length === 0 || rowTop - lat > tolerance) {
      rows.push([]);
      rowTop = lat;
    }
    rows[rows.length - 1]!.push(item);
  }
  return rows.flatMap((row) => row.sort((a, b) => centroid(a)[0] - centroid(b)[0]));
}

/** The code of the `index`-th (0-based) child under `parentCode`, formatted for the level's segment. */
export function childCode(scheme: CodeScheme, levels: Level[], level: Level, parentCode: string, index: number): string {
  const segment = segmentFor(scheme, levels, level);
  const n = index + 1;
  if (!segment || segment.length === null) return `${parentCode}${n}`;
  const text = String(n).padStart(segment.length, '0');
  if (text.length > segment.length) {
    throw new Error(`cannot number ${n} children under ${parentCode}: the ${level.key} segment has ${segment.length} digits`);
  }
  return parentCode + text;
}
