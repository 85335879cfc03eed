import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import JSZip from 'jszip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BANK, GOV, seedAccessFixture } from '../access/testing';
import { readXlsxRows } from '../formats/xlsx-reader';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';

/** The rows of the first sheet, and the number of rows of the second, of an XLSX answer. */
async function readBack(file: Buffer): Promise<{ first: string[][]; second: number }> {
  const where = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'overlay-xlsx-')), 'report.xlsx');
  fs.writeFileSync(where, file);
  const first: string[][] = [];
  for await (const { values } of readXlsxRows(where)) first.push(values);
  fs.rmSync(path.dirname(where), { recursive: true, force: true });
  const sheet2 = await (await JSZip.loadAsync(file)).file('xl/worksheets/sheet2.xml')!.async('string');
  return { first, second: sheet2.match(/<row /g)?.length ?? 0 };
}

const xlsx = (res: { on: (e: string, f: (c?: Buffer) => void) => void }, done: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c) => chunks.push(c!));
  res.on('end', () => done(null, Buffer.concat(chunks)));
};

describe.each(engines())('stored overlays by area scope, and their XLSX tables, on %s PostGIS', (engine) => {
  let t: TestApp;
  let tokens: Record<string, string>;
  let bankOverlay: number;
  let govOverlay: number;
  const as = (who: string) => ({ Authorization: `Bearer ${tokens[who]}` });
  const visible = async (who: string) => ((await t.request.get('/tiles').set(as(who)).expect(200)).body.tiles as { id: string }[]).map((s) => s.id).filter((id) => id.startsWith('overlays.'));

  beforeAll(async () => {
    t = await startTestApp(engine, {}, { access: 'real' });
    tokens = await seedAccessFixture(t);
    bankOverlay = (await t.request.post('/api/overlays/stored').set(as('admin')).send({ territory: { system: GOV, code: 'D' }, systems: [BANK] }).expect(201)).body.id;
    // The district's grids over its communities: no bank takes part.
    govOverlay = (await t.request.post('/api/overlays/stored').set(as('admin')).send({ territory: { system: GOV, code: 'D' }, systems: [{ key: GOV, level: 'grid' }] }).expect(201)).body.id;
  });
  afterAll(async () => {
    await t?.services.storedOverlays.settled();
    await t?.close();
  });

  it('shows the faces layer to those who see its territory and every bank in it whole', async () => {
    expect((await visible('auditor')).sort()).toEqual([`overlays.${bankOverlay}`, `overlays.${govOverlay}`].sort());
    // The district sees its own territory but not the bank's internal grids.
    expect(await visible('district')).toEqual([`overlays.${govOverlay}`]);
    expect((await t.request.get(`/tiles/overlays.${bankOverlay}.json`).set(as('district')).expect(404)).body.error.code).toBe('unknown_layer');
    expect((await t.request.get(`/tiles/overlays.${govOverlay}.json`).set(as('district')).expect(200)).body.vector_layers[0].id).toBe('overlay_faces');
    // A community (one unit of the district) and the bank (no governance ground) see neither; a worker lacks overlays:read.
    for (const who of ['street', 'bank', 'worker']) expect(await visible(who), who).toEqual([]);
    expect((await t.request.get(`/tiles/overlays.${govOverlay}/14/0/0.mvt`).set(as('street')).expect(404)).body.error.code).toBe('unknown_layer');
  });

  it("cuts a stored report to the caller's units and refuses what lies outside", async () => {
    const whole = (await t.request.get(`/api/overlays/stored/${govOverlay}`).set(as('auditor')).expect(200)).body;
    expect(whole.units.map((u: { code: string }) => u.code)).toEqual(['C1', 'C2']);
    const street = (await t.request.get(`/api/overlays/stored/${govOverlay}`).set(as('street')).expect(200)).body;
    expect(street.units.map((u: { code: string }) => u.code)).toEqual(['C1']);
    expect(street.faces.every((f: { unit: string }) => f.unit === 'C1')).toBe(true);
    expect((await t.request.get(`/api/overlays/stored/${bankOverlay}`).set(as('street')).expect(403)).body.error.code).toBe('out_of_scope');
    expect((await t.request.get('/api/overlays/stored').set(as('street')).expect(200)).body.overlays.map((o: { id: number }) => o.id)).toEqual([govOverlay]);
    // Storing is overlays:write over every system read whole: the bank holds the permission but not the district's ground.
    expect((await t.request.post('/api/overlays/stored').set(as('street')).send({ territory: { system: GOV, code: 'D' }, systems: [BANK] }).expect(403)).body.error.code).toBeTruthy();
    expect((await t.request.post('/api/overlays/stored').set(as('bank')).send({ territory: { system: GOV, code: 'D' }, systems: [BANK] }).expect(403)).body.error.code).toBe('out_of_scope');
  });

  it("exports the regulator's table per unit and the table per system as XLSX, in Chinese or English, cut to scope", async () => {
    const whole = await t.request.get(`/api/overlays/stored/${bankOverlay}?format=xlsx`).set(as('auditor')).buffer(true).parse(xlsx).expect(200);
    expect(whole.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const zh = await readBack(whole.body as Buffer);
    expect(zh.first[0]!.slice(0, 5)).toEqual(['编码', '名称', '类型', '城乡', '面积(m²)']);
    expect(zh.first.slice(1).map((r) => r[0])).toEqual(['C1', 'C2']);
    const report = (await t.request.get(`/api/overlays/stored/${bankOverlay}`).set(as('auditor')).expect(200)).body;
    // The bank's grid B1 covers all of both communities: share 1 each, nothing uncovered.
    expect(zh.first.slice(1).map((r) => Number(r[6]))).toEqual(report.units.map((u: { shares: Record<string, number> }) => u.shares[BANK]));
    expect(zh.first.slice(1).map((r) => Number(r[6]))).toEqual([1, 1]);
    expect(zh.second).toBe(1 + report.table.length);

    const en = await readBack((await t.request.get(`/api/overlays/stored/${govOverlay}?format=xlsx&lang=en`).set(as('street')).buffer(true).parse(xlsx).expect(200)).body as Buffer);
    expect(en.first[0]!.slice(0, 2)).toEqual(['code', 'name']);
    expect(en.first.slice(1).map((r) => r[0])).toEqual(['C1']);

    const adHoc = await t.request.post('/api/overlays/report?format=xlsx').set(as('auditor')).send({ territory: { system: GOV, code: 'D' }, systems: [BANK] }).buffer(true).parse(xlsx).expect(200);
    expect((await readBack(adHoc.body as Buffer)).first).toEqual(zh.first);
  });
});
