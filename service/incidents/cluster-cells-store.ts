import type { Knex } from 'knex';

/** The finest cluster grid, 2^17 cells across the world (migrations/036_incident_cluster_cells.ts, 037). */
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

/**
 * Reads of `incident_cluster_cells` for the incident tile layer's clusters (issue #12): a coarse cell is
 * the sum of the finest cells inside it, so a zoom-6 tile reads the few thousand occupied cells of its
 * area instead of the million cases. Overdue is the cells' flagged count (`was_overdue OR card = 'red'`, as
 * the case list counts it) plus the cases whose deadline has passed and that the overdue scan has not carded
 * red yet (its backlog), read from `incident_clocks` through its partial index on the deadline, each case's
 * cell stored there (migration 037).
 */
export function createClusterCellQueries(knex: Knex) {
  return {
    /**
     * The cells of `range` with their cases; `now` decides what is overdue.
     * @throws {RangeError} when the range is finer than the stored cells
     */
    async cells(range: CellRange, now: Date): Promise<IncidentCellRow[]> {
      const shift = FINEST_CELL_LEVEL - range.level;
      if (shift < 0 || !Number.isInteger(range.level)) throw new RangeError(`cluster cells go down to level ${FINEST_CELL_LEVEL}, not ${range.level}`);
      const finest = [range.x0 * 2 ** shift, (range.x1 + 1) * 2 ** shift - 1, range.y0 * 2 ** shift, (range.y1 + 1) * 2 ** shift - 1];
      const { rows } = await knex.raw(
        `SELECT cx, cy, sum(n)::float8 AS n, sum(open)::float8 AS open, sum(overdue)::float8 AS overdue, sum(red)::float8 AS red,
           sum(sx)::float8 AS sx, sum(sy)::float8 AS sy
         FROM (
           SELECT cx >> ? AS cx, cy >> ? AS cy, n, open, flagged AS overdue, red, sum_x AS sx, sum_y AS sy
           FROM incident_cluster_cells WHERE cx BETWEEN ? AND ? AND cy BETWEEN ? AND ?
           UNION ALL
           SELECT k.cx >> ?, k.cy >> ?, 0, 0, 1, 0, 0, 0
           FROM incident_clocks k
           WHERE k.card <> 'red' AND k.due_at IS NOT NULL AND k.due_at < ?::timestamptz AND NOT k.was_overdue
             AND k.cx BETWEEN ? AND ? AND k.cy BETWEEN ? AND ?
         ) c
         GROUP BY cx, cy HAVING sum(n) > 0`,
        [shift, shift, ...finest, shift, shift, now, ...finest],
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
