import ClipperLib from 'clipper-lib';

/** Polygon overlay input and output: polygons → rings (shell first) → closed [x, y] positions, plane metres. */
export type ClipGeometry = [number, number][][][];

/** The plane frame a family's overlay runs in (see `FamilyFrame`): affine in lon/lat. */
export interface PlaneFrame {
  lon0: number;
  lat0: number;
  kx: number;
  ky: number;
}

/** Boolean operations on valid plane geometries of one frame. */
export interface BooleanOps {
  union(...geometries: ClipGeometry[]): ClipGeometry;
  intersection(a: ClipGeometry, b: ClipGeometry): ClipGeometry;
  difference(a: ClipGeometry, ...subtract: ClipGeometry[]): ClipGeometry;
  /**
   * A valid polygon from possibly self-intersecting rings, with the semantics of PostGIS
   * `ST_MakeValid(g, 'method=structure')` (GEOS GeometryFixer): per polygon, the area its shell ring
   * encloses (every region it winds around, either way: a bow-tie keeps both lobes) minus what its
   * holes enclose the same way; the polygons of a MultiPolygon are unioned. A hole wholly outside its
   * shell becomes a polygon of its own, as PostGIS 3.3 and 3.6 both do. The default linework method
   * instead keeps the faces the rings' lines bound, alternating, so a self-overlapping ring loses its
   * doubly-wound part; structure keeps what the surveyor drew as inside, which an area check needs.
   *
   * @param polygons per polygon, rings of plane positions (open or closed), shell first
   */
  repairStructure(polygons: readonly (readonly (readonly number[])[])[][]): ClipGeometry;
}

/** Snapping step of the input (1e-9°, about 0.1 mm): the lattice the overlay computes on. */
const STEPS_PER_DEGREE = 1e9;

/**
 * The one place the validator's boolean operations live (issue #15): integer Clipper 6 (clipper-lib) on
 * the data's own lattice, the 1e-9° steps every input position is already snapped to, as GEOS
 * OverlayNG does with a fixed precision model. Input positions map to integers exactly; Clipper decides
 * every predicate in integers, so the overlay is robust, and only new intersection points are rounded,
 * by at most half a step (≈0.05 mm), a quarter of the 0.2 mm resolution. Each operand is a valid
 * geometry (`toPaths` orients shells one way and holes the other) read with the non-zero rule, so
 * several operands on one side are their union.
 *
 * @param frame the family's plane frame; positions are plane metres, results come back on the lattice
 * @param options `strictlySimple: false` leaves rings that touch themselves at a vertex as they come
 *   (see `execute`): for results that are whole dense grids, where the split costs seconds
 */
export function booleanOps(frame: PlaneFrame, options: { strictlySimple?: boolean } = {}): BooleanOps {
  const strict = options.strictlySimple ?? true;
  const stepX = frame.kx / STEPS_PER_DEGREE;
  const stepY = frame.ky / STEPS_PER_DEGREE;
  // Plane position of the lattice point nearest the frame's centre: integer 0.
  const originX = (Math.round(frame.lon0 * STEPS_PER_DEGREE) / STEPS_PER_DEGREE - frame.lon0) * frame.kx;
  const originY = (Math.round(frame.lat0 * STEPS_PER_DEGREE) / STEPS_PER_DEGREE - frame.lat0) * frame.ky;

  /** A ring (closed or open) on the lattice, the closing position and repeated positions left out. */
  const toLattice = (ring: readonly (readonly number[])[]): Path => {
    const path: Path = [];
    let px = NaN;
    let py = NaN;
    for (const [x, y] of ring) {
      const X = Math.round((x - originX) / stepX);
      const Y = Math.round((y - originY) / stepY);
      if (X === px && Y === py) continue;
      path.push({ X, Y });
      px = X;
      py = Y;
    }
    if (path.length > 1 && path[0].X === px && path[0].Y === py) path.pop();
    return path;
  };
  /** Back to the plane, starting from the lowest-left vertex so the same result always reads the same. */
  const fromLattice = (path: Path): [number, number][] => {
    let first = 0;
    for (let i = 1; i < path.length; i++) if (path[i].X < path[first].X || (path[i].X === path[first].X && path[i].Y < path[first].Y)) first = i;
    const ring: [number, number][] = [];
    for (let k = 0; k <= path.length; k++) {
      const p = path[(first + k) % path.length];
      ring.push([originX + p.X * stepX, originY + p.Y * stepY]);
    }
    return ring;
  };
  /** Shells counter-clockwise and holes clockwise, so non-zero filling reads them right. */
  const toPaths = (geometry: ClipGeometry): Path[] => {
    const paths: Path[] = [];
    for (const rings of geometry) {
      rings.forEach((ring, r) => {
        const path = toLattice(ring);
        if (path.length < 3) return;
        if (ClipperLib.Clipper.Orientation(path) !== (r === 0)) path.reverse();
        paths.push(path);
      });
    }
    return paths;
  };
  const run = (type: ClipperLib.ClipType, subject: Path[], clip: Path[], strictlySimple: boolean): ClipperLib.PolyTree => {
    const clipper = new ClipperLib.Clipper();
    clipper.StrictlySimple = strictlySimple;
    clipper.AddPaths(subject, ClipperLib.PolyType.ptSubject, true);
    if (clip.length > 0) clipper.AddPaths(clip, ClipperLib.PolyType.ptClip, true);
    const tree = new ClipperLib.PolyTree();
    clipper.Execute(type, tree, ClipperLib.PolyFillType.pftNonZero, ClipperLib.PolyFillType.pftNonZero);
    return tree;
  };
  /**
   * Strictly simple output: a region touching itself at a vertex comes back as two polygons, as OGC
   * validity (and PostGIS) has it, so each is its own gap or overlap and a proposed fix is valid.
   * Clipper's pass for it is quadratic in a polygon's vertices (seconds on a district boundary), and
   * only a ring that passes through one position twice needs it: the plain result is checked for
   * that first, in linear time. Repairs of whole grids (areas only) skip it.
   */
  const execute = (type: ClipperLib.ClipType, subject: Path[], clip: Path[], strictlySimple = strict): ClipGeometry => {
    let tree = run(type, subject, clip, false);
    if (strictlySimple && touchesItself(tree)) tree = run(type, subject, clip, true);
    return fromTree(tree, fromLattice);
  };

  const ops: BooleanOps = {
    union: (...geometries) => {
      const nonEmpty = geometries.filter((g) => g.length > 0);
      return nonEmpty.length === 0 ? [] : execute(ClipperLib.ClipType.ctUnion, nonEmpty.flatMap(toPaths), []);
    },
    intersection: (a, b) => (a.length === 0 || b.length === 0 ? [] : execute(ClipperLib.ClipType.ctIntersection, toPaths(a), toPaths(b))),
    // Runs even with nothing to subtract: the result is then `a` cleaned (a box-clipped `a` has border runs).
    difference: (a, ...subtract) => (a.length === 0 ? [] : execute(ClipperLib.ClipType.ctDifference, toPaths(a), subtract.filter((g) => g.length > 0).flatMap(toPaths))),
    repairStructure: (polygons) => {
      const parts: ClipGeometry[] = [];
      for (const rings of polygons) {
        if (rings.length === 0) continue;
        const shell = execute(ClipperLib.ClipType.ctUnion, [toLattice(rings[0])], [], false);
        const holes: Path[] = [];
        for (const ring of rings.slice(1)) {
          const hole = toLattice(ring);
          if (execute(ClipperLib.ClipType.ctIntersection, toPaths(shell), [hole], false).length > 0) holes.push(hole);
          else parts.push(execute(ClipperLib.ClipType.ctUnion, [hole], [], false));
        }
        parts.push(holes.length === 0 ? shell : execute(ClipperLib.ClipType.ctDifference, toPaths(shell), holes, false));
      }
      const nonEmpty = parts.filter((g) => g.length > 0);
      return nonEmpty.length === 0 ? [] : execute(ClipperLib.ClipType.ctUnion, nonEmpty.flatMap(toPaths), [], false);
    },
  };
  return ops;
}

type Path = ClipperLib.IntPoint[];

/**
 * The part of a geometry inside an axis-aligned box (plane metres), each ring clipped on its own
 * (Sutherland–Hodgman). Cheap, and exact where it matters: the winding number of every point inside the
 * box is unchanged, so an overlay of operands clipped to a box that holds the whole answer gives the
 * same answer (rings may run along the box's border; the non-zero rule reads them right). This is how
 * overlays stay within the neighbourhood of a defect instead of taking whole dense polygons (issue #15).
 */
export function clipToBox(geometry: ClipGeometry, [minX, minY, maxX, maxY]: readonly number[]): ClipGeometry {
  const out: ClipGeometry = [];
  for (const rings of geometry) {
    const kept: [number, number][][] = [];
    for (let r = 0; r < rings.length; r++) {
      let ring = rings[r];
      ring = clipRing(ring, (p) => p[0] >= minX, (a, b) => atX(a, b, minX));
      ring = clipRing(ring, (p) => p[0] <= maxX, (a, b) => atX(a, b, maxX));
      ring = clipRing(ring, (p) => p[1] >= minY, (a, b) => atY(a, b, minY));
      ring = clipRing(ring, (p) => p[1] <= maxY, (a, b) => atY(a, b, maxY));
      if (ring.length >= 3) kept.push(ring);
      else if (r === 0) break;
    }
    if (kept.length > 0) out.push(kept);
  }
  return out;
}

type Position = [number, number];

/** One Sutherland–Hodgman pass: the ring (closed or open) cut by a half-plane; the result is open. */
function clipRing(ring: readonly Position[], inside: (p: Position) => boolean, cut: (a: Position, b: Position) => Position): Position[] {
  const out: Position[] = [];
  const n = ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1] ? ring.length - 1 : ring.length;
  if (n === 0) return out;
  let prev = ring[n - 1];
  let prevIn = inside(prev);
  for (let i = 0; i < n; i++) {
    const cur = ring[i];
    const curIn = inside(cur);
    if (curIn !== prevIn) out.push(cut(prev, cur));
    if (curIn) out.push(cur);
    prev = cur;
    prevIn = curIn;
  }
  return out;
}

/** Where segment a–b crosses x = c, computed from the same end both ways round so shared edges cut alike. */
function atX(a: Position, b: Position, c: number): Position {
  const [p, q] = a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]) ? [a, b] : [b, a];
  return [c, p[1] + ((c - p[0]) * (q[1] - p[1])) / (q[0] - p[0])];
}

function atY(a: Position, b: Position, c: number): Position {
  const [p, q] = a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]) ? [a, b] : [b, a];
  return [p[0] + ((c - p[1]) * (q[0] - p[0])) / (q[1] - p[1]), c];
}

type Point = ClipperLib.IntPoint;
type Edge = { Delta: Point };

/** Veltkamp's splitter for doubles: 2^27 + 1. */
const SPLITTER = 134217729;

/** The rounding error of a·b (Dekker's two-product): a·b = fl(a·b) + error exactly, for |a|, |b| < 2^53. */
function productError(a: number, b: number, product: number): number {
  let c = SPLITTER * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return al * bl - (product - ah * bh - al * bh - ah * bl);
}

/** a·b = c·d exactly, for integers below 2^53: equal rounded products and equal rounding errors. */
function productsEqual(a: number, b: number, c: number, d: number): boolean {
  const p = a * b;
  const q = c * d;
  return p === q && productError(a, b, p) === productError(c, d, q);
}

/**
 * Beyond ±4.7e7 lattice steps (±0.047°, about 5 km) clipper-lib decides its collinearity tests — the only place its
 * full range differs — with a jsbn BigInteger per product, which took 60% of the validator's time on
 * district boundaries (issue #15). The tests only ask whether two products of integers below 2^53 are
 * equal, which the double-double products above answer exactly, without allocating. Same answers,
 * so the same output; installed once for the process.
 */
function exactProductTests(): void {
  const base = (ClipperLib as unknown as { ClipperBase: Record<string, unknown> & { prototype: Record<string, unknown> } }).ClipperBase;
  const slopes3 = (e1: Edge, e2: Edge) => productsEqual(e1.Delta.Y, e2.Delta.X, e1.Delta.X, e2.Delta.Y);
  const slopes4 = (p1: Point, p2: Point, p3: Point) => productsEqual(p1.Y - p2.Y, p2.X - p3.X, p1.X - p2.X, p2.Y - p3.Y);
  const slopes5 = (p1: Point, p2: Point, p3: Point, p4: Point) => productsEqual(p1.Y - p2.Y, p3.X - p4.X, p1.X - p2.X, p3.Y - p4.Y);
  base.SlopesEqual3 = slopes3;
  base.SlopesEqual4 = slopes4;
  base.SlopesEqual5 = slopes5;
  base.SlopesEqual = base.prototype.SlopesEqual = function (...a: unknown[]): boolean {
    if (a.length === 3) return slopes3(a[0] as Edge, a[1] as Edge);
    if (a.length === 4) return slopes4(a[0] as Point, a[1] as Point, a[2] as Point);
    return slopes5(a[0] as Point, a[1] as Point, a[2] as Point, a[3] as Point);
  };
  base.prototype.PointOnLineSegment = (pt: Point, l1: Point, l2: Point): boolean =>
    (pt.X === l1.X && pt.Y === l1.Y) ||
    (pt.X === l2.X && pt.Y === l2.Y) ||
    (pt.X > l1.X === pt.X < l2.X && pt.Y > l1.Y === pt.Y < l2.Y && productsEqual(pt.X - l1.X, l2.Y - l1.Y, l2.X - l1.X, pt.Y - l1.Y));
}
exactProductTests();

/** Whether any ring of the result passes through one lattice position twice. */
function touchesItself(tree: ClipperLib.PolyTree): boolean {
  const visit = (node: ClipperLib.PolyNode): boolean => {
    for (const child of node.Childs()) {
      const seen = new Set<number>();
      for (const p of child.Contour()) {
        // Exact for |X|, |Y| < 2^26 (±0.067°), and a collision of farther positions only costs the strict pass.
        const key = p.X * 134217728 + p.Y;
        if (seen.has(key)) return true;
        seen.add(key);
      }
      if (visit(child)) return true;
    }
    return false;
  };
  return visit(tree);
}

/** Outer rings with their holes, rings closed; Clipper gives outers counter-clockwise. */
function fromTree(tree: ClipperLib.PolyTree, fromLattice: (path: Path) => [number, number][]): ClipGeometry {
  const out: ClipGeometry = [];
  const visit = (node: ClipperLib.PolyNode) => {
    for (const outer of node.Childs()) {
      const rings = [fromLattice(outer.Contour())];
      for (const hole of outer.Childs()) {
        rings.push(fromLattice(hole.Contour()));
        visit(hole);
      }
      out.push(rings);
    }
  };
  visit(tree);
  return out;
}
