import type { Knex } from 'knex';
import type { LonLatBbox } from '../tiles';

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

const ENVELOPE = 'ST_MakeEnvelope(?::float8, ?::float8, ?::float8, ?::float8, 4326)';
/** As the case list reads a case (store.ts): the card and a red card's escalation from the overdue scan's table (migration 033). */
const OVERDUE = `(i.was_overdue OR k.card = 'red' OR (i.due_at IS NOT NULL AND i.due_at < ?::timestamptz))`;
const HANDLING_UNIT = `CASE WHEN k.raised THEN i.chain -> k.handling_level ->> 'code' ELSE i.handling_unit END`;

/** Reads of `incidents` (migrations/005_incidents.ts) and `incident_clocks` (033) for the incident tile layer's points and bounds, through its GiST index; clusters are in cluster-cells-store.ts. */
export function createIncidentTileQueries(knex: Knex) {
  return {
    async bounds(): Promise<LonLatBbox | null> {
      const { rows } = await knex.raw('SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM (SELECT ST_Extent(geom) AS e FROM incidents) x');
      const r = rows[0];
      return r && r.w !== null ? [Number(r.w), Number(r.s), Number(r.e), Number(r.n)] : null;
    },

    /** Cases in a box, oldest first, so a tile's features come in a stable order. */
    async points(bbox: LonLatBbox, now: Date): Promise<IncidentPointRow[]> {
      const { rows } = await knex.raw(
        `SELECT i.id, i.case_no, i.category, i.major, i.status, i.route, k.card, ${OVERDUE} AS overdue, i.unit_code, ${HANDLING_UNIT} AS handling_unit,
           i.department, ST_X(i.geom)::float8 AS lon, ST_Y(i.geom)::float8 AS lat
         FROM incidents i JOIN incident_clocks k ON k.id = i.id WHERE i.geom && ${ENVELOPE} ORDER BY i.id`,
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
