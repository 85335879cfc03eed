import type { Bbox } from '../kernel/types';

/** Serialises values as a PostgreSQL array literal: one bound parameter however long the batch (PGlite binds slowly per parameter, and node-pg's own array encoding is several times slower). */
export function pgArray(values: readonly (string | number | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'number') out += Number.isFinite(v) ? String(v) : 'NULL';
    else out += `"${v.replace(/["\\]/g, '\\$&')}"`;
  }
  return `${out}}`;
}

/** A bbox as an envelope expression with its four bound values. */
export const envelope = (b: Bbox) => ({ sql: 'ST_MakeEnvelope(?::float8, ?::float8, ?::float8, ?::float8, 4326)', bindings: [...b] });
