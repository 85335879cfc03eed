import type { MultiPolygon } from 'geojson';
import { badRequest } from '../../kernel/errors';
import { inspectGeometry } from './check-geometry';
import { FamilyFrame } from './family-frame';
import { type FlatPolygons, flatArea, flatBBox, flatToGeoJSON, mapFlat } from './flat-geometry';
import { type ClipGeometry, booleanOps } from './boolean';
import { fromClip, toClip } from './overlay';
import { type Piece, equivalentWidth, perimeter, sharedBorder } from './pieces';
import { repairGeometry } from './repair';
import type { FixProposal, PartitionGrid, PartitionReport, PartitionSystem } from './types';

interface Neighbour {
  code: string;
  plane: FlatPolygons;
  clip: ClipGeometry;
}

/**
 * Proposes how to close small gaps, slivers and overlaps of a report by moving their area to one grid.
 *
 * - Gap or sliver: the sibling sharing the longest border with it absorbs it (its geometry becomes the
 *   union of both).
 * - Overlap: the grid sharing the longest border with the spot once everyone else gives it up keeps it
 *   (that is, the grid whose neighbours' edges bound most of the spot); the others lose it. For an
 *   intrusion, the intruded grid keeps its area and the intruder is cut back to the old edge.
 *
 * Candidates are the issue's grids (the report lists the children along a gap and the grids covering an
 * overlap); shared borders are measured again from the geometries. The proposals are independent: each
 * starts from the given geometries. Applying one and validating again leaves no issue at that spot.
 * Nothing is proposed for spots without a neighbour.
 *
 * @param system the grid system the report is for
 * @param grids the grids the report was computed from
 * @param report a report from `validatePartition`
 * @param options `maxArea_m2` (default 10000): larger issues are left to people
 * @returns one proposal per fixable issue, in issue order
 * @throws AppError 400 `partition.invalid-options` when maxArea_m2 is not a finite number ≥ 0
 */
export function proposeFixes(system: PartitionSystem, grids: PartitionGrid[], report: PartitionReport, options: { maxArea_m2?: number } = {}): FixProposal[] {
  const maxArea = options.maxArea_m2 ?? 10000;
  if (!Number.isFinite(maxArea) || maxArea < 0) throw badRequest('partition.invalid-options', `option maxArea_m2 must be a finite number ≥ 0, got ${String(maxArea)}`);
  const byCode = new Map<string, PartitionGrid>();
  for (const grid of grids) if (!byCode.has(grid.code)) byCode.set(grid.code, grid);
  const repaired = new Map<string, FlatPolygons | null>();
  const shapeOf = (code: string): FlatPolygons | null => {
    if (!repaired.has(code)) {
      const grid = byCode.get(code);
      repaired.set(code, grid ? repairGeometry(inspectGeometry(grid.geometry)).flat : null);
    }
    return repaired.get(code) ?? null;
  };

  const proposals: FixProposal[] = [];
  report.issues.forEach((issue, index) => {
    const { kind, geometry, area_m2: area } = issue;
    if ((kind !== 'gap' && kind !== 'sliver' && kind !== 'overlap') || area === null || area > maxArea) return;
    if (!geometry || (geometry.type !== 'Polygon' && geometry.type !== 'MultiPolygon')) return;
    const spotLonLat = repairGeometry(inspectGeometry(geometry)).flat;
    if (!spotLonLat) return;
    const frame = new FamilyFrame(flatBBox(spotLonLat));
    // The results are whole grids, often dense: Clipper's quadratic split of rings touching themselves
    // took 15 s for Guangdong's 91 proposals (issue #15); a source ring touching itself stays so.
    const overlay = booleanOps(frame, { strictlySimple: false });
    const plane = frame.toPlane(spotLonLat);
    const spot: Piece = { plane, bbox: flatBBox(plane), clip: toClip(plane), width: equivalentWidth(Math.abs(flatArea(plane)), perimeter(plane)) };
    // The report lists the grids covering an overlap and the children along a gap.
    const neighbours = issue.grids.flatMap((code): Neighbour[] => {
      const flat = shapeOf(code);
      if (!flat) return [];
      const p = frame.toPlane(flat);
      return [{ code, plane: p, clip: toClip(p) }];
    });
    const border = (n: Neighbour) =>
      kind === 'overlap' ? neighbours.filter((o) => o !== n).reduce((sum, o) => sum + sharedBorder(spot, o.plane, frame), 0) : sharedBorder(spot, n.plane, frame);
    const ranked = neighbours.map((n) => ({ n, border: border(n) })).filter((r) => r.border > 0);
    ranked.sort((a, b) => b.border - a.border || (a.n.code < b.n.code ? -1 : 1));
    if (ranked.length === 0) return;
    const { n: absorb, border: sharedBorder_m } = ranked[0];
    const result =
      kind === 'overlap'
        ? neighbours.filter((n) => n !== absorb).map((n) => ({ code: n.code, geometry: toMultiPolygon(overlay.difference(n.clip, spot.clip), frame) }))
        : [{ code: absorb.code, geometry: toMultiPolygon(overlay.union(absorb.clip, spot.clip), frame) }];
    proposals.push({ id: `${system.key}:${index}:${kind}`, issue: index, kind, absorb: absorb.code, sharedBorder_m: Math.round(sharedBorder_m * 100) / 100, area_m2: area, result });
  });
  return proposals;
}

function toMultiPolygon(clip: ClipGeometry, frame: FamilyFrame): MultiPolygon {
  const lonlat = mapFlat(fromClip(clip), (x, y, out, at) => {
    [out[at], out[at + 1]] = frame.toLonLat(x, y);
  });
  const geometry = flatToGeoJSON(lonlat);
  return geometry.type === 'MultiPolygon' ? geometry : { type: 'MultiPolygon', coordinates: [geometry.coordinates] };
}
