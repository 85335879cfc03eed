import type { MultiPolygon, Polygon } from 'geojson';
import { frameFor, normalise, STEPS_PER_DEGREE, toRings, type IntFrame, type Rings } from './boolean';

/**
 * A geometry prepared for the arrangement, kept between overlays (the overlay service stores one per grid
 * row version, migrations/042_overlay_grid_shapes.ts): its rings normalised (`boolean.ts` `normalise`) in
 * integer steps of the geometry's own frame, encoded as bytes. Normalising costs ~50 µs a grid (most of a
 * cold overlay's arrangement); moving the result into a territory's frame is an exact integer shift.
 * Every overlay normalises each geometry in its own frame, prepared ahead or not, so the faces are the
 * same either way.
 *
 * Layout, little-endian: u32 coordinate kind (1 = i32, 2 = f64: a geometry wider than ±2.1° of its frame),
 * u32 ring count, f64 frame origin x and y (steps), u32 vertex count per ring, then x, y per vertex
 * relative to the origin.
 */
export type PreparedShape = Uint8Array;

const HEADER = 24;

/** Normalises a lon/lat geometry in its own frame and encodes it. */
export function prepareShape(geometry: Polygon | MultiPolygon): PreparedShape {
  const frame = frameFor(boxOf(geometry));
  const rings = normalise(toRings(frame, geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates));
  let vertices = 0;
  let wide = false;
  for (const ring of rings) {
    vertices += ring.length;
    for (const p of ring) if (Math.abs(p.x) > 0x7fffffff || Math.abs(p.y) > 0x7fffffff) wide = true;
  }
  const size = wide ? 8 : 4;
  const bytes = new Uint8Array(HEADER + 4 * rings.length + 2 * size * vertices);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, wide ? 2 : 1, true);
  view.setUint32(4, rings.length, true);
  view.setFloat64(8, frame.ox, true);
  view.setFloat64(16, frame.oy, true);
  let at = HEADER;
  for (const ring of rings) {
    view.setUint32(at, ring.length, true);
    at += 4;
  }
  for (const ring of rings) {
    for (const p of ring) {
      if (wide) {
        view.setFloat64(at, p.x, true);
        view.setFloat64(at + 8, p.y, true);
      } else {
        view.setInt32(at, p.x, true);
        view.setInt32(at + 4, p.y, true);
      }
      at += 2 * size;
    }
  }
  return bytes;
}

/** The shape's normalised rings in `frame` (integer steps). */
export function shapeRings(shape: PreparedShape, frame: IntFrame): Rings {
  const view = new DataView(shape.buffer, shape.byteOffset, shape.byteLength);
  const wide = view.getUint32(0, true) === 2;
  const count = view.getUint32(4, true);
  const dx = view.getFloat64(8, true) - frame.ox;
  const dy = view.getFloat64(16, true) - frame.oy;
  const rings: Rings = [];
  let at = HEADER + 4 * count;
  for (let r = 0; r < count; r++) {
    const n = view.getUint32(HEADER + 4 * r, true);
    const ring = new Array(n);
    for (let i = 0; i < n; i++) {
      if (wide) {
        ring[i] = { x: view.getFloat64(at, true) + dx, y: view.getFloat64(at + 8, true) + dy };
        at += 16;
      } else {
        ring[i] = { x: view.getInt32(at, true) + dx, y: view.getInt32(at + 4, true) + dy };
        at += 8;
      }
    }
    rings.push(ring);
  }
  return rings;
}

/** [minLon, minLat, maxLon, maxLat] of a shape. */
export function shapeBox(shape: PreparedShape): [number, number, number, number] {
  const rings = shapeRings(shape, { ox: 0, oy: 0 });
  const box: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const ring of rings) {
    for (const p of ring) {
      if (p.x < box[0]) box[0] = p.x;
      if (p.y < box[1]) box[1] = p.y;
      if (p.x > box[2]) box[2] = p.x;
      if (p.y > box[3]) box[3] = p.y;
    }
  }
  return box.map((v) => v / STEPS_PER_DEGREE) as [number, number, number, number];
}

/** [minLon, minLat, maxLon, maxLat] of a lon/lat geometry. */
export function boxOf(geometry: Polygon | MultiPolygon): [number, number, number, number] {
  return extendBox([Infinity, Infinity, -Infinity, -Infinity], geometry);
}

/** Grows `box` ([minLon, minLat, maxLon, maxLat]) over a lon/lat geometry's vertices; returns it. */
export function extendBox(box: [number, number, number, number], geometry: Polygon | MultiPolygon): [number, number, number, number] {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  for (const rings of polygons) {
    for (const ring of rings) {
      for (const [x, y] of ring) {
        if (x < box[0]) box[0] = x;
        if (y < box[1]) box[1] = y;
        if (x > box[2]) box[2] = x;
        if (y > box[3]) box[3] = y;
      }
    }
  }
  return box;
}
