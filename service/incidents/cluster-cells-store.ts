import type { Knex } from 'knex';
import type { LonLatBbox } from '../tiles';

/** The finest cluster grid, 2^17 cells across the world (migrations/036_incident_cluster_cells.ts). */
export const FINEST_CELL_LEVEL = 17;
/** Positions are summed in units of 2^-32 of the world's width. */
const POSITION_SCALE = 2 ** 32;

/** Cases summed over one cell of the cluster grid; mx, my are the mean Web Mercator position in [0, 1]. */
export interface IncidentCellRow {
  cx: number;
  cy: number;
  n: number;
  open: number;
  overdue: number;
  red: number;
  mx: number;
  my: number;
}

/** A block of cells of the grid `2^level` cells across the world, bounds inclusive. */
export interface CellRange {
  level: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const ENVELOPE = 'ST_MakeEnvelope(?::float8, ?::float8, ?::float8, ?::float8, 4326)';
// The migration's expressions, so a case counted at request time lands in the cell its trigger row did.
const MERCATOR_X = 'ST_X(i.geom) / 360 + 0.5';
const MERCATOR_Y = `0.5 - ln((1 + sin(radians(least(greatest(ST_Y(i.geom), -85.0511287798066), 85.0511287798066))))
  / (1 - sin(radians(least(greatest(ST_Y(i.geom), -85.0511287798066), 85.0511287798066))))) / (4 * pi())`;

/**
 * Reads of `incident_cluster_cells` for the incident tile layer's clusters (issue #12): a coarse cell is
 * the sum of the finest cells inside it, so a zoom-6 tile reads the few thousand occupied cells of its
 * area instead of the million cases. Overdue is the cells' flagged count plus the cases whose deadline
 * has passed and that the overdue scan has not flagged yet (its backlog, read through a partial index).
 */
export function createClusterCellQueries(knex: Knex) {
  return {
    /**
     * The cells of `range` with their cases; `bbox` covers the range (it bounds the backlog read), `now`
     * decides what is overdue.
     * @throws {RangeError} when the range is finer than the stored cells
     */
    async cells(range: CellRange, bbox: LonLatBbox, now: Date): Promise<IncidentCellRow[]> {
      const shift = FINEST_CELL_LEVEL - range.level;
      if (shift < 0 || !Number.isInteger(range.level)) throw new RangeError(`cluster cells go down to level ${FINEST_CELL_LEVEL}, not ${range.level}`);
      const side = 2 ** range.level;
      const { rows } = await knex.raw(
        `SELECT cx, cy, sum(n)::float8 AS n, sum(open)::float8 AS open, sum(overdue)::float8 AS overdue, sum(red)::float8 AS red,
           sum(sx)::float8 AS sx, sum(sy)::float8 AS sy
         FROM (
           SELECT cx >> ? AS cx, cy >> ? AS cy, n, open, flagged AS overdue, red, sum_x AS sx, sum_y AS sy
           FROM incident_cluster_cells WHERE cx BETWEEN ? AND ? AND cy BETWEEN ? AND ?
           UNION ALL
           SELECT floor(mx * ?)::int, floor(my * ?)::int, 0, 0, 1, 0, 0, 0
           FROM (SELECT ${MERCATOR_X} AS mx, ${MERCATOR_Y} AS my FROM incidents i
                 WHERE NOT i.was_overdue AND i.due_at < ?::timestamptz AND i.geom && ${ENVELOPE}) late
         ) c
         GROUP BY cx, cy HAVING sum(n) > 0`,
        [shift, shift, range.x0 * 2 ** shift, (range.x1 + 1) * 2 ** shift - 1, range.y0 * 2 ** shift, (range.y1 + 1) * 2 ** shift - 1, side, side, now, ...bbox],
      );
      return rows
        .map((r: Record<string, unknown>) => {
          const n = Number(r.n);
          return { cx: Number(r.cx), cy: Number(r.cy), n, open: Number(r.open), overdue: Number(r.overdue), red: Number(r.red), mx: Number(r.sx) / n / POSITION_SCALE, my: Number(r.sy) / n / POSITION_SCALE };
        })
        .filter((c: IncidentCellRow) => c.cx >= range.x0 && c.cx <= range.x1 && c.cy >= range.y0 && c.cy <= range.y1);
    },
  };
}

export type ClusterCellQueries = ReturnType<typeof createClusterCellQueries>;
