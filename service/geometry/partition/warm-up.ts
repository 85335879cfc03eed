import type { Polygon } from 'geojson';
import { ValidationReuse } from './reuse';
import type { PartitionGrid, PartitionSystem } from './types';
import { validateSystem } from './validate-system';
import { polygonFromWkb } from './wkb';

const SYSTEM: PartitionSystem = { key: 'warm-up', levels: [{ key: 'parent', order: 1 }, { key: 'cell', order: 2 }], overlapPolicy: { maxDepth: 1 } };
const SIZE = 12;
const CELL = 0.01;

/**
 * Runs the validator's paths on a small made-up system (a parent tiled by 12 × 12 cells, one of them
 * shifted so an overlap, a gap and an invalid ring go through the overlay and the repair; an island, a
 * hole, a neighbouring parent), read from
 * WKB as the service sends grids, so that a freshly started validation worker has compiled its code
 * before the first real validation: a cold validation of US counties paid ~0.4 s of unoptimised code on
 * top of the work (issue #15). The later rounds go through `ValidationReuse` as a warm validation of an
 * unchanged stored system does (its first one took 20–40 ms instead of 4–10 before this). About 0.5 s of
 * CPU, off the event loop.
 *
 * @param rounds how many times to validate it
 */
export function warmUpValidator(rounds = 12): void {
  const { system, grids } = warmUpSystem();
  const wkb = grids.map((g) => toWkb(g.geometry as Polygon));
  for (let i = 0; i < rounds; i++) {
    validateSystem(
      system,
      grids.map((g, k) => ({ ...g, geometry: polygonFromWkb(wkb[k]) })),
      null,
      {},
    );
  }
  const reuse = new ValidationReuse();
  const rows = grids.map((g, k) => ({ code: g.code, parentCode: g.parentCode, level: g.level, version: '1', geometry: wkb[k]! }));
  for (let i = 0; i < rounds; i++) {
    // First every grid read, then one changed, then the same rows again.
    const taken = reuse.take('warm-up', i === 0 ? rows : i % 2 === 1 ? null : rows.map((r, k) => (k === 1 ? { ...r, version: String(i) } : { ...r, geometry: null })));
    validateSystem(system, taken, null, {}, undefined, reuse.prepared());
    reuse.done();
  }
}

/** Base64 WKB of a polygon (little-endian), as `encode(ST_AsBinary(geom), 'base64')` gives it. */
function toWkb(polygon: Polygon): string {
  const rings = polygon.coordinates;
  const bytes = Buffer.alloc(9 + rings.reduce((n, r) => n + 4 + 16 * r.length, 0));
  bytes.writeUInt8(1, 0);
  bytes.writeUInt32LE(3, 1);
  bytes.writeUInt32LE(rings.length, 5);
  let at = 9;
  for (const ring of rings) {
    bytes.writeUInt32LE(ring.length, at);
    at += 4;
    for (const [x, y] of ring) {
      bytes.writeDoubleLE(x, at);
      bytes.writeDoubleLE(y, at + 8);
      at += 16;
    }
  }
  return bytes.toString('base64');
}

/** The made-up system the warm-up validates. */
export function warmUpSystem(): { system: PartitionSystem; grids: PartitionGrid[] } {
  return { system: SYSTEM, grids: warmUpGrids() };
}

function warmUpGrids(): PartitionGrid[] {
  const square = (x0: number, y0: number, w: number, h: number, steps: number): Polygon => {
    // Edges carry intermediate vertices, shared with the neighbours, as real boundaries do.
    const ring: [number, number][] = [];
    for (let i = 0; i < steps; i++) ring.push([x0 + (w * i) / steps, y0]);
    for (let i = 0; i < steps; i++) ring.push([x0 + w, y0 + (h * i) / steps]);
    for (let i = 0; i < steps; i++) ring.push([x0 + w - (w * i) / steps, y0 + h]);
    for (let i = 0; i < steps; i++) ring.push([x0, y0 + h - (h * i) / steps]);
    ring.push([x0, y0]);
    return { type: 'Polygon', coordinates: [ring] };
  };
  const grids: PartitionGrid[] = [{ code: 'p', parentCode: null, level: 'parent', geometry: square(100, 30, SIZE * CELL, SIZE * CELL, SIZE * 2) }];
  for (let row = 0; row < SIZE; row++) {
    for (let column = 0; column < SIZE; column++) {
      const shift = row === 5 && column === 5 ? CELL / 3 : 0;
      grids.push({ code: `p${row}-${column}`, parentCode: 'p', level: 'cell', geometry: square(100 + column * CELL + shift, 30 + row * CELL, CELL, CELL, 6) });
    }
  }
  // A bow-tie: an invalid ring the repair rebuilds.
  const [x0, y0] = [100 + (SIZE - 1) * CELL, 30 + (SIZE - 1) * CELL];
  const [x1, y1] = [x0 + CELL, y0 + CELL];
  grids[grids.length - 1].geometry = { type: 'Polygon', coordinates: [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]] };
  // The shapes of real systems: a parent with an island (a MultiPolygon), a neighbouring parent sharing
  // an edge at the top level, a child with a hole that another child fills.
  const island = square(99.9, 30, CELL, CELL, 3);
  grids[0].geometry = { type: 'MultiPolygon', coordinates: [(grids[0].geometry as Polygon).coordinates, island.coordinates] };
  grids.push({ code: 'p-island', parentCode: 'p', level: 'cell', geometry: island });
  const east = 100 + SIZE * CELL;
  grids.push({ code: 'q', parentCode: null, level: 'parent', geometry: square(east, 30, 3 * CELL, 3 * CELL, 6) });
  const hole = square(east + 1.25 * CELL, 30 + 1.25 * CELL, CELL / 2, CELL / 2, 1);
  for (let row = 0; row < 3; row++) {
    for (let column = 0; column < 3; column++) {
      const cell = square(east + column * CELL, 30 + row * CELL, CELL, CELL, 2);
      if (row === 1 && column === 1) cell.coordinates.push([...hole.coordinates[0]].reverse());
      grids.push({ code: `q${row}-${column}`, parentCode: 'q', level: 'cell', geometry: cell });
    }
  }
  grids.push({ code: 'q-hole', parentCode: 'q', level: 'cell', geometry: hole });
  return grids;
}
