import type { Polygon } from 'geojson';
import { createRandom } from '../../../kernel/random';
import type { PartitionGrid, PartitionSystem } from '../types';

/** Seeded uniform random numbers in [0, 1) (mulberry32): the same seed gives the same partition. */
export const seededRandom = createRandom;

export interface LatticeOptions {
  seed: number;
  /** Grid cells west–east and south–north; multiples of cellsPerCommunity × communitiesPerStreet. */
  columns: number;
  rows: number;
  cellsPerCommunity: number;
  communitiesPerStreet: number;
  /** South-west corner, lon/lat. */
  origin?: [number, number];
  /** Cell size in degrees of latitude (longitude is scaled to keep cells about square). */
  cell?: number;
}

/** The four-level governance system the generated partitions use (DOMAIN.md: district › street › community › grid). */
export const GOVERNANCE_SYSTEM: PartitionSystem = {
  key: 'governance',
  levels: [
    { key: 'district', order: 1 },
    { key: 'street', order: 2 },
    { key: 'community', order: 3 },
    { key: 'grid', order: 4 },
  ],
  overlapPolicy: { maxDepth: 1 },
};

/**
 * A clean four-level partition on a jittered lattice: every cell is a grid with 8 vertices (corners and
 * jittered edge midpoints, shared with its neighbours), blocks of cells are communities, blocks of
 * communities are streets, the whole lattice is the district. Parents are traced through every vertex
 * of their children's outer edges, the way a dissolve draws them. Codes follow DB11/T 2157-2023 (6 + 3
 * + 3 + 3 digits), numbered west→east, north→south inside each parent.
 */
export function generateLatticePartition(options: LatticeOptions): { system: PartitionSystem; grids: PartitionGrid[] } {
  const { columns, rows, cellsPerCommunity: c, communitiesPerStreet: s } = options;
  if (columns % (c * s) !== 0 || rows % (c * s) !== 0) throw new Error(`columns ${columns} and rows ${rows} must be multiples of ${c * s}`);
  const [lon0, lat0] = options.origin ?? [116.3, 39.85];
  const dy = options.cell ?? 0.001;
  const dx = dy / Math.cos((lat0 * Math.PI) / 180);
  const random = seededRandom(options.seed);
  const jitter = (amplitude: number) => (random() * 2 - 1) * amplitude;
  const round = (v: number) => Math.round(v * 1e7) / 1e7;
  const corner: [number, number][][] = [];
  for (let i = 0; i <= columns; i++) {
    corner.push([]);
    for (let j = 0; j <= rows; j++) corner[i].push([round(lon0 + (i + jitter(0.2)) * dx), round(lat0 + (j + jitter(0.2)) * dy)]);
  }
  const midpoint = (a: [number, number], b: [number, number], vertical: boolean): [number, number] => [
    round((a[0] + b[0]) / 2 + (vertical ? jitter(0.1) * dx : 0)),
    round((a[1] + b[1]) / 2 + (vertical ? 0 : jitter(0.1) * dy)),
  ];
  const bottomMid: [number, number][][] = [];
  const leftMid: [number, number][][] = [];
  for (let i = 0; i <= columns; i++) {
    bottomMid.push([]);
    leftMid.push([]);
    for (let j = 0; j <= rows; j++) {
      bottomMid[i].push(i < columns ? midpoint(corner[i][j], corner[i + 1][j], false) : [0, 0]);
      leftMid[i].push(j < rows ? midpoint(corner[i][j], corner[i][j + 1], true) : [0, 0]);
    }
  }
  /** The counter-clockwise ring around cells [i0, i1) × [j0, j1), through every shared vertex. */
  const block = (i0: number, j0: number, i1: number, j1: number): Polygon => {
    const ring: [number, number][] = [];
    for (let i = i0; i < i1; i++) ring.push(corner[i][j0], bottomMid[i][j0]);
    for (let j = j0; j < j1; j++) ring.push(corner[i1][j], leftMid[i1][j]);
    for (let i = i1; i > i0; i--) ring.push(corner[i][j1], bottomMid[i - 1][j1]);
    for (let j = j1; j > j0; j--) ring.push(corner[i0][j], leftMid[i0][j - 1]);
    ring.push(ring[0]);
    return { type: 'Polygon', coordinates: [ring] };
  };

  const grids: PartitionGrid[] = [];
  const levels = ['district', 'street', 'community', 'grid'];
  const sizes = [columns, c * s, c, 1];
  const visit = (depth: number, code: string, parentCode: string | null, i0: number, j0: number) => {
    const size = sizes[depth];
    const width = depth === 0 ? columns : size;
    const height = depth === 0 ? rows : size;
    grids.push({ code, parentCode, level: levels[depth], geometry: block(i0, j0, i0 + width, j0 + height) });
    if (depth === 3) return;
    const step = sizes[depth + 1];
    let n = 0;
    for (let j = j0 + height - step; j >= j0; j -= step) {
      for (let i = i0; i < i0 + width; i += step) visit(depth + 1, code + String(++n).padStart(3, '0'), code, i, j);
    }
  };
  visit(0, '110101', null, 0, 0);
  return { system: GOVERNANCE_SYSTEM, grids };
}
