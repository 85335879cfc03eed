import type { MultiPolygon, Polygon } from 'geojson';

/**
 * Reads a grid's geometry sent as base64 WKB (`encode(ST_AsBinary(geom), 'base64')`, or EWKB) into GeoJSON
 * coordinates for the validator. Text, not `bytea`: the embedded engine hands bytea across its WASM
 * boundary several times slower than text, and base64 is ~3× faster to produce and read than
 * `ST_AsGeoJSON` (issue #15: reading the system was a third of a validation of US counties).
 * Coordinates are rounded to 9 decimals as PostGIS prints them (`ST_AsGeoJSON(geom, 9)`, ties to even), so
 * a grid snaps to the same 1e-9° step whether the validator reads it as WKB or as GeoJSON text: data
 * quantised to 1/1024° has exact ties in the tenth decimal, which `Math.round` would send the other way.
 *
 * @param base64 the WKB of a Polygon or MultiPolygon, base64-encoded
 * @returns the geometry; a MultiPolygon without parts stays one (the validator reports it empty)
 * @throws Error naming the type when the WKB is not polygonal
 * @example
 * polygonFromWkb(row.wkb); // → { type: 'MultiPolygon', coordinates: [[[[116.3, 39.9], …]]] }
 */
export function polygonFromWkb(base64: string): Polygon | MultiPolygon {
  const bytes = Buffer.from(base64, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  /** Reads a geometry header; returns its type without flags and whether it is little-endian. */
  const header = (): [number, boolean] => {
    const little = view.getUint8(at) === 1;
    const type = view.getUint32(at + 1, little);
    at += type & 0x20000000 ? 9 : 5; // EWKB carries an SRID
    return [type & 0xffff, little];
  };
  const polygon = (little: boolean): number[][][] => {
    const rings: number[][][] = new Array(view.getUint32(at, little));
    at += 4;
    for (let r = 0; r < rings.length; r++) {
      const ring: number[][] = new Array(view.getUint32(at, little));
      at += 4;
      for (let i = 0; i < ring.length; i++, at += 16) ring[i] = [nineDecimals(view.getFloat64(at, little)), nineDecimals(view.getFloat64(at + 8, little))];
      rings[r] = ring;
    }
    return rings;
  };
  const [type, little] = header();
  if (type === 3) return { type: 'Polygon', coordinates: polygon(little) };
  if (type !== 6) throw new Error(`expected a Polygon or MultiPolygon, got WKB type ${type}`);
  const parts: number[][][][] = new Array(view.getUint32(at, little));
  at += 4;
  for (let p = 0; p < parts.length; p++) {
    const [inner, innerLittle] = header();
    if (inner !== 3) throw new Error(`expected a Polygon inside a MultiPolygon, got WKB type ${inner}`);
    parts[p] = polygon(innerLittle);
  }
  return { type: 'MultiPolygon', coordinates: parts };
}

/** `value` rounded to 9 decimals, ties to even, as PostGIS's shortest-round-trip printer (ryu) does. */
function nineDecimals(value: number): number {
  const scaled = value * 1e9;
  const floor = Math.floor(scaled);
  const steps = scaled - floor === 0.5 ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(scaled);
  return steps / 1e9;
}
