import type { GeometryInspection } from './check-geometry';
import { FamilyFrame } from './family-frame';
import { type FlatPolygons, buildFlat, flatBBox } from './flat-geometry';
import { overlay, toClip } from './overlay';
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
 * rings was already done by the inspection; crossing or wrongly nested rings are rebuilt by unioning the
 * polygons (polyclip keeps, per polygon, the shell minus its holes, so a hole outside its shell is
 * ignored and a bow-tie becomes two triangles).
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
    const parts = inspection.polygons.map((rings) => toClip(frame.toPlane(buildFlat([rings]))));
    const polygons: number[][][] = [];
    for (const rings of overlay.union(...parts)) {
      // Intersection points are new positions: back in lon/lat they are snapped like the input, so clean again.
      const snapped = rings.map((ring) => cleanRing(ring.flatMap(([x, y]) => frame.toLonLat(x, y)), '', null));
      if (snapped[0]) polygons.push(snapped.filter((ring): ring is number[] => ring !== null));
    }
    if (polygons.length === 0) return { flat: null, note: 'nothing with an area is left after repair' };
    return { flat: buildFlat(polygons), note: 'checked using a copy rebuilt by polygon union' };
  } catch (error) {
    // polyclip rejects some degenerate inputs; the shells alone still give the area checks something.
    const shells = inspection.polygons.map((rings) => [rings[0]]);
    return { flat: buildFlat(shells), note: `union repair failed (${(error as Error).message}); checked using the shells only` };
  }
}

