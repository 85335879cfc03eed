import { createHash, randomBytes } from 'node:crypto';
import { AppError, badRequest, notFound } from '../errors';
import { open311Definition, open311Request, open311Services, reporterName, statusesOf, type Lang, type Open311Request, type Open311Service, type Open311ServiceDefinition, type Open311Status } from './open311';
import type { Open311Key, Open311Store } from './open311-store';
import type { IncidentService } from './service';

/** GeoReport's defaults for GET requests: the last 90 days, at most 1,000 requests. */
export const DEFAULT_DAYS = 90;
export const MAX_RESULTS = 1000;
const DAY_MS = 86_400_000;

export interface CreateRequestInput {
  service_code: string;
  lat?: number;
  long?: number;
  address_string?: string;
  address_id?: number;
  description?: string;
  media_url?: string;
  first_name?: string;
  last_name?: string;
  phone?: string;
  email?: string;
  device_id?: string;
  account_id?: string;
}

export interface RequestQuery {
  service_request_id?: string[];
  service_code?: string;
  start_date?: Date;
  end_date?: Date;
  status?: Open311Status;
  updated_after?: Date;
  updated_before?: Date;
  page: number;
  page_size: number;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The GeoReport v2 use cases over the incident service (issue #12); no SQL and no HTTP here. */
export function createOpen311Api(deps: { store: Open311Store; incidents: IncidentService }) {
  const { store, incidents } = deps;
  const { classification } = incidents;

  function inScope(key: Open311Key, unitCodes: readonly string[]): boolean {
    return key.scopeCode === null || unitCodes.includes(key.scopeCode);
  }

  async function locate(input: CreateRequestInput): Promise<{ lon: number; lat: number; addressId?: number }> {
    if (input.lat !== undefined || input.long !== undefined) {
      if (input.lat === undefined || input.long === undefined) throw badRequest('incomplete_location', `send both lat and long (got only ${input.lat === undefined ? 'long' : 'lat'})`, { field: input.lat === undefined ? 'lat' : 'long' });
      return { lon: input.long, lat: input.lat };
    }
    if (input.address_id !== undefined) {
      const point = await store.addressPoint(input.address_id);
      if (!point) throw badRequest('unknown_address', `address_id ${input.address_id} is not in the address register`, { field: 'address_id' });
      return { ...point, addressId: input.address_id };
    }
    if (input.address_string !== undefined) {
      const found = await store.addressesByLabel(input.address_string);
      if (found.length === 0) throw badRequest('address_not_found', `address_string "${input.address_string}" matches no address of the register; send lat and long with it`, { field: 'address_string' });
      if (found.length > 1) throw badRequest('address_ambiguous', `address_string "${input.address_string}" matches several addresses of the register; send address_id or lat and long`, { field: 'address_string' });
      return { lon: found[0]!.lon, lat: found[0]!.lat, addressId: found[0]!.id };
    }
    throw badRequest('location_required', 'a service request needs a location: lat and long, address_id, or address_string', { field: 'lat' });
  }

  /**
   * One request by its case number.
   * @throws {AppError} 404 `request_not_found`; 403 `outside_key_scope` when it lies outside the key's area
   */
  async function get(key: Open311Key, caseNo: string, lang: Lang): Promise<Open311Request> {
    const [row] = await store.list({ caseNos: [caseNo], scopeCode: null, limit: 1, offset: 0 });
    if (!row) throw notFound('request_not_found', `no service request ${caseNo}`);
    if (!inScope(key, row.unitPath)) throw new AppError(403, 'outside_key_scope', `service request ${caseNo} lies outside ${key.scopeCode}, the area api_key is limited to`);
    return open311Request(row, classification, lang);
  }

  return {
    /**
     * The client behind an api_key.
     * @throws {AppError} 403 `invalid_api_key` when the key is missing, unknown or revoked
     */
    async authenticate(apiKey: string | undefined): Promise<Open311Key> {
      const key = apiKey ? await store.keyByHash(sha256(apiKey)) : null;
      if (!key) throw new AppError(403, 'invalid_api_key', apiKey ? 'api_key is not a valid key' : 'api_key is required', { field: 'api_key' });
      return key;
    },

    /**
     * Issues a key for a client, optionally limited to a governance grid's subtree; only its hash is kept.
     * @returns the key, to hand to the client once
     */
    async issueKey(client: string, options: { scopeCode?: string; key?: string } = {}): Promise<string> {
      const key = options.key ?? randomBytes(24).toString('base64url');
      await store.insertKey(client, sha256(key), options.scopeCode ?? null);
      return key;
    },

    services(lang: Lang): Open311Service[] {
      return open311Services(classification, lang);
    },

    /** @throws {AppError} 404 `unknown_service_code` */
    definition(code: string): Open311ServiceDefinition {
      return open311Definition(service(code, 404));
    },

    /**
     * Reports a case through the incident service with source `api`; the contact fields become the
     * reporter (never returned), the rest of the request is kept beside the case. With an idempotency key
     * the same request again answers the same case, and the key is the request's token.
     */
    async create(key: Open311Key, input: CreateRequestInput, options: { idempotencyKey?: string } = {}): Promise<{ service_request_id: string; token?: string; service_notice: string; account_id: string | null }> {
      const minor = service(input.service_code, 400);
      const point = await locate(input);
      const chain = await store.governanceChain(point.lon, point.lat);
      if (chain && !inScope(key, chain)) {
        throw new AppError(403, 'outside_key_scope', `the location lies outside ${key.scopeCode}, the area api_key is limited to`, { field: 'lat' });
      }
      const name = reporterName(input.first_name, input.last_name);
      const { incident } = await incidents.create(
        {
          category: minor.code,
          point: { x: point.lon, y: point.lat },
          addressId: point.addressId,
          source: 'api',
          reporter: name || input.phone ? { name, phone: input.phone } : undefined,
          description: input.description ?? minor.name,
        },
        {
          idempotencyKey: options.idempotencyKey ? idempotencyKey(key, options.idempotencyKey) : undefined,
          // In the case's transaction: a request row without its case, or a case without it, never remains.
          alongside: (tx, incidentId) =>
            store.insertRequest(tx, { incidentId, keyId: key.id, addressString: input.address_string ?? null, mediaUrl: input.media_url ?? null, email: input.email ?? null }),
        },
      );
      return { service_request_id: incident.caseNo, ...(options.idempotencyKey ? { token: options.idempotencyKey } : {}), service_notice: '', account_id: input.account_id ?? null };
    },

    /**
     * GET requests: `service_request_id` overrides every other filter (as the standard says); otherwise
     * the range defaults to the last 90 days and may not span more, and at most 1,000 requests are answered.
     * A client asking only what changed (`updated_after`/`updated_before`, no dates) gets no default range:
     * a case reported long ago that moved today is what it polls for.
     */
    async list(key: Open311Key, query: RequestQuery, lang: Lang, now = incidents.now()): Promise<Open311Request[]> {
      if (query.service_request_id) {
        const rows = await store.list({ caseNos: query.service_request_id, scopeCode: key.scopeCode, limit: MAX_RESULTS, offset: 0 });
        return rows.map((r) => open311Request(r, classification, lang));
      }
      if (query.service_code) service(query.service_code, 400);
      const changesOnly = !query.start_date && !query.end_date && (query.updated_after || query.updated_before);
      const to = query.end_date ?? (query.start_date ? new Date(+query.start_date + DEFAULT_DAYS * DAY_MS) : now);
      const from = query.start_date ?? new Date(+to - DEFAULT_DAYS * DAY_MS);
      if (+to < +from) throw badRequest('invalid_date_range', 'end_date is before start_date', { field: 'end_date' });
      if (+to - +from > DEFAULT_DAYS * DAY_MS) throw badRequest('date_range_too_long', `start_date to end_date may not span more than ${DEFAULT_DAYS} days`, { field: 'end_date' });
      const rows = await store.list({
        category: query.service_code,
        statuses: query.status ? statusesOf(query.status) : undefined,
        from: changesOnly ? undefined : from,
        to: changesOnly ? undefined : to,
        updatedAfter: query.updated_after,
        updatedBefore: query.updated_before,
        scopeCode: key.scopeCode,
        limit: query.page_size,
        offset: (query.page - 1) * query.page_size,
      });
      return rows.map((r) => open311Request(r, classification, lang));
    },

    get,

    /**
     * The case a token stands for: the idempotency key this client sent with its POST, or a case number.
     * @throws {AppError} 404 `token_not_found`
     */
    async token(key: Open311Key, token: string): Promise<{ service_request_id: string; token: string }> {
      const caseNo = (await store.caseNoByIdempotencyKey(idempotencyKey(key, token))) ?? ((await store.incidentIdByCaseNo(token)) !== null ? token : null);
      if (!caseNo) throw notFound('token_not_found', `no service request for token ${token}`);
      await get(key, caseNo, 'en');
      return { service_request_id: caseNo, token };
    },
  };

  /** A minor class by service code; unknown → 404 for a path segment, 400 for a parameter. */
  function service(code: string, status: 400 | 404) {
    try {
      return classification.category(code);
    } catch {
      throw new AppError(status, 'unknown_service_code', `service_code "${code}" is not a service; see GET /open311/v2/services`, { field: 'service_code' });
    }
  }
}

/** Idempotency keys are per client, so one client can neither replay nor probe another's. */
function idempotencyKey(key: Open311Key, token: string): string {
  return `open311:${key.id}:${token}`;
}

export type Open311Api = ReturnType<typeof createOpen311Api>;
