import RBush from 'rbush';
import { area, bounds, frameFor, intersection, normalise, shapeKey, toRings, type IntFrame, type Rings } from './boolean';
import { AreaMeter } from './measure';
import type { OverlayGrid } from './types';
import { extendBox } from './shape';

/** Pieces smaller than this (steps², ≈ 0.001 m²) are rounding noise. */
const NOISE_STEPS2 = 1e5;

export interface GridShares {
  code: string;
  name: string;
  area_m2: number;
  /** Shares (0–1) of the grid's area inside each grid of the other side, largest first. */
  shares: { code: string; name: string; share: number; area_m2: number }[];
  /** Share inside no grid of the other side. */
  outsideShare: number;
  /** The largest share; below the threshold the grid straddles. */
  maxShare: number;
}

export interface AlignmentReport {
  a: string;
  b: string;
  threshold: number;
  summary: { grids: number; straddling: number; aligned: number; outside: number };
  grids: GridShares[];
  /** Codes of A's grids whose largest share in one grid of B is below the threshold. */
  straddling: string[];
}

/**
 * Alignment of system A against system B (issue #13): for every grid of A its share in each grid of B,
 * and the grids of A that straddle B's boundaries — e.g. a health grid over two communities.
 *
 * @param a the grids of A (usually one level)
 * @param b the grids of B (usually one level, a partition)
 * @param threshold a grid whose largest share is below this straddles; default 0.95
 * @returns per grid of A its shares, largest first, and the straddling grids
 * @example alignGrids({ key: 'health', grids }, { key: 'governance', grids: communities }).straddling
 */
export function alignGrids(a: { key: string; grids: OverlayGrid[] }, b: { key: string; grids: OverlayGrid[] }, threshold = 0.95): AlignmentReport {
  const shares = gridShares(a.grids, b.grids);
  const straddling = shares.filter((g) => g.area_m2 > 0 && g.maxShare < threshold).map((g) => g.code);
  return {
    a: a.key,
    b: b.key,
    threshold,
    summary: {
      grids: shares.length,
      straddling: straddling.length,
      aligned: shares.filter((g) => g.area_m2 > 0 && g.maxShare >= threshold).length,
      outside: shares.filter((g) => g.outsideShare >= 1 - threshold).length,
    },
    grids: shares,
    straddling,
  };
}

/** For every grid of `from`, its shares in the grids of `into` (rbush over `into`, exact integer overlay). */
export function gridShares(from: readonly OverlayGrid[], into: readonly OverlayGrid[]): GridShares[] {
  const box = lonLatBox([...from, ...into]);
  if (!box) return from.map((g) => ({ code: g.code, name: g.name, area_m2: 0, shares: [], outsideShare: 1, maxShare: 0 }));
  const frame = frameFor(box);
  const meter = new AreaMeter(frame, box);
  const targets = into.map((g) => {
    const rings = normalise(ringsOf(frame, g));
    const [minX, minY, maxX, maxY] = bounds(rings);
    return { minX, minY, maxX, maxY, grid: g, rings, key: null as string | null };
  });
  const tree = new RBush<(typeof targets)[number]>().load(targets.filter((t) => t.rings.length > 0));
  return from.map((grid) => {
    const rings = normalise(ringsOf(frame, grid));
    const total = meter.area(rings);
    if (rings.length === 0 || total <= 0) return { code: grid.code, name: grid.name, area_m2: 0, shares: [], outsideShare: 1, maxShare: 0 };
    const [minX, minY, maxX, maxY] = bounds(rings);
    let key: string | null = null;
    const shares: GridShares['shares'] = [];
    for (const target of tree.search({ minX, minY, maxX, maxY })) {
      let inside: Rings;
      if (target.minX === minX && target.minY === minY && target.maxX === maxX && target.maxY === maxY && (target.key ??= shapeKey(target.rings)) === (key ??= shapeKey(rings))) {
        inside = rings;
      } else {
        inside = intersection(rings, target.rings);
        if (area(inside) <= NOISE_STEPS2) continue;
      }
      const a = meter.area(inside);
      shares.push({ code: target.grid.code, name: target.grid.name, share: round6(a / total), area_m2: round2(a) });
    }
    shares.sort((x, y) => y.share - x.share || (x.code < y.code ? -1 : 1));
    const inAny = shares.reduce((s, x) => s + x.area_m2, 0);
    return {
      code: grid.code,
      name: grid.name,
      area_m2: round2(total),
      shares,
      outsideShare: round6(Math.max(0, 1 - inAny / total)),
      maxShare: shares[0]?.share ?? 0,
    };
  });
}

function ringsOf(frame: IntFrame, grid: OverlayGrid): Rings {
  const g = grid.geometry;
  if (!g) return [];
  return toRings(frame, g.type === 'Polygon' ? [g.coordinates] : g.coordinates);
}

function lonLatBox(grids: readonly OverlayGrid[]): [number, number, number, number] | null {
  const box: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const grid of grids) if (grid.geometry) extendBox(box, grid.geometry);
  return box[0] === Infinity ? null : box;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const round6 = (n: number) => Math.round(n * 1e6) / 1e6;
