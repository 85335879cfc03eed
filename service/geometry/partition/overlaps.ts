import RBush from 'rbush';
import { type BBox, type FlatPolygons, bboxesIntersect } from './flat-geometry';
import type { BooleanOps, ClipGeometry } from './boolean';
import { type Piece, hugs, splitPieces } from './pieces';

/** A child as the overlap search sees it (plane frame). */
export interface OverlapCandidate {
  index: number;
  bbox: BBox;
  plane: FlatPolygons;
  clip: ClipGeometry;
}

/** A region covered by more siblings than allowed. */
export interface OverlapRegion {
  piece: Piece;
  /** Indices of the children covering (part of) it. */
  grids: number[];
  /** The most children covering one spot of it. */
  depth: number;
}

/** A thin overlap between two siblings whose edges nearly coincide: an edge mismatch, not an overlap. */
export interface ThinOverlap {
  a: number;
  b: number;
  piece: Piece;
}

interface Entry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  at: number;
}

/**
 * Finds where siblings overlap more than `maxDepth` deep. Pairs come from an R-tree of the candidates'
 * boxes and are intersected exactly. Depth is built in layers, per cluster of touching overlaps, where
 * layer k is the region covered at least k times: adding child C turns (layer k−1 ∩ C) into layer k.
 * Layer 1 ∩ C is the union of C's pairwise overlaps, which are already known, so the large layer 1
 * (everything) is never computed.
 *
 * When no overlap is allowed (`maxDepth` 1), an overlap reaching no farther than `edgeTolerance` from
 * either sibling's boundary is a thin one: the edges nearly coincide.
 *
 * @param candidates the children that can take part (see `findDefectZones`)
 * @param maxDepth how many siblings may cover a spot
 * @param edgeTolerance metres
 * @param overlay the family's boolean operations
 */
export function findOverlaps(candidates: readonly OverlapCandidate[], maxDepth: number, edgeTolerance: number, overlay: BooleanOps): { regions: OverlapRegion[]; thin: ThinOverlap[] } {
  const tree = new RBush<Entry>().load(candidates.map(({ bbox }, at) => ({ minX: bbox[0], minY: bbox[1], maxX: bbox[2], maxY: bbox[3], at })));
  const pairs: PairOverlap[] = [];
  const thin: ThinOverlap[] = [];
  candidates.forEach((later, j) => {
    const [minX, minY, maxX, maxY] = later.bbox;
    for (const { at: i } of tree.search({ minX, minY, maxX, maxY })) {
      if (i >= j) continue;
      const earlier = candidates[i];
      for (const piece of splitPieces(overlay.intersection(earlier.clip, later.clip))) {
        const nearlyCoincide = maxDepth === 1 && hugs(piece, earlier.plane, edgeTolerance) && hugs(piece, later.plane, edgeTolerance);
        if (nearlyCoincide) thin.push({ a: earlier.index, b: later.index, piece });
        else pairs.push({ i, j, piece });
      }
    }
  });
  const regions = clusters(pairs).flatMap((cluster) => deepRegions(candidates, cluster, maxDepth, overlay));
  return { regions, thin };
}

/** The pairwise overlap of candidates i < j. */
interface PairOverlap {
  i: number;
  j: number;
  piece: Piece;
}

/**
 * Groups pairwise overlaps whose boxes touch, so depth is built per cluster: far-apart overlaps never
 * meet in one growing overlay.
 */
function clusters(pairs: PairOverlap[]): PairOverlap[][] {
  const tree = new RBush<Entry>().load(pairs.map(({ piece: { bbox } }, at) => ({ minX: bbox[0], minY: bbox[1], maxX: bbox[2], maxY: bbox[3], at })));
  const root = pairs.map((_, k) => k);
  const find = (k: number): number => {
    while (root[k] !== k) k = root[k] = root[root[k]];
    return k;
  };
  pairs.forEach(({ piece: { bbox } }, k) => {
    for (const { at } of tree.search({ minX: bbox[0], minY: bbox[1], maxX: bbox[2], maxY: bbox[3] })) root[find(at)] = find(k);
  });
  const groups = new Map<number, PairOverlap[]>();
  pairs.forEach((pair, k) => {
    const group = groups.get(find(k));
    if (group) group.push(pair);
    else groups.set(find(k), [pair]);
  });
  return [...groups.values()];
}

/** Regions of one cluster covered more than `maxDepth` times, with their depth and the children covering them. */
function deepRegions(candidates: readonly OverlapCandidate[], cluster: PairOverlap[], maxDepth: number, overlay: BooleanOps): OverlapRegion[] {
  const children = [...new Set(cluster.flatMap((p) => [p.i, p.j]))].sort((a, b) => a - b);
  // layers[k] is the region covered at least k times (k ≥ 2) by the children added so far.
  const layers: ClipGeometry[] = [];
  for (const j of children) {
    const added = cluster.filter((p) => p.j === j).map((p) => p.piece.clip);
    if (added.length === 0) continue;
    const next = layers.slice();
    next[2] = overlay.union(layers[2] ?? [], ...added);
    for (let k = 3; (layers[k - 1]?.length ?? 0) > 0; k++) next[k] = overlay.union(layers[k] ?? [], overlay.intersection(layers[k - 1], candidates[j].clip));
    layers.splice(0, layers.length, ...next);
  }
  const flagged = layers[maxDepth + 1];
  if (!flagged || flagged.length === 0) return [];
  return splitPieces(flagged).map((piece) => {
    let depth = maxDepth + 1;
    while (layers[depth + 1] && splitPieces(overlay.intersection(layers[depth + 1], piece.clip)).length > 0) depth++;
    const grids = children
      .map((j) => candidates[j])
      .filter((c) => bboxesIntersect(c.bbox, piece.bbox) && splitPieces(overlay.intersection(c.clip, piece.clip)).length > 0)
      .map((c) => c.index);
    return { piece, grids, depth };
  });
}
