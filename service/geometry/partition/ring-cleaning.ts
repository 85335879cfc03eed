import { STEPS_PER_DEGREE as STEPS, snapDegrees as snap } from './flat-geometry';

// Module-local copies: tsx compiles an imported binding to a getter that hot loops would call on every read.
const STEPS_PER_DEGREE = STEPS;
const snapDegrees = snap;

/** A defect of one geometry, with where it is (lon, lat) when it has a place. */
export interface GeometryProblem {
  reason: string;
  location: [number, number] | null;
}

/** Points within one snapping step are the same point. */
export const TOLERANCE_STEPS = 1;

/**
 * Closes, de-duplicates and de-spikes one ring of snapped flat lon/lat positions, reporting what it
 * changed when `problems` is given. Repeated consecutive positions are not a problem: OGC and PostGIS
 * (ST_IsValid) call such a ring valid, so they are only counted in `repeated` (issue #15). Returns the
 * open ring, or null when fewer than 3 distinct positions remain.
 */
export function cleanRing(positions: readonly number[], label: string, problems: GeometryProblem[] | null, repeated?: { count: number }): number[] | null {
  const n = positions.length / 2;
  let open = n;
  if (n >= 2) {
    const closed = positions[0] === positions[2 * n - 2] && positions[1] === positions[2 * n - 1];
    if (closed) open = n - 1;
    else problems?.push({ reason: `${label} is not closed`, location: [positions[0], positions[1]] });
  }
  const ring = withoutDuplicates(positions, open, repeated);
  removeSpikes(ring, label, problems);
  if (ring.length < 6) {
    problems?.push({
      reason: `${label} has too few points: ${ring.length / 2} distinct positions, a ring needs 3 (4 with the closing one)`,
      location: ring.length > 0 ? [ring[0], ring[1]] : positions.length > 0 ? [positions[0], positions[1]] : null,
    });
    return null;
  }
  return ring;
}

/** Reads positions, snapping them; positions that are not finite lon/lat pairs are reported and left out. */
export function parseRing(raw: unknown, label: string, problems: GeometryProblem[]): number[] {
  if (!Array.isArray(raw)) {
    problems.push({ reason: `${label} is not an array of positions`, location: null });
    return [];
  }
  const xy: number[] = [];
  let bad = 0;
  let firstBad = -1;
  for (let i = 0; i < raw.length; i++) {
    const position: unknown = raw[i];
    const lon = Array.isArray(position) ? position[0] : undefined;
    const lat = Array.isArray(position) ? position[1] : undefined;
    const ok = typeof lon === 'number' && typeof lat === 'number' && Number.isFinite(lon) && Number.isFinite(lat) && Math.abs(lon) <= 180 && Math.abs(lat) <= 90;
    if (ok) {
      xy.push(snapDegrees(lon), snapDegrees(lat));
    } else {
      bad++;
      if (firstBad < 0) firstBad = i;
    }
  }
  if (bad > 0) {
    problems.push({
      reason: `${label}: ${bad} position(s) are not finite longitude/latitude pairs in degrees (first at index ${firstBad}); coordinates must be EPSG:4326 or CGCS2000 lon/lat; left out`,
      location: xy.length > 0 ? [xy[0], xy[1]] : null,
    });
  }
  return xy;
}

/** The first n positions of xy without repeated consecutive ones (nor a last one equal to the first). */
function withoutDuplicates(xy: readonly number[], n: number, repeated: { count: number } | undefined): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = xy[2 * i];
    const y = xy[2 * i + 1];
    const k = out.length;
    if (k > 0 && out[k - 2] === x && out[k - 1] === y) {
      if (repeated) repeated.count++;
      continue;
    }
    out.push(x, y);
  }
  while (out.length > 2 && out[0] === out[out.length - 2] && out[1] === out[out.length - 1]) {
    if (repeated) repeated.count++;
    out.length -= 2;
  }
  return out;
}

/** Removes vertices where the ring turns back on itself (angle 0), re-checking neighbours after each. */
function removeSpikes(ring: number[], label: string, problems: GeometryProblem[] | null): void {
  let i = 0;
  let checkedSinceChange = 0;
  while (ring.length >= 6 && checkedSinceChange < ring.length / 2) {
    const n = ring.length / 2;
    i %= n;
    const prev = (i + n - 1) % n;
    const next = (i + 1) % n;
    if (isSpike(ring, prev, i, next)) {
      problems?.push({ reason: `${label} has a spike`, location: [ring[2 * i], ring[2 * i + 1]] });
      const samePoint = ring[2 * prev] === ring[2 * next] && ring[2 * prev + 1] === ring[2 * next + 1];
      ring.splice(2 * i, 2);
      if (samePoint && ring.length >= 4) {
        // The tip is gone and its two neighbours are now one vertex twice: keep one.
        const at = i % (ring.length / 2);
        ring.splice(2 * at, 2);
      }
      i = Math.max(0, i - 2);
      checkedSinceChange = 0;
    } else {
      i = next;
      checkedSinceChange++;
    }
  }
}

function isSpike(ring: number[], a: number, b: number, c: number): boolean {
  const ux = (ring[2 * a] - ring[2 * b]) * STEPS_PER_DEGREE;
  const uy = (ring[2 * a + 1] - ring[2 * b + 1]) * STEPS_PER_DEGREE;
  const vx = (ring[2 * c] - ring[2 * b]) * STEPS_PER_DEGREE;
  const vy = (ring[2 * c + 1] - ring[2 * b + 1]) * STEPS_PER_DEGREE;
  if (ux * vx + uy * vy <= 0) return false;
  const longer = Math.max(Math.hypot(ux, uy), Math.hypot(vx, vy));
  return Math.abs(ux * vy - uy * vx) / longer <= TOLERANCE_STEPS;
}
