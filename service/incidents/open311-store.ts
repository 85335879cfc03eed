import type { Knex } from 'knex';
import { knexOf, type Queryable, type Tx } from '../db/tx';
import type { Locate } from './store';
import type { Open311Row } from './open311';
import type { Status } from './workflow';

/**
 * The Open311 tables (migration 030) and the read side GeoReport needs over `incidents`: its own select
 * list, which never names the reporter's columns, and filters the incident list has no need for (several
 * case numbers, updated_at). Writing cases stays with the incident service.
 */
export interface Open311Key {
  id: number;
  client: string;
  /** A governance grid whose subtree the key is limited to; null = the whole territory. */
  scopeCode: string | null;
}

export interface Open311Filter {
  caseNos?: string[];
  category?: string;
  statuses?: Status[];
  from?: Date;
  to?: Date;
  updatedAfter?: Date;
  updatedBefore?: Date;
  scopeCode: string | null;
  limit: number;
  offset: number;
}

const SELECT = `i.case_no, i.status, i.category, i.description, i.chain -> k.handling_level ->> 'name' AS agency,
  i.reported_at, i.updated_at, i.due_at, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.address_id, i.unit_path,
  r.address_string, r.media_url,
  nullif(concat_ws(' ', a.street, a.door, a.building, a.unit, a.room), '') AS register_address,
  (SELECT l.note FROM incident_log l WHERE l.incident_id = i.id AND l.note IS NOT NULL ORDER BY l.id DESC LIMIT 1) AS status_note`;

const date = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

function toRow(r: Record<string, unknown>): Open311Row {
  return {
    caseNo: r.case_no as string,
    status: r.status as Status,
    statusNote: (r.status_note as string | null) ?? null,
    category: r.category as string,
    description: r.description as string,
    agency: (r.agency as string | null) ?? null,
    reportedAt: date(r.reported_at),
    updatedAt: date(r.updated_at),
    dueAt: r.due_at === null || r.due_at === undefined ? null : date(r.due_at),
    lon: Number(r.lon),
    lat: Number(r.lat),
    addressId: r.address_id === null || r.address_id === undefined ? null : Number(r.address_id),
    addressString: (r.address_string as string | null) ?? null,
    registerAddress: (r.register_address as string | null) ?? null,
    mediaUrl: (r.media_url as string | null) ?? null,
    unitPath: r.unit_path as string[],
  };
}

export function createOpen311Store(db: Queryable, locate: Locate) {
  const knex: Knex = knexOf(db);
  return {
    async keyByHash(sha256: string): Promise<Open311Key | null> {
      const row = await knex('open311_keys').where({ key_sha256: sha256 }).whereNull('revoked_at').first('id', 'client', 'scope_code');
      return row ? { id: Number(row.id), client: row.client as string, scopeCode: (row.scope_code as string | null) ?? null } : null;
    },

    /** Stores a key's hash; the same key again keeps the first row (the demo seed may run twice). */
    async insertKey(client: string, sha256: string, scopeCode: string | null): Promise<number> {
      await knex.raw('INSERT INTO open311_keys (client, key_sha256, scope_code) VALUES (?, ?, ?) ON CONFLICT (key_sha256) DO NOTHING', [client, sha256, scopeCode]);
      const row = await knex('open311_keys').where({ key_sha256: sha256 }).first('id');
      return Number(row.id);
    },

    /** What the request carried beyond the incident, in the transaction that creates the incident. */
    async insertRequest(tx: Tx, row: { incidentId: number; keyId: number; addressString: string | null; mediaUrl: string | null; email: string | null }): Promise<void> {
      await knexOf(tx).raw(
        'INSERT INTO open311_requests (incident_id, key_id, address_string, media_url, email) VALUES (?, ?, ?, ?, ?)',
        [row.incidentId, row.keyId, row.addressString, row.mediaUrl, row.email],
      );
    },

    /** Most recently reported first. */
    async list(filter: Open311Filter): Promise<Open311Row[]> {
      // The handling level as the overdue scan may have raised it (migration 033's incident_clocks).
      const q = knex({ i: 'incidents' })
        .join({ k: 'incident_clocks' }, 'k.id', 'i.id')
        .leftJoin({ r: 'open311_requests' }, 'r.incident_id', 'i.id')
        .leftJoin({ a: 'addresses' }, 'a.id', 'i.address_id')
        .select(knex.raw(SELECT));
      if (filter.caseNos) q.whereIn('i.case_no', filter.caseNos);
      if (filter.category) q.where('i.category', filter.category);
      if (filter.statuses) q.whereIn('i.status', filter.statuses);
      if (filter.from) q.where('i.reported_at', '>=', filter.from);
      if (filter.to) q.where('i.reported_at', '<=', filter.to);
      if (filter.updatedAfter) q.where('i.updated_at', '>', filter.updatedAfter);
      if (filter.updatedBefore) q.where('i.updated_at', '<', filter.updatedBefore);
      if (filter.scopeCode) q.whereRaw('i.unit_path @> ?::text[]', [[filter.scopeCode]]);
      const rows = await q.orderBy([{ column: 'i.reported_at', order: 'desc' }, { column: 'i.id', order: 'desc' }]).limit(filter.limit).offset(filter.offset);
      return (rows as Record<string, unknown>[]).map(toRow);
    },

    async caseNoByIdempotencyKey(key: string): Promise<string | null> {
      const row = await knex('incidents').where({ idempotency_key: key }).first('case_no');
      return row ? (row.case_no as string) : null;
    },

    async incidentIdByCaseNo(caseNo: string): Promise<number | null> {
      const row = await knex('incidents').where({ case_no: caseNo }).first('id');
      return row ? Number(row.id) : null;
    },

    async addressPoint(id: number): Promise<{ lon: number; lat: number } | null> {
      const { rows } = await knex.raw('SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM addresses WHERE id = ?', [id]);
      return rows[0] ? { lon: Number(rows[0].lon), lat: Number(rows[0].lat) } : null;
    },

    /**
     * Register addresses whose label (street, door, building, unit, room; spaces ignored) equals the text;
     * at most two, enough to tell "one" from "ambiguous".
     */
    async addressesByLabel(text: string): Promise<{ id: number; lon: number; lat: number }[]> {
      const { rows } = await knex.raw(
        `SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM addresses
         WHERE replace(concat(street, door, building, unit, room), ' ', '') = ? ORDER BY id LIMIT 2`,
        [text.replace(/\s+/g, '')],
      );
      return rows.map((r: Record<string, unknown>) => ({ id: Number(r.id), lon: Number(r.lon), lat: Number(r.lat) }));
    },

    /** The codes of the governance chain containing a point (finest first), as the incident service routes it. */
    async governanceChain(lon: number, lat: number): Promise<string[] | null> {
      const answer = await locate(db, lon, lat);
      const governance = answer.systems.find((s) => s.kind === 'governance');
      return governance ? governance.chain.map((u) => u.code) : null;
    },
  };
}

export type Open311Store = ReturnType<typeof createOpen311Store>;
