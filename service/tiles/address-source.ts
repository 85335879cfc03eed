import type { ChangeEvent } from '../db/changes';
import { AddressCells, type CellRange } from './address-cells';
import type { AddressPointRow, AddressTileQueries } from './address-store';
import { Loaded } from './loaded';
import { encodeTile, type MvtPoint, type MvtValue } from './mvt';
import { TILE_BUFFER, TILE_EXTENT, type AddressSourceInfo, type FieldType, type Staleness, type TileSource } from './source';
import { mercatorX, mercatorY, tileBounds, unionBounds, type LonLatBbox, type TileCoord } from './tile-math';

export const ADDRESS_SOURCE_ID = 'addresses';
/**
 * Addresses are drawn one by one from this zoom on, clustered below it. The demo city's addresses are
 * about 16 m apart: 16 px at zoom 16 in MapLibre's 512-px tiles, 8 px at zoom 15, too close to tell apart.
 */
export const ADDRESS_POINT_MINZOOM = 16;
/** Tiles stop at the first zoom of points; clients overzoom them (a tile unit is 13 cm there). */
const ADDRESS_MAXZOOM = ADDRESS_POINT_MINZOOM;
/** 16 × 16 cells per tile: a cell is 32 px wide in a 512-px tile, about one cluster bubble. */
const CELL_BITS = 4;
/**
 * A change spanning more cells than this (a province-wide import) reloads every cell with one query
 * instead of replacing these; the demo city is about 5,000 cells.
 */
const MAX_REPLACED_CELLS = 250_000;
/** Changes waiting for the cells beyond this many are merged into one box (cells never loaded would keep every box). */
const MAX_PENDING_BOXES = 64;
/** Degrees added around a range's box so an address on a cell's edge, placed in the cell by the database's float maths, is read. */
const EDGE_SLACK = 1e-9;

const FIELDS: Record<string, FieldType> = {
  cluster: 'Boolean',
  point_count: 'Number',
  kind: 'String',
  street: 'String',
  door: 'String',
  building: 'String',
  households: 'Number',
  population: 'Number',
};

/** Grid systems by id, whose codes the points carry as `grid.<key>`. */
type GridSystems = { id: number; key: string }[];

/**
 * The address register as one layer named `addresses` (issue #5). Below ADDRESS_POINT_MINZOOM a tile
 * holds clusters (cluster, point_count and the households and population summed) from cells kept in
 * memory (address-cells.ts), placed at their addresses' mean position; from it on, a tile holds the
 * addresses themselves, read from the database through its GiST index with kind, door, households,
 * population and the grid code in every system. A change of addresses replaces the cells of its box
 * only; the points need nothing, being read afresh for every tile the cache does not hold.
 *
 * Hand-written rather than supercluster: supercluster holds every point in memory and re-clusters all of
 * them on any change, where the 100,000-grid city has 12.5 million addresses and every grid edit
 * re-assigns some.
 */
export class AddressSource implements TileSource {
  readonly id = ADDRESS_SOURCE_ID;
  readonly maxzoom = ADDRESS_MAXZOOM;
  private readonly cells: Loaded<AddressCells>;
  private readonly systems: Loaded<GridSystems>;
  /** Boxes of changes not yet applied to the cells. */
  private pending: LonLatBbox[] = [];

  constructor(private readonly queries: AddressTileQueries) {
    this.cells = new Loaded(() => this.loadCells());
    this.systems = new Loaded(() => queries.systems());
  }

  async info(): Promise<AddressSourceInfo> {
    const [cells, systems] = await Promise.all([this.cells.current(), this.systems.current()]);
    const grids = Object.fromEntries(systems.map((s): [string, FieldType] => [`grid.${s.key}`, 'String']));
    return {
      id: this.id,
      kind: 'addresses',
      name: '地址',
      description: `The address register (issue #5): clusters below zoom ${ADDRESS_POINT_MINZOOM}, one point per address from it`,
      bounds: cells.bounds(),
      minzoom: 0,
      maxzoom: this.maxzoom,
      vectorLayers: [{ id: this.id, description: 'address clusters and addresses', minzoom: 0, maxzoom: this.maxzoom, fields: { ...FIELDS, ...grids } }],
      pointMinzoom: ADDRESS_POINT_MINZOOM,
      systems: systems.map((s) => s.key),
    };
  }

  /** Point tiles are read straight from the database: they never wait for the cells. */
  async getTile(tile: TileCoord): Promise<Uint8Array | null> {
    const features = tile.z >= ADDRESS_POINT_MINZOOM ? await this.points(tile) : clusters(tile, await this.cells.current());
    return features.length > 0 ? encodeTile([{ name: this.id, extent: TILE_EXTENT, features }]) : null;
  }

  onChange(event: ChangeEvent): Staleness {
    if (event.kind === 'system') {
      // Keys name the `grid.<key>` properties of every point tile.
      this.systems.reset();
      return 'all';
    }
    if (event.kind !== 'addresses') return null;
    if (!event.bbox) {
      this.cells.reset();
      return 'all';
    }
    // An import announces one change per grid system, all with the same box: the first step applies them all.
    this.pending.push(event.bbox);
    if (this.pending.length > MAX_PENDING_BOXES) this.pending = [unionBounds(this.pending)!];
    this.cells.update((cells) => this.applyPending(cells));
    return event.bbox;
  }

  private async loadCells(): Promise<AddressCells> {
    // Changes announced so far are committed, so this load sees them.
    this.pending = [];
    const cells = new AddressCells(ADDRESS_POINT_MINZOOM - 1, CELL_BITS);
    cells.load(await this.queries.cells(cells.cellsPerAxis));
    return cells;
  }

  private async applyPending(cells: AddressCells): Promise<void> {
    const boxes = new Map(this.pending.map((b) => [b.join(','), b]));
    this.pending = [];
    for (const bbox of boxes.values()) {
      const r = cells.rangeOf(bbox);
      const last = cells.cellsPerAxis - 1;
      // One cell more on every side: the database and the tile maths may disagree on an address that lies on a cell's edge.
      const range: CellRange = { x0: Math.max(0, r.x0 - 1), y0: Math.max(0, r.y0 - 1), x1: Math.min(last, r.x1 + 1), y1: Math.min(last, r.y1 + 1) };
      if ((range.x1 - range.x0 + 1) * (range.y1 - range.y0 + 1) > MAX_REPLACED_CELLS) {
        cells.load(await this.queries.cells(cells.cellsPerAxis));
        return;
      }
      const [w, s, e, n] = cells.boundsOf(range);
      cells.replace(range, await this.queries.cells(cells.cellsPerAxis, [w - EDGE_SLACK, s - EDGE_SLACK, e + EDGE_SLACK, n + EDGE_SLACK]));
    }
  }

  private async points(tile: TileCoord): Promise<MvtPoint[]> {
    const [rows, systems] = await Promise.all([this.queries.points(tileBounds(tile, TILE_BUFFER / TILE_EXTENT)), this.systems.current()]);
    return rows.map((row) => ({ id: row.id, points: toTile(tile, mercatorX(row.lon), mercatorY(row.lat)), properties: pointProperties(row, systems) }));
  }
}

function pointProperties(row: AddressPointRow, systems: GridSystems): Record<string, MvtValue> {
  const properties: Record<string, MvtValue> = {
    kind: row.kind,
    street: row.street,
    door: row.door,
    building: row.building,
    households: row.households,
    population: row.population,
  };
  for (const s of systems) properties[`grid.${s.key}`] = row.grids[String(s.id)];
  return properties;
}

/** The tile's clusters and those of neighbouring cells whose position lies in its buffer. */
function clusters(tile: TileCoord, cells: AddressCells): MvtPoint[] {
  const side = 2 ** CELL_BITS;
  const out: MvtPoint[] = [];
  // The buffer is narrower than a cell, so one ring of neighbouring cells holds every cluster in it.
  for (const cell of cells.cells(tile.z, tile.x * side - 1, tile.x * side + side, tile.y * side - 1, tile.y * side + side)) {
    const points = toTile(tile, cell.sx / cell.n, cell.sy / cell.n);
    if (points.some((v) => v < -TILE_BUFFER || v > TILE_EXTENT + TILE_BUFFER)) continue;
    out.push({ points, properties: { cluster: true, point_count: cell.n, households: cell.households, population: cell.population } });
  }
  return out;
}

/** Web Mercator [0, 1] → tile units of `tile`. */
function toTile(tile: TileCoord, mx: number, my: number): [number, number] {
  const n = 2 ** tile.z;
  return [Math.round((mx * n - tile.x) * TILE_EXTENT), Math.round((my * n - tile.y) * TILE_EXTENT)];
}
