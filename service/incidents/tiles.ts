import type { ChangeEvent } from '../db/changes';
import type { Database } from '../db/engine';
import {
  encodeTile,
  mercatorX,
  mercatorY,
  TILE_BUFFER,
  TILE_EXTENT,
  tileBounds,
  type FieldType,
  type IncidentSourceInfo,
  type MvtPoint,
  type Staleness,
  type TileCoord,
  type TileSource,
  type TileSourceProvider,
} from '../tiles';
import { createClusterCellQueries, type ClusterCellQueries } from './cluster-cells-store';
import { createIncidentTileQueries, type IncidentTileQueries } from './tile-store';

export const INCIDENT_SOURCE_ID = 'incidents';
/** Cases are drawn one by one from this zoom on (a community is a few tiles across), clustered below it. */
export const INCIDENT_POINT_MINZOOM = 14;
/** Tiles stop at the first zoom of points; clients overzoom them. */
const INCIDENT_MAXZOOM = INCIDENT_POINT_MINZOOM;
/** 16 × 16 cluster cells per tile: a cell is 32 px wide in a 512-px tile, about one cluster bubble. */
const CELL_BITS = 4;

/** Every property a tile of this layer may carry; the decoded-tile test holds tiles to this list. */
export const INCIDENT_FIELDS: Readonly<Record<string, FieldType>> = {
  cluster: 'Boolean',
  point_count: 'Number',
  open_count: 'Number',
  overdue_count: 'Number',
  red_count: 'Number',
  case_no: 'String',
  category: 'String',
  major: 'String',
  status: 'String',
  route: 'String',
  card: 'String',
  overdue: 'Boolean',
  unit: 'String',
  handling_unit: 'String',
  department: 'String',
};

/**
 * Incidents on the map (issue #12) as one layer named `incidents`: below INCIDENT_POINT_MINZOOM a tile
 * holds clusters — cases summed per cell of a 16 × 16 grid over the tile, placed at their mean position,
 * with how many are open, overdue and red-carded —; from it on, one point per case with its case number,
 * category, status, route, card, overdue flag and unit codes. Never the reporter: the queries do not read
 * those columns. Clusters are summed from the pre-summed cells the writing transaction keeps current
 * (cluster-cells-store.ts), points read from `incidents`, for every tile the cache does not hold, so an
 * 'incidents' change (incident-changes.ts) only has to drop the cached tiles around the case.
 */
export class IncidentSource implements TileSource {
  readonly id = INCIDENT_SOURCE_ID;
  readonly maxzoom = INCIDENT_MAXZOOM;

  constructor(
    private readonly queries: IncidentTileQueries,
    private readonly clusterCells: ClusterCellQueries,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async info(): Promise<IncidentSourceInfo> {
    return {
      id: this.id,
      kind: 'incidents',
      name: '事件',
      description: `Incidents (issue #12): clusters below zoom ${INCIDENT_POINT_MINZOOM}, one point per case from it; no reporter data`,
      bounds: await this.queries.bounds(),
      minzoom: 0,
      maxzoom: this.maxzoom,
      vectorLayers: [{ id: this.id, description: 'incident clusters and cases', minzoom: 0, maxzoom: this.maxzoom, fields: { ...INCIDENT_FIELDS } }],
      pointMinzoom: INCIDENT_POINT_MINZOOM,
    };
  }

  async getTile(tile: TileCoord): Promise<Uint8Array | null> {
    const features = tile.z >= INCIDENT_POINT_MINZOOM ? await this.points(tile) : await this.clusters(tile);
    return features.length > 0 ? encodeTile([{ name: this.id, extent: TILE_EXTENT, features }]) : null;
  }

  onChange(event: ChangeEvent): Staleness {
    if (event.kind !== 'incidents') return null;
    return event.bbox ?? 'all';
  }

  private async points(tile: TileCoord): Promise<MvtPoint[]> {
    const rows = await this.queries.points(tileBounds(tile, TILE_BUFFER / TILE_EXTENT), this.now());
    return rows.map((r) => ({
      id: r.id,
      points: toTile(tile, mercatorX(r.lon), mercatorY(r.lat)),
      properties: {
        case_no: r.caseNo,
        category: r.category,
        major: r.major,
        status: r.status,
        route: r.route,
        card: r.card,
        overdue: r.overdue,
        unit: r.unit,
        handling_unit: r.handlingUnit,
        department: r.department ?? undefined,
      },
    }));
  }

  /** The tile's clusters and those of the ring of neighbouring cells whose position lies in its buffer. */
  private async clusters(tile: TileCoord): Promise<MvtPoint[]> {
    const side = 2 ** CELL_BITS;
    const range = { level: tile.z + CELL_BITS, x0: tile.x * side - 1, y0: tile.y * side - 1, x1: tile.x * side + side, y1: tile.y * side + side };
    const rows = await this.clusterCells.cells(range, this.now());
    const out: MvtPoint[] = [];
    for (const cell of rows) {
      const points = toTile(tile, cell.mx, cell.my);
      if (points.some((v) => v < -TILE_BUFFER || v > TILE_EXTENT + TILE_BUFFER)) continue;
      out.push({ points, properties: { cluster: true, point_count: cell.n, open_count: cell.open, overdue_count: cell.overdue, red_count: cell.red } });
    }
    return out;
  }
}

/** The incident layer always exists (the incidents table does); an empty one serves empty tiles. */
export function incidentSourceProvider(db: Database): TileSourceProvider {
  const queries = createIncidentTileQueries(db.knex);
  const clusterCells = createClusterCellQueries(db.knex);
  return {
    rediscoverOn: () => false,
    async discover(current) {
      const existing = current.get(INCIDENT_SOURCE_ID);
      return [existing instanceof IncidentSource ? existing : new IncidentSource(queries, clusterCells)];
    },
  };
}

/** Web Mercator [0, 1] → tile units of `tile`. */
function toTile(tile: TileCoord, mx: number, my: number): [number, number] {
  const n = 2 ** tile.z;
  return [Math.round((mx * n - tile.x) * TILE_EXTENT), Math.round((my * n - tile.y) * TILE_EXTENT)];
}
