import RBush from 'rbush';
import { type BBox, bboxesIntersect } from './flat-geometry';
import { type BooleanOps, type ClipGeometry, clipToBox } from './boolean';
import { type Piece, splitPieces } from './pieces';

interface Entry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  index: number;
}

/**
 * The parts of the parent no child covers, looking only inside the windows: within each window,
 * (parent ∩ window) minus (every child whose box reaches into it ∩ window). The windows hold whole
 * gaps (see `findDefectZones`), so clipping to them loses nothing and keeps the overlay to the
 * neighbourhood of the defects.
 *
 * @param windows disjoint rectangles in the plane frame
 * @param parent the parent in the plane frame
 * @param childBoxes the bbox of every child with a geometry
 * @param clipOf the child's geometry in the plane frame, built on first use
 * @param overlay the family's boolean operations
 */
export function findGaps(windows: readonly BBox[], parent: ClipGeometry, childBoxes: readonly BBox[], clipOf: (child: number) => ClipGeometry, overlay: BooleanOps): Piece[] {
  const tree = new RBush<Entry>().load(childBoxes.map(([minX, minY, maxX, maxY], index) => ({ minX, minY, maxX, maxY, index })));
  const gaps: Piece[] = [];
  for (const window of windows) {
    const inWindow = clipToBox(parent, window);
    if (inWindow.length === 0) continue;
    const [minX, minY, maxX, maxY] = window;
    const covering = tree
      .search({ minX, minY, maxX, maxY })
      .map((e) => e.index)
      .sort((a, b) => a - b)
      .map((k) => clipToBox(clipOf(k), window));
    gaps.push(...splitPieces(overlay.difference(inWindow, ...covering)));
  }
  return gaps;
}

/** The parts of a child outside its parent, looking only inside the windows (they hold whole outside parts). */
export function findOutside(windows: readonly BBox[], child: ClipGeometry, childBox: BBox, parent: ClipGeometry, overlay: BooleanOps): Piece[] {
  return windows.filter((w) => bboxesIntersect(w, childBox)).flatMap((w) => splitPieces(overlay.difference(clipToBox(child, w), clipToBox(parent, w))));
}
