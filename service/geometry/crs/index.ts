import proj4 from 'proj4';
import { bd09ToGcj02, gcj02ToBd09 } from './bd09';
import { gcj02ToWgs84, wgs84ToGcj02 } from './gcj02';
import { gaussKrugerProj4, gaussKrugerZone } from './gauss-kruger';

/**
 * The coordinate reference systems data arrives in (DOMAIN.md "Coordinates"): official data in CGCS2000
 * (EPSG:4490) or its Gauss-Krüger zones (EPSG:4491–4554), consumer maps in GCJ-02 (Amap, Tencent) or
 * BD-09 (Baidu). Everything is converted to WGS 84 lon/lat; CGCS2000 is treated as WGS 84 (< 1 m apart).
 */
export type CrsId = 'EPSG:4326' | 'EPSG:4490' | 'GCJ-02' | 'BD-09' | `EPSG:${number}`;

/** A coordinate conversion; projected coordinates are (easting, northing) in metres. */
export type Convert = (x: number, y: number) => [number, number];

/** An unknown or unsupported CRS name. */
export class CrsError extends Error {
  readonly code = 'unknown_crs';

  constructor(input: string) {
    super(`unknown coordinate reference system "${input}": expected ${ACCEPTED}`);
    this.name = 'CrsError';
  }
}

const ACCEPTED =
  'EPSG:4326 ("wgs84", "4326"), EPSG:4490 ("cgcs2000", "4490"), GCJ-02 ("gcj02"), BD-09 ("bd09") or a CGCS2000 Gauss-Krüger zone EPSG:4491–EPSG:4554 ("4527", "EPSG:4527")';

/** Names compared after lower-casing and dropping spaces, hyphens and underscores. */
const ALIASES: Record<string, CrsId> = {
  wgs84: 'EPSG:4326',
  crs84: 'EPSG:4326',
  'ogc:crs84': 'EPSG:4326',
  cgcs2000: 'EPSG:4490',
  gcj02: 'GCJ-02',
  gcj: 'GCJ-02',
  bd09: 'BD-09',
  bd09ll: 'BD-09',
};

const CODE = /^(?:epsg:{1,2}|urn:ogc:def:crs:epsg:[\d.]*:)?(\d+)$/;

const identity: Convert = (x, y) => [x, y];
const converters = new Map<CrsId, { toWgs84: Convert; fromWgs84: Convert }>();

/**
 * Reads a CRS name as users and files spell it.
 * @param input e.g. 'wgs84', '4326', 'EPSG:4490', 'cgcs2000', 'gcj02', 'GCJ-02', 'bd09', 'EPSG:4527',
 *   'urn:ogc:def:crs:EPSG::4547'
 * @returns the canonical id
 * @throws {CrsError} unknown_crs, naming the input and the accepted forms
 * @example parseCrs('gcj-02') // 'GCJ-02'
 */
export function parseCrs(input: string): CrsId {
  const key = input.trim().toLowerCase().replace(/[\s_-]/g, '');
  const alias = ALIASES[key];
  if (alias) return alias;
  const code = Number(CODE.exec(key)?.[1]);
  if (code === 4326 || code === 4490 || gaussKrugerZone(code)) return `EPSG:${code}`;
  throw new CrsError(input);
}

/**
 * A converter from `crs` to WGS 84 lon/lat. Build it once per import and call it per coordinate.
 * GCJ-02 is inverted by iteration to 1e-7°; Gauss-Krüger coordinates are (easting, northing) in metres,
 * with the zone prefix when the CRS has one.
 * @throws {CrsError} unknown_crs for an id `parseCrs` would not return
 * @example toWgs84('EPSG:4547')(500000, 4418000) // ≈ [114, 39.896]
 */
export function toWgs84(crs: CrsId): Convert {
  return convertersFor(crs).toWgs84;
}

/**
 * A converter from WGS 84 lon/lat to `crs` (the inverse of `toWgs84`).
 * @throws {CrsError} unknown_crs for an id `parseCrs` would not return
 * @example fromWgs84('GCJ-02')(116.404, 39.915) // [116.41024449916938, 39.91640428150164]
 */
export function fromWgs84(crs: CrsId): Convert {
  return convertersFor(crs).fromWgs84;
}

function convertersFor(crs: CrsId): { toWgs84: Convert; fromWgs84: Convert } {
  let pair = converters.get(crs);
  if (!pair) {
    pair = buildConverters(crs);
    converters.set(crs, pair);
  }
  return pair;
}

function buildConverters(crs: CrsId): { toWgs84: Convert; fromWgs84: Convert } {
  switch (crs) {
    case 'EPSG:4326':
    case 'EPSG:4490':
      return { toWgs84: identity, fromWgs84: identity };
    case 'GCJ-02':
      return { toWgs84: gcj02ToWgs84, fromWgs84: wgs84ToGcj02 };
    case 'BD-09':
      return {
        toWgs84: (x, y) => gcj02ToWgs84(...bd09ToGcj02(x, y)),
        fromWgs84: (lon, lat) => gcj02ToBd09(...wgs84ToGcj02(lon, lat)),
      };
  }
  const zone = gaussKrugerZone(Number(/^EPSG:(\d+)$/.exec(crs)?.[1]));
  if (!zone) throw new CrsError(crs);
  const projection = proj4(gaussKrugerProj4(zone), 'WGS84');
  return {
    toWgs84: (x, y) => {
      const [lon, lat] = projection.forward([x, y]);
      return [lon, lat];
    },
    fromWgs84: (lon, lat) => {
      const [x, y] = projection.inverse([lon, lat]);
      return [x, y];
    },
  };
}
