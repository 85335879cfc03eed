import type { GeometryInspection } from './check-geometry';
import { FamilyFrame } from './family-frame';
import { type FlatPolygons, buildFlat, flatBBox } from './flat-geometry';
import { booleanOps } from './boolean';
import { cleanRing } from './ring-cleaning';

/** A valid copy of an inspected geometry, and how it was obtained. */
export interface RepairedGeometry {
  /** Snapped lon/lat, valid, shells counter-clockwise; null when nothing with an area is left. */
  flat: FlatPolygons | null;
  /** How the copy differs from the input, for issue reasons; null when nothing was changed. */
  note: string | null;
}

/**
 * Builds the copy the area checks use. Closing rings, dropping duplicate vertices, spikes and collapsed
 * rings was already done by the inspection; crossing or wrongly nested rings are rebuilt with the
 * semantics of PostGIS `ST_MakeValid(g, 'method=structure')` (see `repairStructure`): a bow-tie keeps
 * both lobes, a hole outside its shell removes nothing, overlapping parts are unioned.
 *
 * @param inspection the result of `inspectGeometry` for the geometry
 * @returns the repaired copy; never throws
 */
export function repairGeometry(inspection: GeometryInspection): RepairedGeometry {
  if (inspection.polygons.length === 0) return { flat: null, note: inspection.problems.length > 0 ? 'nothing with an area is left after repair' : null };
  const cleaned = inspection.problems.length > 0 ? 'checked using a repaired copy' : null;
  if (!inspection.needsOverlay) return { flat: buildFlat(inspection.polygons), note: cleaned };
  try {
    const shapes = buildFlat(inspection.polygons);
    const frame = new FamilyFrame(flatBBox(shapes));
    const plane = inspection.polygons.map((rings) => rings.map((ring) => planeRing(frame, ring)));
    const { repairStructure } = booleanOps(frame);
    const polygons: number[][][] = [];
    for (const rings of repairStructure(plane)) {
      // Intersection points are new positions: back in lon/lat they are snapped like the input, so clean again.
      const snapped = rings.map((ring) => cleanRing(ring.flatMap(([x, y]) => frame.toLonLat(x, y)), '', null));
      if (snapped[0]) polygons.push(snapped.filter((ring): ring is number[] => ring !== null));
    }
    if (polygons.length === 0) return { flat: null, note: 'nothing with an area is left after repair' };
    return { flat: buildFlat(polygons), note: 'checked using a copy repaired like ST_MakeValid method=structure' };
  } catch (error) {
    // Defensive: the integer overlay does not reject input, yet a repair must never lose the run.
    const shells = inspection.polygons.map((rings) => [rings[0]]);
    return { flat: buildFlat(shells), note: `union repair failed (${(error as Error).message}); checked using the shells only` };
  }
}

function planeRing(frame: FamilyFrame, ring: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < ring.length; i += 2) {
    out.push([(ring[i] - frame.lon0) * frame.kx, (ring[i + 1] - frame.lat0) * frame.ky]);
  }
  return out;
}
