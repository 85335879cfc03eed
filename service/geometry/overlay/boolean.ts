import * as clipperLib from 'js-angusj-clipper';

/**
 * Boolean polygon operations for the overlay, on integer coordinates. The only file that knows the
 * library (integer Clipper 6, compiled to WebAssembly: js-angusj-clipper), so it can be swapped for
 * another engine without touching the arrangement.
 *
 * Coordinates are lon/lat snapped to 1e-9° (≈0.11 mm, the partition validator's step) and counted from
 * an integer origin, so a territory within ±1.07° of its origin stays in Clipper's fast 64-bit range and
 * every predicate is exact. Clipper's output rings: outers have positive area, holes negative.
 */
const lib = await clipperLib.loadNativeClipperLibInstanceAsync(clipperLib.NativeClipperLibRequestedFormat.WasmOnly);

export const STEPS_PER_DEGREE = 1e9;

export interface IntPoint {
  x: number;
  y: number;
}
/** Rings of one region, outers positive (counter-clockwise), holes negative; no closing vertex. */
export type Rings = IntPoint[][];

/** The integer frame: where 0,0 lies, in 1e-9° steps. */
export interface IntFrame {
  ox: number;
  oy: number;
}

/** A frame centred on a lon/lat box. */
export function frameFor(bbox: readonly [number, number, number, number]): IntFrame {
  return { ox: Math.round(((bbox[0] + bbox[2]) / 2) * 1e3) * 1e6, oy: Math.round(((bbox[1] + bbox[3]) / 2) * 1e3) * 1e6 };
}

/** lon/lat rings (closed or open) to integer rings; degenerate rings (< 3 distinct vertices) dropped. */
export function toRings(frame: IntFrame, polygons: readonly (readonly (readonly number[])[])[][]): Rings {
  const out: Rings = [];
  for (const rings of polygons) {
    for (const ring of rings) {
      const path: IntPoint[] = [];
      for (const p of ring) {
        const x = Math.round(p[0] * STEPS_PER_DEGREE) - frame.ox;
        const y = Math.round(p[1] * STEPS_PER_DEGREE) - frame.oy;
        const last = path[path.length - 1];
        if (!last || last.x !== x || last.y !== y) path.push({ x, y });
      }
      if (path.length > 1 && path[0].x === path[path.length - 1].x && path[0].y === path[path.length - 1].y) path.pop();
      if (path.length >= 3) out.push(path);
    }
  }
  return out;
}

/** Integer point back to lon/lat degrees. */
export function toLonLat(frame: IntFrame, p: IntPoint): [number, number] {
  return [(p.x + frame.ox) / STEPS_PER_DEGREE, (p.y + frame.oy) / STEPS_PER_DEGREE];
}

/**
 * The region the rings enclose under the non-zero rule, as clean rings: repairs self-intersections and
 * overlapping parts of a multipolygon, the way the validator repairs invalid input before measuring.
 */
export function normalise(rings: Rings): Rings {
  return rings.length === 0 ? [] : run(clipperLib.ClipType.Union, rings, []);
}

export function intersection(a: Rings, b: Rings): Rings {
  return a.length === 0 || b.length === 0 ? [] : run(clipperLib.ClipType.Intersection, a, b);
}

export function difference(a: Rings, b: Rings): Rings {
  if (a.length === 0) return [];
  return b.length === 0 ? a : run(clipperLib.ClipType.Difference, a, b);
}

export function union(list: readonly Rings[]): Rings {
  const all = list.flat();
  return all.length === 0 ? [] : run(clipperLib.ClipType.Union, all, []);
}

/** Signed area in steps² (holes subtract). */
export function area(rings: Rings): number {
  let sum = 0;
  for (const ring of rings) sum += ringArea(ring);
  return sum;
}

/** [minX, minY, maxX, maxY] in steps. */
export function bounds(rings: Rings): [number, number, number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const ring of rings) {
    for (const p of ring) {
      if (p.x < minX) minX = p.x;
      if (p.y < minY) minY = p.y;
      if (p.x > maxX) maxX = p.x;
      if (p.y > maxY) maxY = p.y;
    }
  }
  return [minX, minY, maxX, maxY];
}

/**
 * A key equal for two normalised regions exactly when they have the same rings: each ring rotated to start
 * at its lowest vertex, rings sorted. Lets the arrangement skip an overlay when a grid is the very same
 * shape as a face (bank grids drawn on community boundaries, DOMAIN.md "Bank grids").
 */
export function shapeKey(rings: Rings): string {
  return rings
    .map((ring) => {
      let k = 0;
      for (let i = 1; i < ring.length; i++) if (ring[i].x < ring[k].x || (ring[i].x === ring[k].x && ring[i].y < ring[k].y)) k = i;
      let text = '';
      for (let i = 0; i < ring.length; i++) {
        const p = ring[(k + i) % ring.length];
        text += `${p.x},${p.y};`;
      }
      return text;
    })
    .sort()
    .join('|');
}

/** Groups rings into polygons (each outer with the holes inside it), for GeoJSON output. */
export function polygonsOf(rings: Rings): Rings[] {
  const outers = rings.filter((r) => ringArea(r) > 0);
  const polygons: Rings[] = outers.map((o) => [o]);
  for (const hole of rings.filter((r) => ringArea(r) < 0)) {
    // The smallest outer containing the hole's first vertex (or on its boundary) owns it.
    let best = -1;
    let bestArea = Infinity;
    outers.forEach((outer, k) => {
      const a = ringArea(outer);
      if (a < bestArea && lib.pointInPolygon(hole[0], outer) !== clipperLib.PointInPolygonResult.Outside) {
        best = k;
        bestArea = a;
      }
    });
    if (best >= 0) polygons[best].push(hole);
  }
  return polygons;
}

function ringArea(ring: IntPoint[]): number {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) sum += (ring[j].x - ring[i].x) * (ring[j].y + ring[i].y);
  return sum / 2;
}

function run(clipType: clipperLib.ClipType, subject: Rings, clip: Rings): Rings {
  const solution = lib.clipToPaths({
    clipType,
    subjectInputs: [{ data: subject, closed: true }],
    ...(clip.length > 0 && { clipInputs: [{ data: clip }] }),
    subjectFillType: clipperLib.PolyFillType.NonZero,
    clipFillType: clipperLib.PolyFillType.NonZero,
  });
  return solution.filter((ring) => ring.length >= 3);
}
