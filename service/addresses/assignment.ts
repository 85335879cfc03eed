import type { Bbox } from '../kernel/types';
import type { Assignment } from './grid-index';
import { metresPerDegree } from './shape';
import type { PlacedAddress, StatusNote } from './store';

/** The stored note of an assignment: plain "assigned" has none. */
export function noteOf(a: Assignment): StatusNote | null {
  if (a.status === 'ambiguous') return { status: 'ambiguous', also_in: a.alsoIn };
  if (a.status === 'nearest') return { status: 'nearest', distance_m: a.distance! };
  return null;
}

/** Whether a re-assignment leaves an address where it was (same grid, same status): then nothing is written. */
export function sameAssignment(address: PlacedAddress, code: string | null, note: StatusNote | null): boolean {
  if (address.code !== code) return false;
  const a = address.note;
  if (a === null || note === null) return a === note;
  if (a.status !== note.status) return false;
  if (a.status === 'nearest' && note.status === 'nearest') return a.distance_m === note.distance_m;
  if (a.status === 'ambiguous' && note.status === 'ambiguous') return a.also_in.join('\u0000') === note.also_in.join('\u0000');
  return true;
}

/** The box around `b` and one more point. */
export function extend(b: Bbox | null, lon: number, lat: number): Bbox {
  if (!b) return [lon, lat, lon, lat];
  return [Math.min(b[0], lon), Math.min(b[1], lat), Math.max(b[2], lon), Math.max(b[3], lat)];
}

/** A bbox grown by `metres` on every side (with 1 % to spare for the local-scale approximation). */
export function widen(b: Bbox, metres: number): Bbox {
  if (metres <= 0) return b;
  const { kx, ky } = metresPerDegree(Math.max(Math.abs(b[1]), Math.abs(b[3])));
  const dx = (metres / kx) * 1.01;
  const dy = (metres / ky) * 1.01;
  return [b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy];
}
