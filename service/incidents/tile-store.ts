import type { Knex } from 'knex';
import type { LonLatBbox } from '../tiles';
import { OPEN_STATUSES } from './workflow';

/**
 * What an incident tile carries of one case (issue #12). The select list names no reporter column, so
 * the reporter's name and phone cannot reach a tile whatever the encoder does.
 */
export interface IncidentPointRow {
  id: number;
  caseNo: string;
  category: string;
  major: string;
  status: string;
  route: string;
  card: string;
  overdue: boolean;
  unit: string;
  handlingUnit: string;
  department: string | null;
  lon: number;
  lat: number;
}

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

const ENVELOPE = 'ST_MakeEnvelope(?::float8, ?::float8, ?::float8, ?::float8, 4326)';
// Web Mercator x and y in [0, 1] as tile-math.ts computes them (the same expressions as the address layer).
const MERCATOR_X = 'ST_X(i.geom) / 360 + 0.5';
const MERCATOR_Y = `0.5 - ln((1 + sin(radians(least(greatest(ST_Y(i.geom), -85.0511287798066), 85.0511287798066))))
  / (1 - sin(radians(least(greatest(ST_Y(i.geom), -85.0511287798066), 85.0511287798066))))) / (4 * pi())`;
const OVERDUE = '(i.was_overdue OR (i.due_at IS NOT NULL AND i.due_at < ?::timestamptz))';

/** Reads of `incidents` (migrations/004_incidents.ts) for the incident tile layer, through its GiST index. */
export function createIncidentTileQueries(knex: Knex) {
  return {
    async bounds(): Promise<LonLatBbox | null> {
      const { rows } = await knex.raw('SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM (SELECT ST_Extent(geom) AS e FROM incidents) x');
      const r = rows[0];
      return r && r.w !== null ? [Number(r.w), Number(r.s), Number(r.e), Number(r.n)] : null;
    },

    /** Cases in a box summed per cell of a grid `cellsPerAxis` cells across the world; `now` decides what is overdue. */
    async cells(cellsPerAxis: number, bbox: LonLatBbox, now: Date): Promise<IncidentCellRow[]> {
      const { rows } = await knex.raw(
        `SELECT floor(p.mx * ?)::float8 AS cx, floor(p.my * ?)::float8 AS cy, count(*)::float8 AS n,
           count(*) FILTER (WHERE p.open)::float8 AS open, count(*) FILTER (WHERE p.overdue)::float8 AS overdue,
           count(*) FILTER (WHERE p.card = 'red')::float8 AS red, avg(p.mx)::float8 AS mx, avg(p.my)::float8 AS my
         FROM (SELECT i.status = ANY(?::text[]) AS open, ${OVERDUE} AS overdue, i.card, ${MERCATOR_X} AS mx, ${MERCATOR_Y} AS my
               FROM incidents i WHERE i.geom && ${ENVELOPE}) p
         GROUP BY 1, 2`,
        [cellsPerAxis, cellsPerAxis, [...OPEN_STATUSES], now, ...bbox],
      );
      return rows.map((r: Record<string, unknown>) => ({ cx: Number(r.cx), cy: Number(r.cy), n: Number(r.n), open: Number(r.open), overdue: Number(r.overdue), red: Number(r.red), mx: Number(r.mx), my: Number(r.my) }));
    },

    /** Cases in a box, oldest first, so a tile's features come in a stable order. */
    async points(bbox: LonLatBbox, now: Date): Promise<IncidentPointRow[]> {
      const { rows } = await knex.raw(
        `SELECT i.id, i.case_no, i.category, i.major, i.status, i.route, i.card, ${OVERDUE} AS overdue, i.unit_code, i.handling_unit, i.department,
           ST_X(i.geom)::float8 AS lon, ST_Y(i.geom)::float8 AS lat
         FROM incidents i WHERE i.geom && ${ENVELOPE} ORDER BY i.id`,
        [now, ...bbox],
      );
      return rows.map((r: Record<string, unknown>) => ({
        id: Number(r.id),
        caseNo: r.case_no as string,
        category: r.category as string,
        major: r.major as string,
        status: r.status as string,
        route: r.route as string,
        card: r.card as string,
        overdue: r.overdue === true || r.overdue === 't',
        unit: r.unit_code as string,
        handlingUnit: r.handling_unit as string,
        department: (r.department as string | null) ?? null,
        lon: Number(r.lon),
        lat: Number(r.lat),
      }));
    },
  };
}

export type IncidentTileQueries = ReturnType<typeof createIncidentTileQueries>;
