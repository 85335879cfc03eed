import RBush from 'rbush';
import { ChainWinding } from './chain-winding';
import type { ChainPieces, CoverageChain } from './coverage-chain';
import { type BBox, type FlatPolygons, RESOLUTION_M, bboxesIntersect, polygonFirstRing, ringStart } from './flat-geometry';

/** Where the exact overlay has to look. */
export interface DefectZones {
  /** Indices of the children that may take part in an overlap or stick out of the parent. */
  candidates: number[];
  /** Disjoint rectangles (plane frame) that contain every gap entirely. */
  windows: BBox[];
}

interface Box {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  index: number;
}

/** Windows grow by this much so that overlay edges never run along a window's border. */
const WINDOW_MARGIN_M = 1;

/**
 * Turns the residual of a coverage proof into the places that need an exact overlay.
 *
 * With a parent and no overlap allowed, any residual piece is a defect. Otherwise (top-level grids, or
 * `maxDepth` > 1) residual pieces are normal — the outline of the top level, the rim of an allowed
 * overlap — so each piece, and each parent piece, is judged by the coverage on its two sides: the
 * residual's winding number is (children − parent) there, and adding the parent's gives how many
 * children cover it. A side is defective when it is a gap (inside the parent, no child), over-covered
 * (more than `maxDepth` children) or outside (no parent, some child).
 *
 * Every defective region is bounded by defective pieces, so a child can only take part in one if a
 * defective piece comes near it, or if it lies wholly inside such a region: then one of its vertices
 * shows it. Gaps lie within the bounding box of their outer boundary, so merging the boxes of
 * defective pieces until they are disjoint gives windows that each hold whole gaps.
 *
 * @param chain the coverage proof of the family
 * @param children per child with a geometry: its bbox and polygons in the plane frame
 * @param parent the parent in the plane frame, or null
 * @param maxDepth how many siblings may cover one spot
 */
export function findDefectZones(chain: CoverageChain, children: readonly { bbox: BBox; plane: FlatPolygons }[], parent: FlatPolygons | null, maxDepth: number): DefectZones {
  if (chain.residual.childNet.length === 0) return { candidates: [], windows: [] };
  const residual = new ChainWinding(chain.residual.xy, chain.residual.childNet.map((c, i) => c - chain.residual.parentNet[i]));
  const parentWinding = parent ? ChainWinding.ofRings(parent.xy, parent.ringEnds) : null;
  const defective = (covering: number, insideParent: number): boolean =>
    parent ? (insideParent > 0 ? covering === 0 || covering > maxDepth : covering > 0) : covering > maxDepth;

  const suspects: Box[] = [];
  const judge = (pieces: ChainPieces, isResidual: boolean) => {
    for (let i = 0; i < pieces.childNet.length; i++) {
      const suspect = !parent || maxDepth > 1 ? sidesDefective(pieces, i, isResidual, residual, parentWinding, defective) : true;
      if (suspect) suspects.push(pieceBox(pieces.xy, i, suspects.length));
    }
  };
  judge(chain.residual, true);
  if (parent && maxDepth > 1) judge(chain.parentMatched, false);
  if (suspects.length === 0) return { candidates: [], windows: [] };

  const tree = new RBush<Box>().load(suspects);
  const windows = mergeBoxes(suspects.map((b) => [b.minX - WINDOW_MARGIN_M, b.minY - WINDOW_MARGIN_M, b.maxX + WINDOW_MARGIN_M, b.maxY + WINDOW_MARGIN_M]));
  const candidates: number[] = [];
  children.forEach(({ bbox, plane }, c) => {
    const near = tree.collides({ minX: bbox[0] - RESOLUTION_M, minY: bbox[1] - RESOLUTION_M, maxX: bbox[2] + RESOLUTION_M, maxY: bbox[3] + RESOLUTION_M });
    if (near || (windows.some((w) => bboxesIntersect(w, bbox)) && insideDefect(plane, residual, parentWinding, parent !== null && maxDepth === 1, defective))) {
      candidates.push(c);
    }
  });
  return { candidates, windows };
}

/**
 * Whether either side of piece i is defective anywhere along it. Residual and parent segments may cross
 * the piece (overlapping children's edges cross without sharing a vertex), so the coverage is judged
 * on each stretch between two crossings. Undecidable stretches count as defective.
 */
function sidesDefective(
  pieces: ChainPieces,
  i: number,
  isResidual: boolean,
  residual: ChainWinding,
  parentWinding: ChainWinding | null,
  defective: (covering: number, insideParent: number) => boolean,
): boolean {
  const x1 = pieces.xy[4 * i];
  const y1 = pieces.xy[4 * i + 1];
  const x2 = pieces.xy[4 * i + 2];
  const y2 = pieces.xy[4 * i + 3];
  const exclude = isResidual ? i : -1;
  const crossings = [...residual.meetings(x1, y1, x2, y2, exclude), ...(parentWinding?.meetings(x1, y1, x2, y2) ?? [])].sort((a, b) => a - b);
  const stops = [0, ...crossings, 1];
  const parentNet = pieces.parentNet[i];
  const jump = isResidual ? pieces.childNet[i] - parentNet : 0;
  // The value computed is the east side's (north for horizontal pieces); name the sides left/right.
  const eastIsLeft = y2 < y1 || (y2 === y1 && x2 > x1);
  for (let k = 0; k + 1 < stops.length; k++) {
    const t = (stops[k] + stops[k + 1]) / 2;
    const mx = x1 + t * (x2 - x1);
    const my = y1 + t * (y2 - y1);
    const east = residual.at(mx, my, exclude);
    const left = eastIsLeft ? east : east + jump;
    const right = eastIsLeft ? east - jump : east;
    let parentLeft: number;
    let parentRight: number;
    if (parentNet !== 0) {
      parentLeft = parentNet > 0 ? 1 : 0;
      parentRight = parentNet < 0 ? 1 : 0;
    } else {
      parentLeft = parentRight = parentWinding ? parentWinding.at(mx, my) : 0;
    }
    if (Number.isNaN(left) || Number.isNaN(parentLeft)) return true;
    if (defective(left + parentLeft, parentLeft) || defective(right + parentRight, parentRight)) return true;
  }
  return false;
}

/** Whether a child lies inside a defective region, judged at the first vertex of each of its polygons. */
function insideDefect(
  plane: FlatPolygons,
  residual: ChainWinding,
  parentWinding: ChainWinding | null,
  anyResidualIsDefect: boolean,
  defective: (covering: number, insideParent: number) => boolean,
): boolean {
  for (let p = 0; p < plane.polygonEnds.length; p++) {
    const at = ringStart(plane, polygonFirstRing(plane, p));
    const x = plane.xy[2 * at];
    const y = plane.xy[2 * at + 1];
    const excess = residual.at(x, y);
    // On a residual edge the child touches a non-defective piece, so it is not wholly inside a defect.
    if (Number.isNaN(excess)) continue;
    if (anyResidualIsDefect) {
      if (excess !== 0) return true;
      continue;
    }
    const insideParent = parentWinding ? parentWinding.at(x, y) : 0;
    if (!Number.isNaN(insideParent) && defective(excess + insideParent, insideParent)) return true;
  }
  return false;
}

function pieceBox(xy: readonly number[], i: number, index: number): Box {
  const [x1, y1, x2, y2] = [xy[4 * i], xy[4 * i + 1], xy[4 * i + 2], xy[4 * i + 3]];
  return { minX: Math.min(x1, x2), minY: Math.min(y1, y2), maxX: Math.max(x1, x2), maxY: Math.max(y1, y2), index };
}

/** Merges overlapping rectangles until none overlap. */
function mergeBoxes(boxes: BBox[]): BBox[] {
  let current = boxes;
  for (;;) {
    const tree = new RBush<Box>().load(current.map(([minX, minY, maxX, maxY], index) => ({ minX, minY, maxX, maxY, index })));
    const root = current.map((_, i) => i);
    const find = (i: number): number => {
      while (root[i] !== i) i = root[i] = root[root[i]];
      return i;
    };
    current.forEach(([minX, minY, maxX, maxY], i) => {
      for (const hit of tree.search({ minX, minY, maxX, maxY })) root[find(hit.index)] = find(i);
    });
    const merged = new Map<number, BBox>();
    current.forEach((box, i) => {
      const r = find(i);
      const m = merged.get(r);
      merged.set(r, m ? [Math.min(m[0], box[0]), Math.min(m[1], box[1]), Math.max(m[2], box[2]), Math.max(m[3], box[3])] : box);
    });
    if (merged.size === current.length) return current;
    current = [...merged.values()];
  }
}
