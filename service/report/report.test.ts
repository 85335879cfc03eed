import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { governanceGrids, governanceSystem } from '../incidents/testing';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { ReportLimit } from './limit';

const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });
const KEY = governanceSystem.key;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

async function residentCases(t: TestApp): Promise<{ case_no: string; source: string; category: string; reporter_name: string | null; reporter_phone: string | null }[]> {
  return t.db.knex('incidents').where({ source: 'resident' }).orderBy('id').select('case_no', 'source', 'category', 'reporter_name', 'reporter_phone');
}

describe.each(engines())('the resident report page on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine, { CHROMIUM_PATH: 'off' });
    await t.request.post('/api/systems').send(governanceSystem).expect(201);
    await t.request.post(`/api/systems/${KEY}/import`).send(fc(governanceGrids())).expect(200);
  });
  afterAll(async () => t?.close());

  it('is where the QR code of a grid board leads: a form naming the grid, its chain and the classification', async () => {
    const board = await t.request.get(`/api/boards/${KEY}/Q2B1`).expect(200);
    const link = /\/report\?system=[^"<\s]+/.exec(board.text)![0].replace(/&amp;/g, '&');
    expect(link).toBe(`/report?system=${KEY}&grid=Q2B1`);
    const page = await t.request.get(link).expect(200).expect('content-type', /text\/html/);
    expect(page.text).toContain('事件上报');
    expect(page.text).toContain('单元Q2B1');
    expect(page.text).toContain('单元Q2B · 单元Q2 · 单元Q'); // the chain, nearest first
    expect(page.text).toMatch(/<option value="0101">[^<]+<\/option>/);
    expect(page.text).toContain(`action="/report?system=${KEY}&amp;grid=Q2B1"`);
    const en = await t.request.get(`${link}&lang=en`).expect(200);
    expect(en.text).toContain('Report an incident');
  });

  it('creates a resident case in that grid and answers with its case number', async () => {
    const res = await t.request
      .post(`/report?system=${KEY}&grid=Q2B1`)
      .type('form')
      .send(form({ category: '0101', description: '小区东门垃圾堆放三天无人清理', name: '王女士', phone: '13812345678' }))
      .expect(201);
    const caseNo = /id="case-no">([^<]+)</.exec(res.text)![1]!;
    const [stored] = await residentCases(t);
    expect(stored).toMatchObject({ case_no: caseNo, category: '0101', source: 'resident', reporter_name: '王女士', reporter_phone: '13812345678' });
    const view = (await t.request.get('/api/incidents').query({ source: 'resident' }).expect(200)).body;
    const found = view.items.find((i: { caseNo: string }) => i.caseNo === caseNo);
    expect(found.unit.code).toBe('Q2B1');
    expect(found.chain.map((u: { code: string }) => u.code)).toEqual(['Q2B1', 'Q2B', 'Q2', 'Q']);
    expect(res.text).not.toContain('13812345678'); // the receipt does not echo personal data
  });

  it('answers a wrong entry with the form again, filled in, with the coded reason, and stores nothing', async () => {
    const before = (await residentCases(t)).length;
    const unknown = await t.request.post(`/report?system=${KEY}&grid=Q2B1`).type('form').send(form({ category: '9999', description: '路灯不亮' })).expect(422);
    expect(unknown.text).toContain('data-code="unknown_category"');
    expect(unknown.text).toContain('路灯不亮</textarea>');
    const empty = await t.request.post(`/report?system=${KEY}&grid=Q2B1`).type('form').send(form({ category: '0101', description: '   ', phone: 'call me' })).expect(400);
    expect(empty.text).toContain('data-code="invalid_report"');
    expect(empty.text).toMatch(/description: .*phone: /);
    expect((await residentCases(t)).length).toBe(before);
  });

  it('speaks JSON to apps, and a grid that does not exist is a 404', async () => {
    const res = await t.request.post(`/report?system=${KEY}&grid=Q1A2`).set('accept', 'application/json').send({ category: '0101', description: '井盖缺失' }).expect(201);
    expect(res.body).toMatchObject({ grid: { code: 'Q1A2' }, caseNo: expect.any(String) });
    const bad = await t.request.post(`/report?system=${KEY}&grid=Q1A2`).set('accept', 'application/json').send({ category: '0101', description: '井盖缺失', email: 'x@y' }).expect(400);
    expect(bad.body.error.message).toContain('email');
    const missing = await t.request.get(`/report?system=${KEY}&grid=NOPE`).expect(404);
    expect(missing.body.error.code).toBe('grid_not_found');
  });

  it('limits one address to five reports in ten minutes with a 429 and Retry-After', async () => {
    // Five posts came from this address above, the refused entries included (a script sending rubbish is braked too).
    const before = (await residentCases(t)).length;
    const refused = await t.request.post(`/report?system=${KEY}&grid=Q1A1`).set('accept', 'application/json').send({ category: '0101', description: '第六次' }).expect(429);
    expect(refused.body.error.code).toBe('too_many_reports');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await residentCases(t)).length).toBe(before);
  });
});

describe('ReportLimit', () => {
  it('counts per client in a sliding window', () => {
    const limit = new ReportLimit(2, 60_000);
    expect(limit.take('a', 0)).toBe(0);
    expect(limit.take('a', 1_000)).toBe(0);
    expect(limit.take('a', 2_000)).toBe(58);
    expect(limit.take('b', 2_000)).toBe(0);
    expect(limit.take('a', 60_001)).toBe(0); // the first report has left the window
  });
});
