import RBush from 'rbush';
import type { BBox } from './flat-geometry';
import { type ClipGeometry, overlay, rectangle } from './overlay';
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
 * (parent ∩ window) minus every child whose box reaches into it. The windows hold whole gaps (see
 * `findDefectZones`), so clipping to them loses nothing and keeps the overlay small.
 *
 * @param windows disjoint rectangles in the plane frame
 * @param parent the parent in the plane frame
 * @param childBoxes the bbox of every child with a geometry
 * @param clipOf the child's geometry in the plane frame, built on first use
 */
export function findGaps(windows: readonly BBox[], parent: ClipGeometry, childBoxes: readonly BBox[], clipOf: (child: number) => ClipGeometry): Piece[] {
  const tree = new RBush<Entry>().load(childBoxes.map(([minX, minY, maxX, maxY], index) => ({ minX, minY, maxX, maxY, index })));
  const gaps: Piece[] = [];
  for (const window of windows) {
    const inWindow = overlay.intersection(parent, rectangle(window));
    if (inWindow.length === 0) continue;
    const [minX, minY, maxX, maxY] = window;
    const covering = tree
      .search({ minX, minY, maxX, maxY })
      .map((e) => e.index)
      .sort((a, b) => a - b)
      .map(clipOf);
    gaps.push(...splitPieces(overlay.difference(inWindow, ...covering)));
  }
  return gaps;
}

/** The parts of a child outside its parent. */
export function findOutside(child: ClipGeometry, parent: ClipGeometry): Piece[] {
  return splitPieces(overlay.difference(child, parent));
}
