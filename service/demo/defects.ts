import { area } from '@turf/turf';
import type { Feature, MultiPolygon, Position } from 'geojson';
import type { Administration } from './governance';
import { cellCorners, metresPerDegree, neighbour, position, round7, type Lattice } from './lattice';
import { createRandom, deriveSeed, shuffle } from './random';
import type { DemoSystem, GridProperties, InjectedDefect } from './types';

/** Defects keep this many cells apart (about 1.2 km), so no two interact and each is found on its own. */
const SPACING = 6;
/** How far a drawn-in or drawn-out vertex goes from the middle of a side towards the centre of the cell beyond. */
const DENT = 0.4;
/** The sliver: one shared vertex moved this far in one grid only, a typical unsnapped digitising error. */
const SLIVER_METRES = 0.5;

interface Injection {
  kind: InjectedDefect['kind'];
  cell: number;
  /** Cells whose grids border the defect, after `cell`. */
  others: number[];
  ring: Position[];
  area_m2: number;
  location: [number, number];
  description: (codes: string[], parent: string) => string;
}

/**
 * The governance system with five defects injected into its grids, far apart, each changing the ring
 * of one grid only, and the list of them with their exact areas (geodesic, @turf/area):
 * - gap: a vertex inserted in the middle of the side shared with a sibling, drawn 40 % into the grid;
 * - overlap: the same, drawn 40 % into the sibling (cells are convex, so the triangle lies in it alone);
 * - sliver: a corner shared by four grids of one community moved 0.5 m into one of them;
 * - outside: a vertex inserted on a side on the district boundary, drawn into the lattice cell outside,
 *   which belongs to no grid, so the grid leaves its community, street and district and overlaps nothing;
 * - invalid: a spike from a corner into the grid and back along itself; it has no area, so coverage is
 *   unchanged, but the ring touches itself (invalid per OGC simple features).
 */
export function injectDefects(seed: number, lattice: Lattice, admin: Administration, governance: DemoSystem): { system: DemoSystem; defects: InjectedDefect[] } {
  const random = createRandom(deriveSeed(seed, 'defects'));
  const { communityOf, gridOf } = admin;
  const chosen: number[] = [];
  const farFromChosen = (cells: number[]) =>
    cells.every((c) =>
      chosen.every((o) => Math.max(Math.abs((c % lattice.columns) - (o % lattice.columns)), Math.abs(Math.floor(c / lattice.columns) - Math.floor(o / lattice.columns))) >= SPACING),
    );
  // Candidates are encoded as cell * 4 + side (or corner), so a 100 000-grid district makes no objects.
  const candidates: number[] = [];
  for (const cell of admin.district.cells) for (let k = 0; k < 4; k++) candidates.push(cell * 4 + k);
  const choose = (kind: string, fits: (cell: number, k: number) => boolean, cellsOf: (cell: number, k: number) => number[]): [number, number] => {
    for (const candidate of shuffle(random, candidates)) {
      const cell = candidate >> 2;
      const k = candidate & 3;
      if (!fits(cell, k) || !farFromChosen(cellsOf(cell, k))) continue;
      chosen.push(...cellsOf(cell, k));
      return [cell, k];
    }
    throw new RangeError(`no room for a ${kind} defect ${SPACING} cells from the others; use more grids`);
  };
  const sibling = (cell: number, d: number) => {
    const across = neighbour(lattice, cell, d);
    return across >= 0 && communityOf[across] === communityOf[cell];
  };
  // The three other cells at corner k: across the side ending at k, across the side starting at k, diagonal.
  const around = (cell: number, k: number) => {
    const first = neighbour(lattice, cell, (k + 2) & 3);
    return [first, neighbour(lattice, cell, (k + 3) & 3), first < 0 ? -1 : neighbour(lattice, first, (k + 3) & 3)];
  };
  const pair = (cell: number, d: number) => [cell, neighbour(lattice, cell, d)];
  const alone = (cell: number) => [cell];

  const outside = choose('outside', (cell, d) => gridOf[neighbour(lattice, cell, d)] < 0, alone);
  const gap = choose('gap', sibling, pair);
  const overlap = choose('overlap', sibling, pair);
  const sliver = choose('sliver', (cell, k) => around(cell, k).every((n) => n >= 0 && communityOf[n] === communityOf[cell]), (cell, k) => [cell, ...around(cell, k)]);
  const invalid = choose('invalid', () => true, alone);
  const injections = [
    dent(lattice, outside[0], outside[1], 'outside'),
    dent(lattice, gap[0], gap[1], 'gap'),
    dent(lattice, overlap[0], overlap[1], 'overlap'),
    moveCorner(lattice, sliver[0], sliver[1], around(sliver[0], sliver[1])),
    spike(lattice, invalid[0], invalid[1]),
  ];

  const features = [...governance.grids.features];
  const defects = injections.map((injection): InjectedDefect => {
    const grid = admin.grids[gridOf[injection.cell]];
    const codes = [grid.code, ...injection.others.map((c) => admin.grids[gridOf[c]].code)];
    const parent = admin.communities[grid.community].code;
    const index = features.findIndex((f) => f.properties.code === grid.code);
    features[index] = withRing(features[index], injection.ring);
    return { kind: injection.kind, system: governance.system.key, parent, grids: codes, area_m2: injection.area_m2, location: injection.location, description: injection.description(codes, parent) };
  });
  return { system: { system: governance.system, grids: { type: 'FeatureCollection', features } }, defects };
}

function withRing(feature: Feature<MultiPolygon, GridProperties>, ring: Position[]): Feature<MultiPolygon, GridProperties> {
  return { ...feature, geometry: { type: 'MultiPolygon', coordinates: [[ring]] } };
}

/** A vertex in the middle of side `d`, drawn into the grid (gap) or into the cell across (overlap, outside). */
function dent(lattice: Lattice, cell: number, d: number, kind: 'gap' | 'overlap' | 'outside'): Injection {
  const corners = cellCorners(lattice, cell);
  const a = position(lattice, corners[(d + 1) & 3]);
  const b = position(lattice, corners[(d + 2) & 3]);
  const middle: Position = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const across = neighbour(lattice, cell, d);
  const tip = towards(middle, centreOf(lattice, kind === 'gap' ? cell : across), DENT);
  const triangle = [a, tip, b];
  const area_m2 = polygonArea(triangle);
  const descriptions = {
    gap: (codes: string[], parent: string) =>
      `Grid ${codes[0]} stops short of its side shared with ${codes[1]}: a triangular gap of ${area_m2} m² between the two, inside community ${parent}.`,
    overlap: (codes: string[]) => `Grid ${codes[0]} reaches across its side into sibling ${codes[1]}: a triangle of ${area_m2} m² lies in both.`,
    outside: (codes: string[], parent: string) =>
      `Grid ${codes[0]} pokes ${area_m2} m² across the district boundary, outside community ${parent}, its street and the district; it overlaps no other grid.`,
  };
  return { kind, cell, others: kind === 'outside' ? [] : [across], ring: ringWith(lattice, cell, (d + 1) & 3, [tip]), area_m2, location: mean(triangle), description: descriptions[kind] };
}

/** Corner `k` moved 0.5 m towards the centre of the cell in this grid only: a thin gap along two sides. */
function moveCorner(lattice: Lattice, cell: number, k: number, around: number[]): Injection {
  const corners = cellCorners(lattice, cell).map((v) => position(lattice, v));
  const corner = corners[k];
  const centre = centreOf(lattice, cell);
  const [perLon, perLat] = metresPerDegree(corner[1]);
  const distance = Math.hypot((centre[0] - corner[0]) * perLon, (centre[1] - corner[1]) * perLat);
  const moved = towards(corner, centre, SLIVER_METRES / distance);
  const dart = [corners[(k + 3) & 3], corner, corners[(k + 1) & 3], moved];
  const area_m2 = polygonArea(dart);
  return {
    kind: 'sliver',
    cell,
    others: around.slice(0, 2),
    ring: ringWith(lattice, cell, k, [], moved),
    area_m2,
    location: mean([corner, moved]),
    description: (codes) =>
      `A corner of grid ${codes[0]} shared with ${codes[1]} and ${codes[2]} was moved ${SLIVER_METRES} m into ${codes[0]} without them: a sliver gap of ${area_m2} m² along two sides.`,
  };
}

/**
 * A zero-area spike from corner `k` 35 % of the way to the centre and back. Its location is the tip,
 * where PostGIS (GEOS) reports the self-intersection.
 */
function spike(lattice: Lattice, cell: number, k: number): Injection {
  const corner = position(lattice, cellCorners(lattice, cell)[k]);
  const tip = towards(corner, centreOf(lattice, cell), 0.35);
  return {
    kind: 'invalid',
    cell,
    others: [],
    ring: ringWith(lattice, cell, k, [tip, corner]),
    area_m2: 0,
    location: [tip[0], tip[1]],
    description: (codes) =>
      `The ring of grid ${codes[0]} runs from its corner [${corner.join(', ')}] to [${tip.join(', ')}] and back along itself: a spike with no area, so coverage is unchanged, but the ring intersects itself (invalid).`,
  };
}

/**
 * One grid's outer ring rebuilt from its cell corners [sw, se, ne, nw] with `insert` after corner `after`.
 * Every corner keeps its exact lattice coordinates, so nothing changes along the other sides.
 */
function ringWith(lattice: Lattice, cell: number, after: number, insert: Position[], replace?: Position): Position[] {
  const corners = cellCorners(lattice, cell).map((v) => position(lattice, v));
  if (replace) corners[after] = replace;
  const ring = [...corners.slice(0, after + 1), ...insert, ...corners.slice(after + 1)];
  return [...ring, ring[0]];
}

const centreOf = (lattice: Lattice, cell: number): Position => {
  const corners = cellCorners(lattice, cell);
  return [corners.reduce((s, v) => s + lattice.lon[v], 0) / 4, corners.reduce((s, v) => s + lattice.lat[v], 0) / 4];
};
const towards = (from: Position, to: Position, t: number): Position => [round7(from[0] + t * (to[0] - from[0])), round7(from[1] + t * (to[1] - from[1]))];
const mean = (points: Position[]): [number, number] => [
  round7(points.reduce((s, p) => s + p[0], 0) / points.length),
  round7(points.reduce((s, p) => s + p[1], 0) / points.length),
];
const polygonArea = (ring: Position[]): number => Math.round(area({ type: 'Polygon', coordinates: [[...ring, ring[0]]] }) * 100) / 100;
