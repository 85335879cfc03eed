import type { Position } from 'geojson';
import type { Random } from './random';

/**
 * A jittered lattice of vertices: every grid of every system is a union of its cells, so neighbouring
 * grids share vertices exactly. Cells are numbered row by row from the north-west corner (`c = j * columns
 * + i`, row j grows southwards), so cell order is already reading order (west→east, north→south).
 */
export interface Lattice {
  columns: number;
  rows: number;
  /** Vertex coordinates, vertex (i, j) at `j * (columns + 1) + i`, rounded once to 7 decimals. */
  lon: Float64Array;
  lat: Float64Array;
}

/** Nominal cell size, one governance grid: with the jitter a cell measures about 150–250 m, a city block. */
const CELL_METRES = 200;
/**
 * Jitter as a fraction of a cell. Below 0.25 every cell stays convex, which keeps sampled points and
 * defect triangles inside the cell they are meant for. Rows jitter less than columns so centroids of one
 * row never reach half a cell towards the next one, which keeps reading order unambiguous.
 */
const JITTER_X = 0.2;
const JITTER_Y = 0.15;
const METRES_PER_DEGREE_LAT = 110_574;
const METRES_PER_DEGREE_LON_EQUATOR = 111_320;

/** Directions in counter-clockwise order: east, north, west, south. */
export const DI = [1, 0, -1, 0] as const;
export const DJ = [0, -1, 0, 1] as const;

export const round7 = (x: number): number => Math.round(x * 1e7) / 1e7;

/** Metres per degree of longitude and of latitude at `lat` (equirectangular; ample for a district). */
export function metresPerDegree(lat: number): [number, number] {
  return [METRES_PER_DEGREE_LON_EQUATOR * Math.cos((lat * Math.PI) / 180), METRES_PER_DEGREE_LAT];
}

/** A lattice of `columns` × `rows` cells centred on `centre` ([lon, lat]). */
export function createLattice(random: Random, columns: number, rows: number, centre: [number, number]): Lattice {
  const [lonMetres, latMetres] = metresPerDegree(centre[1]);
  const perLon = CELL_METRES / lonMetres;
  const perLat = CELL_METRES / latMetres;
  const n = (columns + 1) * (rows + 1);
  const lon = new Float64Array(n);
  const lat = new Float64Array(n);
  for (let j = 0; j <= rows; j++) {
    for (let i = 0; i <= columns; i++) {
      const v = j * (columns + 1) + i;
      lon[v] = round7(centre[0] + (i - columns / 2 + JITTER_X * (2 * random() - 1)) * perLon);
      lat[v] = round7(centre[1] + (rows / 2 - j + JITTER_Y * (2 * random() - 1)) * perLat);
    }
  }
  return { columns, rows, lon, lat };
}

function vertexOf(lattice: Lattice, i: number, j: number): number {
  return j * (lattice.columns + 1) + i;
}

/** The cell across side `d` of cell `c`, or -1 past the lattice edge. */
export function neighbour(lattice: Lattice, c: number, d: number): number {
  const i = (c % lattice.columns) + DI[d];
  const j = Math.floor(c / lattice.columns) + DJ[d];
  return i < 0 || j < 0 || i >= lattice.columns || j >= lattice.rows ? -1 : j * lattice.columns + i;
}

/** Corner vertices of a cell, counter-clockwise from the south-west: [sw, se, ne, nw]. */
export function cellCorners(lattice: Lattice, c: number): [number, number, number, number] {
  const i = c % lattice.columns;
  const j = Math.floor(c / lattice.columns);
  return [vertexOf(lattice, i, j + 1), vertexOf(lattice, i + 1, j + 1), vertexOf(lattice, i + 1, j), vertexOf(lattice, i, j)];
}

export function position(lattice: Lattice, v: number): Position {
  return [lattice.lon[v], lattice.lat[v]];
}

/** The closed outer ring of a cell, counter-clockwise as RFC 7946 asks. */
export function cellRing(lattice: Lattice, c: number): Position[] {
  const corners = cellCorners(lattice, c);
  return [...corners, corners[0]].map((v) => position(lattice, v));
}

/**
 * The point at (u, v) of a cell by bilinear interpolation, u west→east and v north→south in [0, 1].
 * Cells are convex, so 0 < u, v < 1 lands strictly inside.
 */
export function cellPoint(lattice: Lattice, c: number, u: number, v: number): [number, number] {
  const [sw, se, ne, nw] = cellCorners(lattice, c);
  const { lon, lat } = lattice;
  const x = (1 - v) * ((1 - u) * lon[nw] + u * lon[ne]) + v * ((1 - u) * lon[sw] + u * lon[se]);
  const y = (1 - v) * ((1 - u) * lat[nw] + u * lat[ne]) + v * ((1 - u) * lat[sw] + u * lat[se]);
  return [round7(x), round7(y)];
}
