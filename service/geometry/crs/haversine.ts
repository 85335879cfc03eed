/** Mean Earth radius (IUGG), in metres. */
const EARTH_RADIUS_M = 6_371_008.8;
const DEG = Math.PI / 180;

/**
 * Great-circle distance between two lon/lat positions on a sphere; within 0.5 % of the ellipsoidal
 * distance, ample for checking conversions to the metre.
 * @returns metres
 * @example haversineMetres([116.404, 39.915], [116.41, 39.915]) // ≈ 512
 */
export function haversineMetres([lon1, lat1]: readonly [number, number], [lon2, lat2]: readonly [number, number]): number {
  const dLat = (lat2 - lat1) * DEG;
  const dLon = (lon2 - lon1) * DEG;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * DEG) * Math.cos(lat2 * DEG) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}
