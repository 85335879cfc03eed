import { badRequest } from '../errors';

/** A tile of the XYZ (Web Mercator, EPSG:3857) pyramid: x grows east, y grows south. */
export interface TileCoord {
  z: number;
  x: number;
  y: number;
}

/** [west, south, east, north] in degrees (EPSG:4326). */
export type LonLatBbox = [number, number, number, number];

/** The deepest zoom any source may declare; 2^24 tiles per axis keeps x and y exact in a double. */
export const MAX_ZOOM = 24;
/** Web Mercator stops where y reaches ±π: ±85.0511287798°. */
export const MAX_LATITUDE = 85.0511287798066;

/**
 * Parses tile coordinates from a URL and checks they name a tile of the pyramid.
 * @param z - zoom as written in the URL
 * @param x - column as written in the URL
 * @param y - row as written in the URL
 * @returns the tile
 * @throws AppError 400 `invalid_tile` naming the bad coordinate and the allowed range
 * @example parseTile('14', '13006', '6776') // { z: 14, x: 13006, y: 6776 }
 */
export function parseTile(z: string, x: string, y: string): TileCoord {
  const zoom = parseIndex('z', z, MAX_ZOOM);
  const last = 2 ** zoom - 1;
  return { z: zoom, x: parseIndex('x', x, last, zoom), y: parseIndex('y', y, last, zoom) };
}

function parseIndex(name: string, text: string, max: number, zoom?: number): number {
  const n = /^\d{1,8}$/.test(text) ? Number(text) : NaN;
  if (!(n <= max)) {
    const at = zoom === undefined ? '' : ` at zoom ${zoom}`;
    throw badRequest('invalid_tile', `tile ${name} "${text.slice(0, 20)}" must be an integer from 0 to ${max}${at}`);
  }
  return n;
}

/** Longitude → Web Mercator x in [0, 1] (0 at 180°W). */
export function mercatorX(lon: number): number {
  return lon / 360 + 0.5;
}

/** Latitude → Web Mercator y in [0, 1] (0 at the north edge), clamped to the Mercator limits. */
export function mercatorY(lat: number): number {
  const clamped = Math.max(-MAX_LATITUDE, Math.min(MAX_LATITUDE, lat));
  const sin = Math.sin((clamped * Math.PI) / 180);
  return 0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI);
}

function longitude(mx: number): number {
  return (mx - 0.5) * 360;
}

/** Web Mercator y in [0, 1] (0 at the north edge) → latitude. */
export function latitude(my: number): number {
  return (Math.atan(Math.sinh(Math.PI * (1 - 2 * my))) * 180) / Math.PI;
}

/** The tile's extent in degrees, [west, south, east, north], grown by `buffer` (a fraction of its width) on each side. */
export function tileBounds({ z, x, y }: TileCoord, buffer = 0): LonLatBbox {
  const n = 2 ** z;
  return [longitude((x - buffer) / n), latitude((y + 1 + buffer) / n), longitude((x + 1 + buffer) / n), latitude((y - buffer) / n)];
}

/** The tile at zoom `z` containing a point; points on the east or south edge of the world stay inside it. */
export function tileAt(lon: number, lat: number, z: number): TileCoord {
  const n = 2 ** z;
  const clamp = (v: number) => Math.min(n - 1, Math.max(0, Math.floor(v * n)));
  return { z, x: clamp(mercatorX(lon)), y: clamp(mercatorY(lat)) };
}

/**
 * Whether a lon/lat box touches a tile grown by `buffer` (a fraction of the tile's width on each side,
 * e.g. 64/4096): a change inside the buffer shows in the tile, so the tile is stale too.
 */
export function bboxTouchesTile(bbox: LonLatBbox, tile: TileCoord, buffer = 0): boolean {
  const n = 2 ** tile.z;
  const x0 = (tile.x - buffer) / n;
  const x1 = (tile.x + 1 + buffer) / n;
  const y0 = (tile.y - buffer) / n;
  const y1 = (tile.y + 1 + buffer) / n;
  return mercatorX(bbox[0]) <= x1 && mercatorX(bbox[2]) >= x0 && mercatorY(bbox[3]) <= y1 && mercatorY(bbox[1]) >= y0;
}

/** Every tile at zoom `z` that a lon/lat box touches, row by row from the north-west. */
export function tilesCovering(bbox: LonLatBbox, z: number): TileCoord[] {
  const nw = tileAt(bbox[0], bbox[3], z);
  const se = tileAt(bbox[2], bbox[1], z);
  const tiles: TileCoord[] = [];
  for (let y = nw.y; y <= se.y; y++) for (let x = nw.x; x <= se.x; x++) tiles.push({ z, x, y });
  return tiles;
}

/** The largest zoom at which the box fits in a `pixels`-wide square of 256-pixel tiles, for TileJSON centers. */
export function fitZoom(bbox: LonLatBbox, pixels = 512): number {
  const width = Math.max(mercatorX(bbox[2]) - mercatorX(bbox[0]), mercatorY(bbox[1]) - mercatorY(bbox[3]), 1e-9);
  return Math.max(0, Math.min(MAX_ZOOM, Math.floor(Math.log2(pixels / 256 / width))));
}

/** The box around all given boxes; null when there are none. */
export function unionBounds(boxes: (LonLatBbox | null)[]): LonLatBbox | null {
  let out: LonLatBbox | null = null;
  for (const b of boxes) {
    if (!b) continue;
    out = out ? [Math.min(out[0], b[0]), Math.min(out[1], b[1]), Math.max(out[2], b[2]), Math.max(out[3], b[3])] : [...b];
  }
  return out;
}
