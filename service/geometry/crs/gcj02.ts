/**
 * GCJ-02, the obfuscated frame of consumer maps in China (Amap, Tencent). The forward transform is the
 * public algorithm known from the leaked reference implementation (the form used by eviltransform and
 * coordtransform); it applies inside a bounding box of China only, elsewhere GCJ-02 equals WGS 84.
 */

/** Krasovsky 1940 semi-major axis and eccentricity squared, as in the reference implementation. */
const A = 6378245.0;
const EE = 0.00669342162296594323;
const DEG = Math.PI / 180;

/** The inverse stops once the forward transform of its estimate is this close to the input (≈1 cm). */
const INVERSE_TOLERANCE_DEG = 1e-7;
const INVERSE_MAX_ITERATIONS = 30;

/**
 * True outside the box in which GCJ-02 shifts coordinates (72.004–137.8347°E, 0.8293–55.8271°N).
 * @example outOfChina(2.35, 48.85) // true
 */
export function outOfChina(lon: number, lat: number): boolean {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

/**
 * WGS 84 → GCJ-02.
 * @returns [lon, lat] in GCJ-02; the input unchanged outside China
 * @example wgs84ToGcj02(116.404, 39.915) // [116.41024449916938, 39.91640428150164]
 */
export function wgs84ToGcj02(lon: number, lat: number): [number, number] {
  return outOfChina(lon, lat) ? [lon, lat] : shift(lon, lat);
}

/**
 * GCJ-02 → WGS 84, by fixed-point iteration on the forward transform until it reproduces the input to
 * within 1e-7° (the one-step "subtract the offset" inverse found in many libraries errs by metres).
 * @returns [lon, lat] in WGS 84; the input unchanged outside China
 * @example gcj02ToWgs84(116.41024449916938, 39.91640428150164) // ≈ [116.404, 39.915]
 */
export function gcj02ToWgs84(lon: number, lat: number): [number, number] {
  if (outOfChina(lon, lat)) return [lon, lat];
  let wgsLon = lon;
  let wgsLat = lat;
  for (let i = 0; i < INVERSE_MAX_ITERATIONS; i++) {
    const [gcjLon, gcjLat] = shift(wgsLon, wgsLat);
    const dLon = lon - gcjLon;
    const dLat = lat - gcjLat;
    wgsLon += dLon;
    wgsLat += dLat;
    if (Math.abs(dLon) < INVERSE_TOLERANCE_DEG && Math.abs(dLat) < INVERSE_TOLERANCE_DEG) break;
  }
  return [wgsLon, wgsLat];
}

function shift(lon: number, lat: number): [number, number] {
  const x = lon - 105;
  const y = lat - 35;
  let dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  let dLon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  const common = ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  dLat += common + ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  dLat += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  dLon += common + ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  dLon += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  const radLat = lat * DEG;
  const sinLat = Math.sin(radLat);
  const magic = 1 - EE * sinLat * sinLat;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  dLon = (dLon * 180) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return [lon + dLon, lat + dLat];
}
