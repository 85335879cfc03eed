import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { cityOrigin, gridFeature, rect, smallSystem } from '../test/fixtures';

/**
 * Boards, responsibility maps and the staffing report over HTTP on a small system: district D → streets
 * D01 (west), D02 (east) → two communities each. PDF output is switched off here (CHROMIUM_PATH=off) to
 * show its 503; the real PDFs are rendered in pdf.test.ts.
 */
const { x: X0, y: Y0, d: D } = cityOrigin;
const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });

const city = [
  gridFeature('D', 'district', null, rect(X0, Y0, X0 + 2 * D, Y0 + 2 * D), { hotline: '12345' }),
  gridFeature('D01', 'street', 'D', rect(X0, Y0, X0 + D, Y0 + 2 * D), { 服务热线: '028-87654321' }),
  gridFeature('D02', 'street', 'D', rect(X0 + D, Y0, X0 + 2 * D, Y0 + 2 * D)),
  gridFeature('D01A', 'community', 'D01', rect(X0, Y0, X0 + D, Y0 + D), {
    people: [
      { name: '张伟', role: 'responsible', title: '网格长', phone: '13800000001' },
      { name: '李娜', role: 'helper', title: '专职网格员', phone: '13900000002' },
    ],
    党员: 12,
    elderly_alone: 3,
    key_persons: 2,
  }),
  gridFeature('D01B', 'community', 'D01', rect(X0, Y0 + D, X0 + D, Y0 + 2 * D), {
    people: [
      { name: '王芳', role: 'responsible', title: '网格长' },
      { name: '刘洋', role: 'responsible', title: '副网格长' },
    ],
  }),
  gridFeature('D02A', 'community', 'D02', rect(X0 + D, Y0, X0 + 2 * D, Y0 + D)),
  gridFeature('D02B', 'community', 'D02', rect(X0 + D, Y0 + D, X0 + 2 * D, Y0 + 2 * D)),
];

/**
 * Three addresses in D01A and a business 100 m west of it, placed there by distance (就近划入): 8
 * households, 17 people in all; one address in D02B.
 */
const addresses = [
  [X0 + 0.2 * D, Y0 + 0.2 * D, 1, 2],
  [X0 + 0.5 * D, Y0 + 0.5 * D, 2, 5],
  [X0 + 0.7 * D, Y0 + 0.3 * D, 3, 8],
  [X0 + 1.5 * D, Y0 + 1.5 * D, 4, 9],
  [X0 - 0.001, Y0 + 0.5 * D, 2, 2],
].map(([lon, lat, households, population], i) => ({
  type: 'Feature',
  properties: { external_id: `B${i}`, kind: i === 4 ? 'business' : 'residential', door: `${i + 1}号`, street: '测试路', building: `${i + 1}栋`, households, population },
  geometry: { type: 'Point', coordinates: [lon, lat] },
}));

describe.each(engines())('boards over HTTP on %s PostGIS', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine, { CHROMIUM_PATH: 'off' });
    await t.request.post('/api/systems').send(smallSystem).expect(201);
    await t.request.post(`/api/systems/${smallSystem.key}/import`).send(fc(city)).expect(200);
    await t.request.post('/api/addresses/import').set('content-type', 'application/geo+json').send(fc(addresses)).expect(200);
    // Two open cases in D01A, one reported a month ago and long past its deadline.
    const inD01A = { x: X0 + 0.3 * D, y: Y0 + 0.6 * D };
    await t.services.incidents.create({ category: '0101', point: inD01A, source: 'patrol', description: '垃圾堆放' });
    await t.services.incidents.create({ category: '0101', point: inD01A, source: 'resident', description: '井盖缺失' }, { at: new Date(Date.now() - 30 * 86_400_000) });
  });
  afterAll(async () => t?.close());

  it('shows a grid public board with published fields only', async () => {
    const res = await t.request.get('/api/boards/test-gov/D01A').set('host', 'grid.example.org').expect(200);
    expect(res.type).toBe('text/html');
    const html = res.text;
    for (const text of ['网格公示牌', '网格D01A', '社区', '网格D › 网格D01', '张伟', '网格长', '138****0001', '李娜', '139****0002', '服务热线', '028-87654321']) {
      expect(html).toContain(text);
    }
    // Counts from the address statistics, special groups from attributes; key persons are never shown.
    expect(html).toMatch(/<b>8<\/b><span>户数<\/span>/);
    expect(html).toMatch(/<b>17<\/b><span>人口<\/span>/);
    expect(html).toMatch(/<b>4<\/b><span>楼栋数<\/span>/);
    expect(html).toMatch(/<b>12<\/b><span>党员<\/span>/);
    expect(html).toMatch(/<b>3<\/b><span>独居老人<\/span>/);
    // Live case counts of the grid, as the seed platforms' grid boards show them.
    expect(html).toMatch(/<b>2<\/b><span>在办事件<\/span>/);
    expect(html).toMatch(/<b>1<\/b><span>超期事件<\/span>/);
    expect(html).toMatch(/<b>0<\/b><span>已办结<\/span>/);
    expect(html).not.toContain('13800000001');
    expect(html).not.toContain('key_persons');
    // The QR code and its link to the report page of this grid.
    expect(html).toContain('http://grid.example.org/report?system=test-gov&amp;grid=D01A');
    expect(html.match(/<svg/g)!.length).toBe(2);
    // Self-contained: nothing for the browser to fetch.
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(html).toContain('@page { size: A4 portrait');
    // The grid and its three neighbours at the same level, drawn from geometry.
    expect(html.match(/fill="#e4e4e0" stroke/g)!.length).toBe(3);
  });

  it('prints the board in English with ?lang=en', async () => {
    const html = (await t.request.get('/api/boards/test-gov/D01A?lang=en').expect(200)).text;
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Grid public board');
    expect(html).toContain('Party members');
  });

  it('names the bad input of a board request', async () => {
    expect((await t.request.get('/api/boards/test-gov/NOPE').expect(404)).body.error.code).toBe('grid_not_found');
    expect((await t.request.get('/api/boards/nope/D01A').expect(404)).body.error.code).toBe('system_not_found');
    const bad = (await t.request.get('/api/boards/test-gov/D01A?format=png&size=a4').expect(400)).body.error;
    expect(bad.code).toBe('invalid_request');
    expect(bad.details.map((d: { field: string }) => d.field).sort()).toEqual(['', 'format']);
    expect(bad.message).toContain('size');
  });

  it('answers 503 with a stable code when no Chromium is configured for PDF', async () => {
    const res = await t.request.get('/api/boards/test-gov/D01A?format=pdf').expect(503);
    expect(res.body.error.code).toBe('pdf_renderer_unavailable');
    expect(res.body.error.message).toContain('CHROMIUM_PATH');
    expect((await t.request.get('/api/boards/test-gov/D01/responsibility?format=pdf').expect(503)).body.error.code).toBe('pdf_renderer_unavailable');
  });

  it('draws the responsibility map of a street with a row per grid', async () => {
    const html = (await t.request.get('/api/boards/test-gov/D01/responsibility').expect(200)).text;
    expect(html).toContain('网格D01网格责任人分布图及明细表');
    expect(html).toContain('@page { size: A3 landscape');
    const rows = [...html.matchAll(/<tr><td class="n">(\d+)<\/td><td>([^<]+)<\/td>/g)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual([
      ['1', 'D01A'],
      ['2', 'D01B'],
    ]);
    expect(html).toContain('<th>所属街道</th>');
    expect(html).toContain('<td>张伟</td><td>网格长</td><td>138****0001</td><td>李娜</td><td class="n">8</td><td class="n">17</td><td class="n">12</td><td class="n">3</td>');
    expect(html).toContain('<td>王芳、刘洋</td>');
    // Open and overdue cases close each row: D01A has both, D01B none.
    expect(html).toContain('<th>在办事件</th><th>超期事件</th></tr>');
    expect(html).toMatch(/D01A<\/td>.*?<td class="n">2<\/td><td class="n">1<\/td><\/tr>/);
    expect(html).toMatch(/D01B<\/td>.*?<td class="n">0<\/td><td class="n">0<\/td><\/tr>/);
    expect(html).not.toContain('13800000001');
    // Numbered shapes on the map, one per row.
    expect(html).toMatch(/font-weight="bold"[^>]*>1<\/text>/);
    expect(html).toMatch(/font-weight="bold"[^>]*>2<\/text>/);
  });

  it('lists every grid of a district at the deepest level, or at the level asked for', async () => {
    const html = (await t.request.get('/api/boards/test-gov/D/responsibility?lang=en').expect(200)).text;
    expect([...html.matchAll(/<tr><td class="n">\d+<\/td><td>([^<]+)<\/td>/g)].map((m) => m[1])).toEqual(['D01A', 'D01B', 'D02A', 'D02B']);
    const streets = (await t.request.get('/api/boards/test-gov/D/responsibility?level=street').expect(200)).text;
    expect([...streets.matchAll(/<tr><td class="n">\d+<\/td><td>([^<]+)<\/td>/g)].map((m) => m[1])).toEqual(['D01', 'D02']);
    expect((await t.request.get('/api/boards/test-gov/D01A/responsibility').expect(422)).body.error.code).toBe('no_child_grids');
    expect((await t.request.get('/api/boards/test-gov/D01/responsibility?level=grid').expect(400)).body.error.code).toBe('unknown_level');
    expect((await t.request.get('/api/boards/test-gov/D01/responsibility?level=district').expect(422)).body.error.code).toBe('no_grids_at_level');
  });

  it('exports the detail table as XLSX with codes as text and counts as numbers', async () => {
    const res = await t.request.get('/api/boards/test-gov/D01/responsibility?format=xlsx').buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    }).expect(200);
    expect(res.headers['content-disposition']).toContain("filename*=UTF-8''D01-responsibility.xlsx");
    const zip = await JSZip.loadAsync(res.body as Buffer);
    const sheet = await zip.file('xl/worksheets/sheet1.xml')!.async('string');
    expect(sheet).toContain('<t xml:space="preserve">网格编码</t>');
    expect(sheet).toContain('<c r="B2" t="inlineStr"><is><t xml:space="preserve">D01A</t></is></c>');
    expect(sheet).toContain('<c r="I2"><v>8</v></c>');
    expect(sheet).toContain('<c r="J2"><v>17</v></c>');
    expect(sheet).toContain('138****0001');
    expect(sheet).not.toContain('13800000001');
  });

  it('reports grids with no responsible person or more than one', async () => {
    const all = (await t.request.get('/api/systems/test-gov/staffing').expect(200)).body;
    expect(all.checked).toBe(7);
    expect(all.missing.map((g: { code: string }) => g.code)).toEqual(['D', 'D01', 'D02', 'D02A', 'D02B']);
    expect(all.multiple).toEqual([{ code: 'D01B', name: '网格D01B', level: 'community', parent: 'D01', responsible: ['王芳', '刘洋'] }]);
    const under = (await t.request.get('/api/systems/test-gov/staffing?under=D02&level=community').expect(200)).body;
    expect(under).toMatchObject({ under: 'D02', level: 'community', checked: 2, multiple: [] });
    expect(under.missing.map((g: { code: string }) => g.code)).toEqual(['D02A', 'D02B']);
    // A responsible person added with the grid PATCH clears the grid from the report.
    await t.request.patch('/api/systems/test-gov/grids/D02A').send({ properties: { people: [{ name: '赵磊', role: 'responsible', title: '网格长' }] } }).expect(200);
    const after = (await t.request.get('/api/systems/test-gov/staffing?under=D02&level=community').expect(200)).body;
    expect(after.missing.map((g: { code: string }) => g.code)).toEqual(['D02B']);
    expect((await t.request.get('/api/systems/test-gov/staffing?level=grid').expect(400)).body.error.code).toBe('unknown_level');
    expect((await t.request.get('/api/systems/test-gov/staffing?under=NOPE').expect(404)).body.error.code).toBe('grid_not_found');
  });

  it('counts a street or district board over its whole subtree', async () => {
    expect((await t.request.get('/api/boards/test-gov/D01').expect(200)).text).toMatch(/<b>8<\/b><span>户数<\/span>/);
    expect((await t.request.get('/api/boards/test-gov/D').expect(200)).text).toMatch(/<b>12<\/b><span>户数<\/span>/);
    const streets = (await t.request.get('/api/boards/test-gov/D/responsibility?level=street').expect(200)).text;
    expect(streets).toContain('<td class="n">8</td><td class="n">17</td>');
    expect(streets).toContain('<td class="n">4</td><td class="n">9</td>');
  });

  it('recounts after the addresses change', async () => {
    const before = (await t.request.get('/api/boards/test-gov/D02B').expect(200)).text;
    expect(before).toMatch(/<b>4<\/b><span>户数<\/span>/);
    const more = [{ ...addresses[3], properties: { ...addresses[3]!.properties, external_id: 'B9', door: '9号', households: 5 } }];
    await t.request.post('/api/addresses/import').set('content-type', 'application/geo+json').send(fc(more)).expect(200);
    const after = (await t.request.get('/api/boards/test-gov/D02B').expect(200)).text;
    expect(after).toMatch(/<b>9<\/b><span>户数<\/span>/);
  });
});
