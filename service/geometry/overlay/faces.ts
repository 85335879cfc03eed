import type { MultiPolygon, Polygon } from 'geojson';
import { frameFor, polygonsOf, toLonLat, toRings, type IntFrame, type Rings } from './boolean';
import { arrange, createArrangeMemo, type ArrangeMemo } from './arrangement';
import { AreaMeter } from './measure';
import type { FaceRef, OverlayInput } from './types';

/** One face of an overlay before the report numbers it: its unit, covering grids, area and shape. */
export interface ArrangedFace {
  /** Code of the unit the face lies in; null outside every unit. */
  unit: string | null;
  /** Covering grids, sorted by system then code. */
  grids: FaceRef[];
  /** m², unrounded, so sums over faces are exact to the measure. */
  area_m2: number;
  geometry: Polygon | MultiPolygon;
}

/**
 * The faces of the participating systems' grids over a territory cut into units (the arrangement of
 * `arrangement.ts`, measured and turned back into lon/lat). Also the incremental path: called with only
 * the units a change touches and `unitsOnly`, it gives exactly those units' faces of the whole overlay,
 * since a face never crosses a unit boundary and the territory (hence frame and measure) is the same.
 *
 * @param input territory, units and participating grids, lon/lat
 * @param options.within per unit: known to lie inside the territory, so it needs no clipping
 * @param options.unitsOnly leave out the part of the territory outside the given units
 * @returns the faces, in no particular order
 * @throws RangeError when the territory has no geometry
 */
export function arrangeFaces(input: Pick<OverlayInput, 'territory' | 'units' | 'systems'>, options: { within?: readonly boolean[]; unitsOnly?: boolean } = {}): ArrangedFace[] {
  return arrangePrepared(prepareOverlay(input), options);
}

/**
 * An overlay's input turned into what the arrangement works on: the territory's integer frame and area
 * measure, every geometry as integer rings. It depends on nothing but the input, so a caller may keep it
 * while the grids it came from are unchanged and arrange it again (the overlay service's input cache).
 */
export interface PreparedOverlay {
  frame: IntFrame;
  meter: AreaMeter;
  territory: Rings;
  units: { code: string; rings: Rings }[];
  grids: { ref: FaceRef; rings: Rings }[];
  /** Normalised rings and shape keys of the above, made by the first arrangement, reused by the next. */
  memo: ArrangeMemo;
}

/** @throws RangeError when the territory has no geometry */
export function prepareOverlay(input: Pick<OverlayInput, 'territory' | 'units' | 'systems'>): PreparedOverlay {
  const { territory, units, systems } = input;
  if (!territory.geometry) throw new RangeError(`territory ${territory.system}/${territory.code} has no geometry`);
  const bbox = boxOf(territory.geometry);
  const frame = frameFor(bbox);
  return {
    frame,
    meter: new AreaMeter(frame, bbox),
    territory: ringsOf(frame, territory.geometry),
    units: units.map((u) => ({ code: u.code, rings: ringsOf(frame, u.geometry) })),
    grids: systems.flatMap((s) => s.grids.map((g) => ({ ref: { system: s.key, code: g.code } as FaceRef, rings: ringsOf(frame, g.geometry) }))),
    memo: createArrangeMemo(),
  };
}

/**
 * `arrangeFaces` over a prepared input, which it does not change. `options.keep` leaves out the units it
 * marks false (a caller who may see only some units); `within` is per prepared unit.
 */
export function arrangePrepared(prepared: PreparedOverlay, options: { within?: readonly boolean[]; unitsOnly?: boolean; keep?: readonly boolean[] } = {}): ArrangedFace[] {
  const { frame, meter, grids } = prepared;
  const kept = prepared.units.map((unit, k) => ({ unit, within: options.within?.[k] ?? false })).filter((_, k) => options.keep?.[k] ?? true);
  const pieces = arrange(
    prepared.territory,
    kept.map(({ unit, within }) => ({ rings: unit.rings, within })),
    grids.map((g) => g.rings),
    { unitsOnly: options.unitsOnly, memo: prepared.memo },
  );
  return pieces.map((p) => ({
    unit: p.unit >= 0 ? kept[p.unit].unit.code : null,
    grids: p.cover.map((c) => grids[c].ref).sort(compareRefs),
    area_m2: meter.area(p.rings),
    geometry: toGeometry(frame, p.rings),
  }));
}

export function compareRefs(a: FaceRef, b: FaceRef): number {
  return a.system < b.system ? -1 : a.system > b.system ? 1 : a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
}

function ringsOf(frame: IntFrame, geometry: Polygon | MultiPolygon | null): Rings {
  if (!geometry) return [];
  return toRings(frame, geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates);
}

function toGeometry(frame: IntFrame, rings: Rings): Polygon | MultiPolygon {
  const polygons = polygonsOf(rings).map((poly) =>
    poly.map((ring) => {
      const positions = ring.map((p) => toLonLat(frame, p));
      positions.push(positions[0]);
      return positions;
    }),
  );
  return polygons.length === 1 ? { type: 'Polygon', coordinates: polygons[0] } : { type: 'MultiPolygon', coordinates: polygons };
}

function boxOf(geometry: Polygon | MultiPolygon): [number, number, number, number] {
  const box: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  for (const rings of polygons) {
    for (const ring of rings) {
      for (const [x, y] of ring) {
        if (x < box[0]) box[0] = x;
        if (y < box[1]) box[1] = y;
        if (x > box[2]) box[2] = x;
        if (y > box[3]) box[3] = y;
      }
    }
  }
  return box;
}
