import type { MultiPolygon, Polygon } from 'geojson';
import { frameFor, polygonsOf, toLonLat, type IntFrame, type Rings } from './boolean';
import { prepareShape, shapeBox, shapeRings, type PreparedShape } from './shape';
import { arrange, createArrangeMemo, type ArrangeMemo } from './arrangement';
import { AreaMeter } from './measure';
import type { FaceRef } from './types';

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
export function arrangeFaces(input: PrepareInput, options: { within?: readonly boolean[]; unitsOnly?: boolean } = {}): ArrangedFace[] {
  return arrangePrepared(prepareOverlay(input), options);
}

/**
 * An overlay's input turned into what the arrangement works on: the territory's integer frame and area
 * measure, every geometry as normalised integer rings (each normalised in its own frame, `shape.ts`). It
 * depends on nothing but the input, so a caller may keep it while the grids it came from are unchanged
 * and arrange it again (the overlay service's input cache).
 */
export interface PreparedOverlay {
  frame: IntFrame;
  meter: AreaMeter;
  territory: Rings;
  units: { code: string; rings: Rings }[];
  grids: { ref: FaceRef; rings: Rings }[];
  /** Shape keys of the above, made by the first arrangement, reused by the next. */
  memo: ArrangeMemo;
  /** Every geometry's prepared shape, as given or made here (null for no geometry), in input order. */
  shapes: { territory: PreparedShape | null; units: (PreparedShape | null)[]; grids: (PreparedShape | null)[][] };
}

/** A geometry to prepare: lon/lat, or already prepared (`shape.ts`, e.g. stored with its grid). */
export type PrepareGeometry = Polygon | MultiPolygon | PreparedShape | null;

export interface PrepareInput {
  territory: { system: string; code: string; geometry: PrepareGeometry };
  units: { code: string; geometry: PrepareGeometry }[];
  systems: { key: string; grids: { code: string; geometry: PrepareGeometry }[] }[];
}

/** @throws RangeError when the territory has no geometry */
export function prepareOverlay(input: PrepareInput): PreparedOverlay {
  const { territory, units, systems } = input;
  const shapeOf = (g: PrepareGeometry): PreparedShape | null => (g === null ? null : g instanceof Uint8Array ? g : prepareShape(g));
  const territoryShape = shapeOf(territory.geometry);
  if (!territoryShape) throw new RangeError(`territory ${territory.system}/${territory.code} has no geometry`);
  const bbox = shapeBox(territoryShape);
  const frame = frameFor(bbox);
  const memo = createArrangeMemo();
  // Prepared rings are normalised already: the arrangement's normalisation of them is themselves.
  const ringsOf = (shape: PreparedShape | null): Rings => {
    const rings = shape === null ? [] : shapeRings(shape, frame);
    memo.clean.set(rings, rings);
    return rings;
  };
  const unitShapes = units.map((u) => shapeOf(u.geometry));
  const gridShapes = systems.map((s) => s.grids.map((g) => shapeOf(g.geometry)));
  return {
    frame,
    meter: new AreaMeter(frame, bbox),
    territory: ringsOf(territoryShape),
    units: units.map((u, k) => ({ code: u.code, rings: ringsOf(unitShapes[k]!) })),
    grids: systems.flatMap((s, k) => s.grids.map((g, i) => ({ ref: { system: s.key, code: g.code } as FaceRef, rings: ringsOf(gridShapes[k]![i]!) }))),
    memo,
    shapes: { territory: territoryShape, units: unitShapes, grids: gridShapes },
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
