import { tileAt, tileBounds, type LonLatBbox } from './tile-math';

/** What a cell sums over the addresses in it; sx and sy are sums of Web Mercator x and y in [0, 1]. */
export interface AddressCell {
  n: number;
  households: number;
  population: number;
  sx: number;
  sy: number;
}

/** A cell of the finest zoom with its column and row. */
export interface AddressCellRow extends AddressCell {
  cx: number;
  cy: number;
}

/** Columns x0…x1 and rows y0…y1, inclusive, of the finest zoom's cells. */
export interface CellRange {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Address clusters as a pyramid of square cells: at zoom z the world is 2^(z + bits) cells across, so a
 * tile holds 2^bits × 2^bits of them, and a cell is the sum of its four children one zoom down. Only the
 * finest zoom's cells are given; a change replaces the cells of a range and the sums above it. Memory
 * grows with the cells that hold addresses, not with the addresses: 12.5 million addresses of the
 * 100,000-grid city would not fit in memory one by one, their cells do.
 */
export class AddressCells {
  private readonly levels: Map<number, AddressCell>[];

  /**
   * @param maxzoom - the finest zoom, whose cells are given
   * @param bits - 2^bits cells per tile side
   */
  constructor(
    readonly maxzoom: number,
    readonly bits: number,
  ) {
    if (!Number.isInteger(maxzoom) || !Number.isInteger(bits) || maxzoom < 0 || bits < 0 || maxzoom + bits > 26) {
      throw new RangeError(`maxzoom ${maxzoom} and bits ${bits} must be integers ≥ 0 with a sum of at most 26 (cell keys stay exact in a double)`);
    }
    this.levels = Array.from({ length: maxzoom + 1 }, () => new Map<number, AddressCell>());
  }

  /** Cells per axis at the finest zoom. */
  get cellsPerAxis(): number {
    return 2 ** (this.maxzoom + this.bits);
  }

  /** Replaces every cell. */
  load(rows: Iterable<AddressCellRow>): void {
    for (const level of this.levels) level.clear();
    const finest = this.levels[this.maxzoom]!;
    for (const row of rows) finest.set(this.key(this.maxzoom, row.cx, row.cy), cellOf(row));
    for (let z = this.maxzoom - 1; z >= 0; z--) {
      const level = this.levels[z]!;
      const side = this.side(z + 1);
      for (const [key, cell] of this.levels[z + 1]!) {
        const parent = this.key(z, (key % side) >> 1, Math.floor(key / side) >> 1);
        const sum = level.get(parent);
        if (sum) add(sum, cell);
        else level.set(parent, { ...cell });
      }
    }
  }

  /** Replaces the finest cells of `range` by those of `rows` inside it, and their sums at every coarser zoom. */
  replace(range: CellRange, rows: Iterable<AddressCellRow>): void {
    const finest = this.levels[this.maxzoom]!;
    for (let y = range.y0; y <= range.y1; y++) {
      for (let x = range.x0; x <= range.x1; x++) finest.delete(this.key(this.maxzoom, x, y));
    }
    for (const row of rows) {
      if (row.cx >= range.x0 && row.cx <= range.x1 && row.cy >= range.y0 && row.cy <= range.y1) finest.set(this.key(this.maxzoom, row.cx, row.cy), cellOf(row));
    }
    let r = range;
    for (let z = this.maxzoom - 1; z >= 0; z--) {
      r = { x0: r.x0 >> 1, y0: r.y0 >> 1, x1: r.x1 >> 1, y1: r.y1 >> 1 };
      const level = this.levels[z]!;
      const children = this.levels[z + 1]!;
      for (let y = r.y0; y <= r.y1; y++) {
        for (let x = r.x0; x <= r.x1; x++) {
          const sum: AddressCell = { n: 0, households: 0, population: 0, sx: 0, sy: 0 };
          for (const [dx, dy] of CHILDREN) {
            const child = children.get(this.key(z + 1, 2 * x + dx, 2 * y + dy));
            if (child) add(sum, child);
          }
          if (sum.n > 0) level.set(this.key(z, x, y), sum);
          else level.delete(this.key(z, x, y));
        }
      }
    }
  }

  /** The cells of zoom z whose columns and rows are in the given ranges (those outside the world are skipped). */
  cells(z: number, x0: number, x1: number, y0: number, y1: number): AddressCell[] {
    const level = this.levels[z]!;
    const last = this.side(z) - 1;
    const out: AddressCell[] = [];
    for (let y = Math.max(0, y0); y <= Math.min(last, y1); y++) {
      for (let x = Math.max(0, x0); x <= Math.min(last, x1); x++) {
        const cell = level.get(this.key(z, x, y));
        if (cell) out.push(cell);
      }
    }
    return out;
  }

  /** The finest cells covering a lon/lat box. */
  rangeOf([west, south, east, north]: LonLatBbox): CellRange {
    const z = this.maxzoom + this.bits;
    const nw = tileAt(west, north, z);
    const se = tileAt(east, south, z);
    return { x0: nw.x, y0: nw.y, x1: se.x, y1: se.y };
  }

  /** The lon/lat box of a range of finest cells. */
  boundsOf(range: CellRange): LonLatBbox {
    const z = this.maxzoom + this.bits;
    const [west, , , north] = tileBounds({ z, x: range.x0, y: range.y0 });
    const [, south, east] = tileBounds({ z, x: range.x1, y: range.y1 });
    return [west, south, east, north];
  }

  /** The box of every cell holding addresses; null when none does. */
  bounds(): LonLatBbox | null {
    const side = this.side(this.maxzoom);
    const range = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
    for (const key of this.levels[this.maxzoom]!.keys()) {
      const x = key % side;
      const y = Math.floor(key / side);
      range.x0 = Math.min(range.x0, x);
      range.y0 = Math.min(range.y0, y);
      range.x1 = Math.max(range.x1, x);
      range.y1 = Math.max(range.y1, y);
    }
    return range.x0 === Infinity ? null : this.boundsOf(range);
  }

  private side(z: number): number {
    return 2 ** (z + this.bits);
  }

  /** Row-major; exact in a double up to 2^53 cells, i.e. maxzoom + bits ≤ 26. */
  private key(z: number, x: number, y: number): number {
    return y * this.side(z) + x;
  }
}

const CHILDREN = [
  [0, 0],
  [1, 0],
  [0, 1],
  [1, 1],
] as const;

const cellOf = (row: AddressCellRow): AddressCell => ({ n: row.n, households: row.households, population: row.population, sx: row.sx, sy: row.sy });

function add(sum: AddressCell, cell: AddressCell): void {
  sum.n += cell.n;
  sum.households += cell.households;
  sum.population += cell.population;
  sum.sx += cell.sx;
  sum.sy += cell.sy;
}
