/**
 * The CGCS2000 Gauss-Krüger projected CRSs EPSG:4491–4554, which proj4 does not ship. All are transverse
 * Mercator on the CGCS2000 ellipsoid (= GRS80: a = 6378137, 1/f = 298.257222101), origin on the equator,
 * scale 1, false northing 0. Four families of codes:
 * - 4491–4501: 6° zones 13–23, central meridian 6·zone − 3 (75°E…135°E), zone number prefixed to the
 *   easting (false easting zone·10⁶ + 500 000);
 * - 4502–4512: the same 6° zones without the prefix (false easting 500 000), named "CM 75E"…"CM 135E";
 * - 4513–4533: 3° zones 25–45, central meridian 3·zone (75°E…135°E), prefixed easting;
 * - 4534–4554: the same 3° zones without the prefix.
 * Checked against the EPSG dataset as published on epsg.io (see gauss-kruger.test.ts for which codes).
 */

export interface GaussKrugerZone {
  code: number;
  /** 3° or 6° zones. */
  width: 3 | 6;
  zone: number;
  centralMeridian: number;
  /** True when the zone number is prefixed to the easting (e.g. 39 500 000 m in 3° zone 39). */
  prefixed: boolean;
  falseEasting: number;
}

const FAMILIES = [
  { first: 4491, last: 4501, width: 6, firstZone: 13, prefixed: true },
  { first: 4502, last: 4512, width: 6, firstZone: 13, prefixed: false },
  { first: 4513, last: 4533, width: 3, firstZone: 25, prefixed: true },
  { first: 4534, last: 4554, width: 3, firstZone: 25, prefixed: false },
] as const;

/**
 * The zone an EPSG code stands for.
 * @param code an EPSG code
 * @returns the zone, or null when `code` is not one of 4491–4554
 * @example gaussKrugerZone(4527) // { width: 3, zone: 39, centralMeridian: 117, prefixed: true, falseEasting: 39500000, … }
 */
export function gaussKrugerZone(code: number): GaussKrugerZone | null {
  const family = FAMILIES.find((f) => code >= f.first && code <= f.last);
  if (!family) return null;
  const zone = family.firstZone + (code - family.first);
  const centralMeridian = family.width === 6 ? 6 * zone - 3 : 3 * zone;
  const falseEasting = family.prefixed ? zone * 1_000_000 + 500_000 : 500_000;
  return { code, width: family.width, zone, centralMeridian, prefixed: family.prefixed, falseEasting };
}

/**
 * The proj4 definition of a zone. CGCS2000 is taken as WGS 84 (towgs84 zero): the frames differ by less
 * than a metre, below what grid boundaries resolve.
 * @example gaussKrugerProj4(gaussKrugerZone(4547)!) // '+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 …'
 */
export function gaussKrugerProj4(zone: GaussKrugerZone): string {
  return `+proj=tmerc +lat_0=0 +lon_0=${zone.centralMeridian} +k=1 +x_0=${zone.falseEasting} +y_0=0 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs`;
}
