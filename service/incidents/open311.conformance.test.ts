import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { locatePoint } from '../point';
import { createIncidents, createOpen311 } from './index';
import { actorFor, governanceGrids, governanceSystem, pointIn } from './testing';
import { WORKFLOWS } from './workflow';

/**
 * Conformance with GeoReport v2 (wiki.open311.org/GeoReport_v2), read from the standard's text: every
 * resource in XML (required) and JSON, the same content in both; the request fields; GET requests'
 * defaults (90 days, at most 1,000) and filters; errors as a list of {code, description} with 400, 403
 * and 404. XML answers are checked with a real parser, not by string matching.
 */
const LISTS = new Set(['service', 'request', 'error', 'attribute', 'value', 'endpoint', 'format']);
const parser = new XMLParser({ parseTagValue: false, trimValues: false, isArray: (name) => LISTS.has(name) });
const fcol = (features: unknown[]) => ({ type: 'FeatureCollection', features });
const DAY = 86_400_000;

/** JSON as the XML carries it: every leaf is text, null is an empty element. */
function asXmlText(value: unknown): unknown {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(asXmlText);
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asXmlText(v)]));
  return String(value);
}

function parseXml(res: Response): Record<string, unknown> {
  expect(res.headers['content-type']).toBe('text/xml; charset=utf-8');
  expect(res.text.startsWith('<?xml version="1.0" encoding="UTF-8"?>')).toBe(true);
  expect(XMLValidator.validate(res.text)).toBe(true);
  return parser.parse(res.text);
}

/** The entries of a list document (`<root><item/>…</root>`); an empty root parses as ''. */
function xmlList(res: Response, root: string, item: string): unknown[] {
  const doc = parseXml(res)[root] as Record<string, unknown[]> | '';
  return doc === '' ? [] : doc[item]!;
}

describe.each(engines())('Open311 GeoReport v2 on %s PostGIS', (engine) => {
  let t: TestApp;
  let key: string;
  let scopedKey: string;
  const cases: Record<string, string> = {};

  /** GET a path in both formats, check they carry the same list, and answer the JSON. */
  async function both(path: string, root: string, item: string, status = 200): Promise<Record<string, unknown>[]> {
    const [base, query] = path.split('?');
    const json = await t.request.get(`${base}.json${query ? `?${query}` : ''}`).expect(status);
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    const xml = await t.request.get(`${base}.xml${query ? `?${query}` : ''}`).expect(status);
    expect(xmlList(xml, root, item)).toEqual(asXmlText(json.body));
    return json.body;
  }

  /** An error in both formats: the standard's list with the HTTP status as code; answers the description. */
  async function error(method: 'get' | 'post', path: string, status: number, form?: Record<string, string>): Promise<string> {
    const descriptions: string[] = [];
    for (const format of ['json', 'xml'] as const) {
      const [base, query] = path.split('?');
      const url = `${base}.${format}${query ? `?${query}` : ''}`;
      const res = method === 'get' ? await t.request.get(url).expect(status) : await t.request.post(url).type('form').send(form ?? {}).expect(status);
      const list = format === 'json' ? res.body : xmlList(res, 'errors', 'error');
      expect(list).toHaveLength(1);
      expect(String(list[0].code)).toBe(String(status));
      expect(Object.keys(list[0]).sort()).toEqual(['code', 'description']);
      descriptions.push(list[0].description);
    }
    expect(descriptions[0]).toBe(descriptions[1]);
    return descriptions[0]!;
  }

  const post = (form: Record<string, string>, format: 'json' | 'xml' = 'json') => t.request.post(`/open311/v2/requests.${format}`).type('form').send(form);

  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(governanceSystem).expect(201);
    await t.request.post(`/api/systems/${governanceSystem.key}/import`).send(fcol(governanceGrids())).expect(200);
    const q1a1 = pointIn('Q1A1');
    const csv = [
      'external_id,kind,door,street,lon,lat',
      `a1,residential,1号,人民路,${q1a1.x},${q1a1.y}`,
      `a2,residential,2号,人民路,${q1a1.x + 0.001},${q1a1.y}`,
      `a3,residential,2号,人民路,${q1a1.x + 0.002},${q1a1.y}`,
    ].join('\n');
    await t.request.post('/api/addresses/import?format=csv').set('content-type', 'text/csv').send(csv).expect(200);
    const open311 = createOpen311(t.db.knex, createIncidents(t.db.knex, locatePoint));
    key = await open311.issueKey('conformance');
    scopedKey = await open311.issueKey('street Q1 only', { scopeCode: 'Q1' });
    // Cases reported 30 and 120 days ago, through the incident service with its clock moved back.
    for (const [name, days, grid] of [['d30', 30, 'Q1B2'], ['d120', 120, 'Q1B2']] as const) {
      const past = createIncidents(t.db.knex, locatePoint, { now: () => new Date(Date.now() - days * DAY) });
      cases[name] = (await past.create({ category: '0201', point: pointIn(grid), source: 'patrol', description: `${days} days ago` })).incident.caseNo;
    }
  });
  afterAll(async () => t?.close());

  describe('discovery and services', () => {
    it('publishes a discovery document naming the v2 endpoint and both formats', async () => {
      const json = (await t.request.get('/open311/discovery.json').expect(200)).body;
      expect(json.endpoints).toEqual([expect.objectContaining({ specification: 'http://wiki.open311.org/GeoReport_v2', type: 'production', formats: ['text/xml', 'application/json'] })]);
      expect(json.endpoints[0].url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/open311\/v2$/);
      const xml = parseXml(await t.request.get('/open311/discovery.xml').expect(200)).discovery as Record<string, unknown>;
      expect(xml).toEqual(asXmlText({ ...json, endpoints: { endpoint: json.endpoints.map((e: { formats: string[] }) => ({ ...e, formats: { format: e.formats } })) } }));
    });

    it('lists every minor class as a service with the standard fields, in both formats', async () => {
      const services = await both('/open311/v2/services', 'services', 'service');
      expect(services).toHaveLength(30);
      for (const s of services) {
        expect(Object.keys(s)).toEqual(['service_code', 'service_name', 'description', 'metadata', 'type', 'keywords', 'group']);
        expect(s).toMatchObject({ metadata: false, type: 'realtime' });
      }
      expect(services[0]).toMatchObject({ service_code: '0101', service_name: '暴露垃圾', group: '市容环境' });
      expect((await both('/open311/v2/services?lang=en', 'services', 'service'))[0]).toMatchObject({ service_name: 'Exposed refuse' });
    });

    it('answers a service definition, and 404 for a code that is no service', async () => {
      const json = (await t.request.get('/open311/v2/services/0101.json').expect(200)).body;
      expect(json).toEqual({ service_code: '0101', attributes: [] });
      const xml = parseXml(await t.request.get('/open311/v2/services/0101.xml').expect(200));
      expect(xml).toEqual({ '?xml': '', service_definition: { service_code: '0101', attributes: '' } });
      expect(await error('get', '/open311/v2/services/9999', 404)).toMatch(/^unknown_service_code: service_code "9999"/);
    });
  });

  describe('POST requests and GET a request', () => {
    it('creates a request from the standard fields and answers its id; GET by id gives the standard fields without contact data', async () => {
      const { x, y } = pointIn('Q2B1');
      const form = {
        api_key: key,
        service_code: '0101',
        lat: String(y),
        long: String(x),
        address_string: '人民路 8号 东侧',
        description: '路边垃圾 <堆放> & 未清运',
        media_url: 'https://example.org/photo.jpg',
        first_name: '小明',
        last_name: '王',
        phone: '13812345678',
        email: 'wang@example.org',
        device_id: 'phone-1',
        account_id: 'acct-7',
      };
      const created = await post(form).expect(201);
      expect(created.body).toEqual([{ service_request_id: expect.stringMatching(/^Q2B1-\d{8}-\d{4}$/), service_notice: '', account_id: 'acct-7' }]);
      const id = created.body[0].service_request_id as string;
      cases.created = id;

      const [one] = await both(`/open311/v2/requests/${id}?api_key=${key}`, 'service_requests', 'request');
      expect(Object.keys(one!)).toEqual([
        'service_request_id', 'status', 'status_notes', 'service_name', 'service_code', 'description', 'agency_responsible', 'service_notice',
        'requested_datetime', 'updated_datetime', 'expected_datetime', 'address', 'address_id', 'lat', 'long', 'media_url',
      ]);
      expect(one).toMatchObject({ service_request_id: id, status: 'open', service_code: '0101', service_name: '暴露垃圾', description: form.description, address: form.address_string, media_url: form.media_url, agency_responsible: '单元Q2B1' });
      expect(one!.lat).toBeCloseTo(y, 9);
      expect(one!.long).toBeCloseTo(x, 9);
      for (const field of ['requested_datetime', 'updated_datetime', 'expected_datetime']) expect(one![field]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/);
      expect(Math.abs(Date.parse(one!.requested_datetime as string) - Date.now())).toBeLessThan(60_000);

      // Contact data reached the case's reporter, and never comes back through Open311.
      const internal = (await t.request.get(`/api/incidents?source=api`).expect(200)).body.items.find((i: { caseNo: string }) => i.caseNo === id);
      expect((await t.request.get(`/api/incidents/${internal.id}/reporter`).expect(200)).body).toEqual({ name: '王小明', phone: '13812345678' });
      for (const format of ['json', 'xml']) {
        const text = (await t.request.get(`/open311/v2/requests.${format}?api_key=${key}`).expect(200)).text + (await t.request.get(`/open311/v2/requests/${id}.${format}?api_key=${key}`).expect(200)).text;
        for (const secret of ['13812345678', '王小明', '小明', 'wang@example.org', 'phone-1', 'first_name', 'phone', 'email']) expect(text, `${format}: ${secret}`).not.toContain(secret);
      }
    });

    it('answers in XML when asked, and locates by address_id or by an address_string of the register', async () => {
      const xml = await post({ api_key: key, service_code: '0102', address_id: '1' }, 'xml').expect(201);
      const [answer] = xmlList(xml, 'service_requests', 'request') as Record<string, string>[];
      expect(answer).toEqual({ service_request_id: expect.stringMatching(/^Q1A1-/), service_notice: '', account_id: '' });
      const byId = (await t.request.get(`/open311/v2/requests/${answer!.service_request_id}.json?api_key=${key}`).expect(200)).body[0];
      expect(byId).toMatchObject({ address_id: 1, address: '人民路 1号', description: '积存垃圾渣土' });
      const byText = (await post({ api_key: key, service_code: '0103', address_string: '人民路1号', description: 'x' }).expect(201)).body[0];
      expect((await t.request.get(`/open311/v2/requests/${byText.service_request_id}.json?api_key=${key}`).expect(200)).body[0]).toMatchObject({ address_id: 1, address: '人民路1号' });
    });

    it('accepts the same request again with an Idempotency-Key, answering the same id, and resolves the key as a token', async () => {
      const form = { api_key: key, service_code: '0103', lat: String(pointIn('Q1A2').y), long: String(pointIn('Q1A2').x), description: 'once' };
      const first = (await post(form).set('Idempotency-Key', 'client-42').expect(201)).body[0];
      const again = (await post(form).set('Idempotency-Key', 'client-42').expect(201)).body[0];
      expect(first).toMatchObject({ token: 'client-42' });
      expect(again.service_request_id).toBe(first.service_request_id);
      expect(await both('/open311/v2/tokens/client-42?api_key=' + key, 'service_requests', 'request')).toEqual([{ service_request_id: first.service_request_id, token: 'client-42' }]);
      expect(await both(`/open311/v2/tokens/${first.service_request_id}?api_key=${key}`, 'service_requests', 'request')).toEqual([{ service_request_id: first.service_request_id, token: first.service_request_id }]);
      // Tokens are per client: another key does not see this one.
      expect(await error('get', `/open311/v2/tokens/client-42?api_key=${scopedKey}`, 404)).toMatch(/^token_not_found/);
    });
  });

  describe('GET requests', () => {
    it('defaults to the last 90 days, most recent first', async () => {
      const all = await both(`/open311/v2/requests?api_key=${key}`, 'service_requests', 'request');
      const ids = all.map((r) => r.service_request_id);
      expect(ids).toContain(cases.d30);
      expect(ids).toContain(cases.created);
      expect(ids).not.toContain(cases.d120);
      const times = all.map((r) => Date.parse(r.requested_datetime as string));
      expect(times).toEqual([...times].sort((a, b) => b - a));
    });

    it('filters by start_date and end_date (W3C date-times), which may not span more than 90 days', async () => {
      const start = new Date(Date.now() - 130 * DAY).toISOString().replace(/\.\d+Z$/, 'Z');
      const end = new Date(Date.now() - 100 * DAY).toISOString().slice(0, 10);
      const old = await both(`/open311/v2/requests?api_key=${key}&start_date=${start}&end_date=${end}`, 'service_requests', 'request');
      expect(old.map((r) => r.service_request_id)).toEqual([cases.d120]);
      // start_date alone: 90 days from there.
      const fromStart = await both(`/open311/v2/requests?api_key=${key}&start_date=${start}`, 'service_requests', 'request');
      expect(fromStart.map((r) => r.service_request_id)).toEqual([cases.d120]);
      expect(await error('get', `/open311/v2/requests?api_key=${key}&start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z`, 400)).toMatch(/^date_range_too_long/);
      expect(await error('get', `/open311/v2/requests?api_key=${key}&start_date=2026-06-01&end_date=2026-05-01`, 400)).toMatch(/^invalid_date_range/);
      expect(await error('get', `/open311/v2/requests?api_key=${key}&start_date=yesterday`, 400)).toMatch(/start_date: "yesterday" is not a W3C date-time/);
    });

    it('filters by service_code and status; service_request_id (comma-separated) overrides every other filter', async () => {
      const codes = await both(`/open311/v2/requests?api_key=${key}&service_code=0201`, 'service_requests', 'request');
      expect(codes.map((r) => r.service_request_id)).toEqual([cases.d30]);

      // Reject the 30-day-old case: rejected is closed.
      const internal = (await t.request.get('/api/incidents?category=0201').expect(200)).body.items.find((i: { caseNo: string }) => i.caseNo === cases.d30);
      const row = WORKFLOWS[internal.route as keyof typeof WORKFLOWS].find((r) => r.action === 'reject')!;
      await t.request.post(`/api/incidents/${internal.id}/transitions`).send({ action: 'reject', actor: actorFor(row.by[0]!, internal), note: '重复上报' }).expect(200);
      const closed = await both(`/open311/v2/requests?api_key=${key}&status=closed`, 'service_requests', 'request');
      expect(closed).toEqual([expect.objectContaining({ service_request_id: cases.d30, status: 'closed', status_notes: '重复上报', expected_datetime: null })]);
      const open = await both(`/open311/v2/requests?api_key=${key}&status=open`, 'service_requests', 'request');
      expect(open.length).toBeGreaterThan(0);
      expect(open.every((r) => r.status === 'open')).toBe(true);
      expect((await both(`/open311/v2/requests?api_key=${key}&status=open,closed`, 'service_requests', 'request')).length).toBe(open.length + 1);

      const picked = await both(`/open311/v2/requests?api_key=${key}&service_request_id=${cases.d120},${cases.created}&status=closed&service_code=0505`, 'service_requests', 'request');
      expect(picked.map((r) => r.service_request_id).sort()).toEqual([cases.d120, cases.created].sort());
      expect(await error('get', `/open311/v2/requests?api_key=${key}&status=pending`, 400)).toMatch(/^invalid_request: status/);
      expect(await error('get', `/open311/v2/requests?api_key=${key}&service_code=9999`, 400)).toMatch(/^unknown_service_code/);
    });

    it('pages with page and page_size, at most 1,000 per page, and filters by updated_after/updated_before', async () => {
      const all = await both(`/open311/v2/requests?api_key=${key}`, 'service_requests', 'request');
      const pages = [];
      for (let page = 1; page <= all.length; page++) pages.push(...(await both(`/open311/v2/requests?api_key=${key}&page=${page}&page_size=1`, 'service_requests', 'request')));
      expect(pages).toEqual(all);
      expect(await both(`/open311/v2/requests?api_key=${key}&page=${all.length + 1}&page_size=1`, 'service_requests', 'request')).toEqual([]);
      expect(await error('get', `/open311/v2/requests?api_key=${key}&page_size=1001`, 400)).toMatch(/page_size/);

      const rejectedAt = Date.parse(all.find((r) => r.service_request_id === cases.d30)!.updated_datetime as string);
      const after = await both(`/open311/v2/requests?api_key=${key}&updated_after=${encodeURIComponent(new Date(rejectedAt - 1000).toISOString())}`, 'service_requests', 'request');
      expect(after.map((r) => r.service_request_id)).toContain(cases.d30);
      // updated_datetime is written to the second, so a row just after the instant shows that second.
      expect(after.every((r) => Date.parse(r.updated_datetime as string) >= rejectedAt - 1000)).toBe(true);
      const before = await both(`/open311/v2/requests?api_key=${key}&updated_before=${encodeURIComponent(new Date(rejectedAt - 1000).toISOString())}`, 'service_requests', 'request');
      expect(before.map((r) => r.service_request_id)).not.toContain(cases.d30);
      // Asking only for changes drops the default 90 days: the case reported 120 days ago was stored today.
      const changed = await both(`/open311/v2/requests?api_key=${key}&updated_after=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`, 'service_requests', 'request');
      expect(changed.map((r) => r.service_request_id)).toContain(cases.d120);
    });
  });

  describe('keys and scope', () => {
    it('limits a scoped key to its area: reports there, lists only its cases, 403 elsewhere', async () => {
      const inside = (await post({ api_key: scopedKey, service_code: '0101', lat: String(pointIn('Q1B1').y), long: String(pointIn('Q1B1').x) }).expect(201)).body[0];
      const listed = await both(`/open311/v2/requests?api_key=${scopedKey}`, 'service_requests', 'request');
      expect(listed.map((r) => r.service_request_id)).toContain(inside.service_request_id);
      expect(listed.every((r) => (r.service_request_id as string).startsWith('Q1'))).toBe(true);
      expect(await error('post', '/open311/v2/requests', 403, { api_key: scopedKey, service_code: '0101', lat: String(pointIn('Q2A1').y), long: String(pointIn('Q2A1').x) })).toMatch(/^outside_key_scope/);
      expect(await error('get', `/open311/v2/requests/${cases.created}?api_key=${scopedKey}`, 403)).toMatch(/^outside_key_scope/);
    });
  });

  describe('one transaction', () => {
    it("writes the request row in the case's own transaction: when that row fails, neither the case nor its log, number or row remains", async () => {
      const open311 = createOpen311(t.db.knex, createIncidents(t.db.knex, locatePoint));
      const counts = async () => {
        const { rows } = await t.db.knex.raw(
          `SELECT (SELECT count(*) FROM incidents)::int AS incidents, (SELECT count(*) FROM open311_requests)::int AS requests,
             (SELECT count(*) FROM incident_log)::int AS log, (SELECT coalesce(sum(last), 0) FROM incident_sequences)::int AS numbers`,
        );
        return rows[0];
      };
      const before = await counts();
      const { x, y } = pointIn('Q2A2');
      // The injected failure: a key id no row has, so the request row's foreign key fails after the case was inserted.
      const gone = { id: 2_000_000_000, client: 'revoked and purged', scopeCode: null };
      await expect(open311.create(gone, { service_code: '0101', lat: y, long: x, description: 'atomic', email: 'a@example.org' })).rejects.toMatchObject({ code: '23503' });
      expect(await counts()).toEqual(before);
      // The same request with a real key writes both rows.
      const real = await open311.authenticate(key);
      const { service_request_id } = await open311.create(real, { service_code: '0101', lat: y, long: x, description: 'atomic', email: 'a@example.org' });
      const { rows } = await t.db.knex.raw('SELECT r.email FROM open311_requests r JOIN incidents i ON i.id = r.incident_id WHERE i.case_no = ?', [service_request_id]);
      expect(rows).toEqual([{ email: 'a@example.org' }]);
    });
  });

  describe('errors', () => {
    const here = () => ({ lat: String(pointIn('Q1A1').y), long: String(pointIn('Q1A1').x) });

    it('403 for a missing or unknown api_key, before anything is read or stored', async () => {
      const before = (await t.request.get('/api/incidents').expect(200)).body.total;
      expect(await error('post', '/open311/v2/requests', 403, { service_code: '0101', ...here() })).toMatch(/^invalid_api_key: api_key is required/);
      expect(await error('post', '/open311/v2/requests', 403, { api_key: 'nope', service_code: '0101', ...here() })).toMatch(/^invalid_api_key: api_key is not a valid key/);
      expect(await error('get', '/open311/v2/requests', 403)).toMatch(/^invalid_api_key/);
      expect(await error('get', `/open311/v2/requests/${cases.created}?api_key=nope`, 403)).toMatch(/^invalid_api_key/);
      expect((await t.request.get('/api/incidents').expect(200)).body.total).toBe(before);
    });

    it('400 for a request the standard does not allow, naming the field, storing nothing', async () => {
      const before = (await t.request.get('/api/incidents').expect(200)).body.total;
      const bad: [Record<string, string>, RegExp][] = [
        [{ service_code: '9999', ...here() }, /^unknown_service_code/],
        [{ service_code: '0101' }, /^location_required/],
        [{ service_code: '0101', lat: here().lat }, /^incomplete_location.*long/],
        [{ service_code: '0101', lat: '95', long: '104' }, /lat: /],
        [{ service_code: '0101', lat: 'north', long: '104' }, /lat: expected a decimal number/],
        [{ service_code: '0101', lat: '20', long: '100' }, /^outside_territory/],
        [{ service_code: '0101', address_id: '999' }, /^unknown_address/],
        [{ service_code: '0101', address_string: '人民路 2号' }, /^address_ambiguous/],
        [{ service_code: '0101', address_string: '无此路 9号' }, /^address_not_found/],
        [{ service_code: '0101', ...here(), email: 'not-an-email' }, /email/],
        [{ service_code: '0101', ...here(), phone: 'call me' }, /phone/],
        [{ service_code: '0101', ...here(), media_url: 'javascript:alert(1)' }, /media_url/],
        [{ service_code: '0101', ...here(), 'attribute[size]': 'large' }, /attribute\[size\]/],
      ];
      for (const [form, message] of bad) expect(await error('post', '/open311/v2/requests', 400, { api_key: key, ...form }), JSON.stringify(form)).toMatch(message);
      expect((await t.request.get('/api/incidents').expect(200)).body.total).toBe(before);
    });

    it('404 for an unknown request, token or format (the last in XML, the format every client reads)', async () => {
      expect(await error('get', `/open311/v2/requests/Q1A1-20000101-0001?api_key=${key}`, 404)).toMatch(/^request_not_found/);
      expect(await error('get', `/open311/v2/tokens/unknown?api_key=${key}`, 404)).toMatch(/^token_not_found/);
      const yaml = await t.request.get('/open311/v2/services.yaml').expect(404);
      expect(xmlList(yaml, 'errors', 'error')).toEqual([{ code: '404', description: expect.stringMatching(/^unknown_format/) }]);
    });

    it('400 for an unknown query parameter, naming it', async () => {
      expect(await error('get', `/open311/v2/requests?api_key=${key}&colour=red`, 400)).toMatch(/colour/);
    });
  });
});
