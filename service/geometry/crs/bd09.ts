/**
 * BD-09, Baidu's frame: a further rotation and shift of GCJ-02, by the formula Baidu's own conversion
 * reproduces (published in coordtransform and eviltransform). Applied everywhere, like Baidu does.
 */

const X_PI = (Math.PI * 3000) / 180;

/**
 * GCJ-02 → BD-09.
 * @example gcj02ToBd09(116.404, 39.915) // [116.41036949371029, 39.92133699351021]
 */
export function gcj02ToBd09(lon: number, lat: number): [number, number] {
  const z = Math.sqrt(lon * lon + lat * lat) + 0.00002 * Math.sin(lat * X_PI);
  const theta = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * X_PI);
  return [z * Math.cos(theta) + 0.0065, z * Math.sin(theta) + 0.006];
}

/**
 * BD-09 → GCJ-02 (the standard closed-form inverse; it returns the input of `gcj02ToBd09` to within
 * 0.2 m).
 * @example bd09ToGcj02(116.404, 39.915) // [116.39762729119315, 39.90865673957631]
 */
export function bd09ToGcj02(lon: number, lat: number): [number, number] {
  const x = lon - 0.0065;
  const y = lat - 0.006;
  const z = Math.sqrt(x * x + y * y) - 0.00002 * Math.sin(y * X_PI);
  const theta = Math.atan2(y, x) - 0.000003 * Math.cos(x * X_PI);
  return [z * Math.cos(theta), z * Math.sin(theta)];
}
