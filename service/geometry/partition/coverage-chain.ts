import { BoxBands } from './box-bands';
import { type FlatPolygons, RESOLUTION_M as RESOLUTION, STEPS_PER_DEGREE as STEPS, ringStart } from './flat-geometry';
import { PairTable } from './pair-table';

// Module-local copies: tsx compiles an imported binding to a getter that hot loops would call on every read.
const RESOLUTION_M = RESOLUTION;
const STEPS_PER_DEGREE = STEPS;

/** One polygon of a family in both forms: snapped lon/lat (identity) and the plane frame (geometry). */
export interface FamilyMember {
  lonlat: FlatPolygons;
  plane: FlatPolygons;
}

/** Chain pieces as parallel arrays; coordinates in the plane frame, in each piece's key direction. */
export interface ChainPieces {
  /** x1, y1, x2, y2 per piece. */
  xy: number[];
  /** Children's edges along the piece: +1 per edge in key direction (interior on its left), -1 against. */
  childNet: number[];
  /** The parent's edges along the piece, counted the same way. */
  parentNet: number[];
}

/** The result of the coverage proof of one family. */
export interface CoverageChain {
  /** Pieces where children and parent still disagree after noding: the only places a defect can be. */
  residual: ChainPieces;
  /** Parent pieces the children match exactly; filled only when asked for. */
  parentMatched: ChainPieces;
}

/**
 * Proves in linear time which parts of a family are tiled exactly (the approach of GEOS's
 * CoverageValidator, extended to the parent). Every edge is hashed by its snapped end vertices and
 * counted with a sign: +1 when a child runs along it in key direction, -1 against, and the parent's
 * edges subtract. Children winding their interior to the left, a valid tiling makes every count zero:
 * interior edges appear once in each direction, boundary edges once in the children and once in the
 * parent. Conversely the counts are the boundary of (sum of children − parent) as a chain: if they all
 * vanish, valid children (the repaired copies are) cover each point of the parent exactly once and
 * nothing outside it, with no further check.
 *
 * The parent is usually drawn as the union of its children, so a parent edge may run past child
 * vertices, and siblings may meet in T-junctions. Edges left non-zero are therefore noded: each is split
 * at the residual vertices lying on it (within `RESOLUTION_M`) and counted again. What is still non-zero
 * is returned: every defect is bounded by it (see `findDefectZones`).
 *
 * @param parent the parent, or null for a set of top-level grids (then only children are counted)
 * @param children the children with a geometry
 * @param withParentPieces also return the parent pieces the children match (needed when overlaps are allowed)
 */
export function buildCoverageChain(parent: FamilyMember | null, children: readonly FamilyMember[], withParentPieces: boolean): CoverageChain {
  const members = parent ? [...children, parent] : children;
  let vertexTotal = 0;
  for (const m of members) vertexTotal += m.lonlat.xy.length / 2;
  const vertices = new PairTable(vertexTotal);
  const vx: number[] = [];
  const vy: number[] = [];
  const segments = new PairTable(vertexTotal);
  const segA: number[] = [];
  const segB: number[] = [];
  const childNet: number[] = [];
  const parentNet: number[] = [];

  members.forEach((member, index) => {
    const isParent = parent !== null && index === children.length;
    const { lonlat, plane } = member;
    const count = lonlat.xy.length / 2;
    if (vertexIds.length < count) vertexIds = new Int32Array(Math.max(count, 2 * vertexIds.length));
    const ids = vertexIds;
    for (let i = 0; i < count; i++) {
      const id = vertices.intern(Math.round(lonlat.xy[2 * i] * STEPS_PER_DEGREE), Math.round(lonlat.xy[2 * i + 1] * STEPS_PER_DEGREE));
      if (id === vx.length) {
        vx.push(plane.xy[2 * i]);
        vy.push(plane.xy[2 * i + 1]);
      }
      ids[i] = id;
    }
    for (let r = 0; r < lonlat.ringEnds.length; r++) {
      const start = ringStart(lonlat, r);
      const end = lonlat.ringEnds[r];
      for (let i = start; i < end; i++) {
        const a = ids[i];
        const b = ids[i + 1 < end ? i + 1 : start];
        const s = segments.intern(Math.min(a, b), Math.max(a, b));
        if (s === segA.length) {
          segA.push(Math.min(a, b));
          segB.push(Math.max(a, b));
          childNet.push(0);
          parentNet.push(0);
        }
        if (isParent) parentNet[s] += a < b ? 1 : -1;
        else childNet[s] += a < b ? 1 : -1;
      }
    }
  });

  const residualSegments: number[] = [];
  for (let s = 0; s < segA.length; s++) if (childNet[s] !== parentNet[s]) residualSegments.push(s);
  const result: CoverageChain = {
    residual: { xy: [], childNet: [], parentNet: [] },
    parentMatched: { xy: [], childNet: [], parentNet: [] },
  };
  if (residualSegments.length > 0) {
    const pieces = nodeResidual(residualSegments, segA, segB, vx, vy);
    const pieceTable = new PairTable(pieces.length);
    const pieceChild: number[] = [];
    const pieceParent: number[] = [];
    const pieceEnds: number[] = [];
    residualSegments.forEach((s, k) => {
      const chain = pieces[k];
      for (let i = 0; i + 1 < chain.length; i++) {
        const p = chain[i];
        const q = chain[i + 1];
        const id = pieceTable.intern(Math.min(p, q), Math.max(p, q));
        if (id === pieceChild.length) {
          pieceChild.push(0);
          pieceParent.push(0);
          pieceEnds.push(Math.min(p, q), Math.max(p, q));
        }
        const sign = p < q ? 1 : -1;
        pieceChild[id] += sign * childNet[s];
        pieceParent[id] += sign * parentNet[s];
      }
    });
    for (let id = 0; id < pieceChild.length; id++) {
      const target = pieceChild[id] !== pieceParent[id] ? result.residual : withParentPieces && pieceParent[id] !== 0 ? result.parentMatched : null;
      if (target) pushPiece(target, vx, vy, pieceEnds[2 * id], pieceEnds[2 * id + 1], pieceChild[id], pieceParent[id]);
    }
  }
  if (withParentPieces) {
    for (let s = 0; s < segA.length; s++) {
      if (parentNet[s] !== 0 && childNet[s] === parentNet[s]) pushPiece(result.parentMatched, vx, vy, segA[s], segB[s], childNet[s], parentNet[s]);
    }
  }
  return result;
}

/** Vertex ids of the member being counted, kept between calls: one typed array per member cost more than the count. */
let vertexIds = new Int32Array(1024);

function pushPiece(target: ChainPieces, vx: number[], vy: number[], a: number, b: number, child: number, parent: number): void {
  target.xy.push(vx[a], vy[a], vx[b], vy[b]);
  target.childNet.push(child);
  target.parentNet.push(parent);
}

/**
 * Splits each residual segment at the residual vertices lying on it. Returns, per residual segment, its
 * vertex chain from its lower to its higher vertex id.
 */
function nodeResidual(residual: number[], segA: number[], segB: number[], vx: number[], vy: number[]): number[][] {
  const n = residual.length;
  const minX = new Float64Array(n);
  const minY = new Float64Array(n);
  const maxX = new Float64Array(n);
  const maxY = new Float64Array(n);
  residual.forEach((s, k) => {
    minX[k] = Math.min(vx[segA[s]], vx[segB[s]]) - RESOLUTION_M;
    minY[k] = Math.min(vy[segA[s]], vy[segB[s]]) - RESOLUTION_M;
    maxX[k] = Math.max(vx[segA[s]], vx[segB[s]]) + RESOLUTION_M;
    maxY[k] = Math.max(vy[segA[s]], vy[segB[s]]) + RESOLUTION_M;
  });
  const index = new BoxBands(minY, maxY);
  const splits: { t: number; v: number }[][] = residual.map(() => []);
  const visited = new Set<number>();
  for (const s of residual) {
    for (const v of [segA[s], segB[s]]) {
      if (visited.has(v)) continue;
      visited.add(v);
      const x = vx[v];
      const y = vy[v];
      // Each vertex splits a segment at most once, so every segment's splits come in vertex order whatever the index's order.
      const band = index.band(y);
      for (let i = index.start[band], end = index.start[band + 1]; i < end; i++) {
        const k = index.items[i];
        if (!(minX[k] <= x && minY[k] <= y && maxX[k] >= x && maxY[k] >= y)) continue;
        const t = interiorParameter(residual[k], v, x, y, segA, segB, vx, vy);
        if (t !== null) splits[k].push({ t, v });
      }
    }
  }
  return residual.map((s, k) => {
    const inner = splits[k].sort((p, q) => p.t - q.t).map((split) => split.v);
    return [segA[s], ...inner, segB[s]];
  });
}

/** Where vertex v lies strictly inside segment s (0 < t < 1), or null when it is not on it. */
function interiorParameter(s: number, v: number, x: number, y: number, segA: number[], segB: number[], vx: number[], vy: number[]): number | null {
  const a = segA[s];
  const b = segB[s];
  if (v === a || v === b) return null;
  const dx = vx[b] - vx[a];
  const dy = vy[b] - vy[a];
  const length = Math.hypot(dx, dy);
  const along = ((x - vx[a]) * dx + (y - vy[a]) * dy) / length;
  const across = Math.abs((x - vx[a]) * dy - (y - vy[a]) * dx) / length;
  if (across > RESOLUTION_M || along <= RESOLUTION_M || along >= length - RESOLUTION_M) return null;
  return along / length;
}
