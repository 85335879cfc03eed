import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import JSZip from 'jszip';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readXlsxRows } from '../formats/xlsx-reader';
import { readShapefileZip } from '../formats/shapefile';
import { fromWgs84, type CrsId } from '../geometry/crs/index';
import { engines } from '../test/db';
import { startTestApp, type TestApp } from '../test/app';
import { smallCity, smallSystem } from '../test/fixtures';

const fc = (features: unknown[]) => ({ type: 'FeatureCollection', features });

type Feature = { properties: Record<string, unknown>; geometry: { coordinates: number[][][][] } };

/** What must survive a round trip: codes, tree, names, people, attributes and geometry (to 1e-7°). */
function essence(features: Feature[]) {
  return features
    .map((f) => {
      const { system: _s, version: _v, updated_at: _u, geometry_issues: _g, ...props } = f.properties;
      return { props, coords: f.geometry.coordinates.flat(3).map((v) => Math.round(v * 1e7)) };
    })
    .sort((a, b) => String(a.props.code).localeCompare(String(b.props.code)));
}

async function binary(t: TestApp, url: string): Promise<Buffer> {
  const res = await t.request
    .get(url)
    .buffer(true)
    .parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    })
    .expect(200);
  return res.body as Buffer;
}

describe.each(engines())('export and re-import round trips on %s PostGIS', (engine) => {
  let t: TestApp;
  let original: Feature[];
  beforeAll(async () => {
    t = await startTestApp(engine);
    await t.request.post('/api/systems').send(smallSystem).expect(201);
    const city = smallCity();
    // a multipolygon with a hole, and Chinese text in every kind of field
    city.push({
      type: 'Feature',
      properties: {
        code: 'D02C',
        name: '桂溪社区（飞地）',
        level: 'community',
        parent: 'D02',
        type: '楼院型',
        people: [{ name: '欧阳娜娜', role: 'responsible', title: '专职网格员', phone: '13912345678' }],
        households: 215,
        note: '含学校、市场',
      },
      geometry: {
        type: 'MultiPolygon',
        coordinates: [
          [
            [[104.03, 30.6], [104.04, 30.6], [104.04, 30.61], [104.03, 30.61], [104.03, 30.6]],
            [[104.033, 30.603], [104.033, 30.606], [104.036, 30.606], [104.036, 30.603], [104.033, 30.603]],
          ],
          [[[104.05, 30.6], [104.06, 30.6], [104.06, 30.61], [104.05, 30.6]]],
        ],
      },
    });
    await t.request.post('/api/systems/test-gov/import').send(fc(city)).expect(200);
    original = (await t.request.get('/api/systems/test-gov/grids').expect(200)).body.features;
  });
  afterAll(async () => t?.close());

  it('GeoJSON: export, import into a new system, same grids and attributes', async () => {
    const exported = (await t.request.get('/api/systems/test-gov/export?format=geojson').expect(200)).body;
    expect(exported.system.key).toBe('test-gov');
    await t.request.post('/api/systems').send({ ...smallSystem, key: 'copy-geojson' }).expect(201);
    await t.request.post('/api/systems/copy-geojson/import').send(exported).expect(200);
    const copy = (await t.request.get('/api/systems/copy-geojson/grids').expect(200)).body.features;
    expect(essence(copy)).toEqual(essence(original));
  });

  it.each(['utf-8', 'gbk'] as const)('Shapefile (%s DBF): export, import into a new system, same grids and attributes', async (encoding) => {
    const zip = await binary(t, `/api/systems/test-gov/export?format=shapefile&encoding=${encoding}`);
    const read = await readShapefileZip(zip);
    expect(read.encoding.toLowerCase()).toContain(encoding === 'gbk' ? 'gbk' : 'utf');
    const key = `copy-shp-${encoding}`;
    await t.request.post('/api/systems').send({ ...smallSystem, key }).expect(201);
    const res = await t.request.post(`/api/systems/${key}/import`).set('content-type', 'application/zip').send(zip).expect(200);
    expect(res.body.inserted).toBe(original.length);
    const copy = (await t.request.get(`/api/systems/${key}/grids`).expect(200)).body.features;
    expect(essence(copy)).toEqual(essence(original));
  });

  it.each(['EPSG:4523', 'GCJ-02', 'BD-09'] as const)('imports GeoJSON declared in %s and stores WGS84 within a metre', async (crs: CrsId) => {
    const convert = fromWgs84(crs);
    const projected = smallCity().map((f) => ({
      ...f,
      geometry: { type: 'Polygon', coordinates: (f.geometry as { coordinates: number[][][] }).coordinates.map((ring) => ring.map(([x, y]) => convert(x!, y!))) },
    }));
    const key = `crs-${crs.toLowerCase().replace(/[^a-z0-9]/g, '')}`;
    await t.request.post('/api/systems').send({ ...smallSystem, key }).expect(201);
    const res = await t.request.post(`/api/systems/${key}/import?crs=${crs}`).send(fc(projected)).expect(200);
    expect(res.body.crs).toBe(crs);
    const copy = (await t.request.get(`/api/systems/${key}/grids`).expect(200)).body.features as Feature[];
    const truth = new Map(smallCity().map((f) => [f.properties!.code, (f.geometry as { coordinates: number[][][] }).coordinates.flat()]));
    for (const f of copy) {
      const expected = truth.get(f.properties.code)!;
      const got = f.geometry.coordinates.flat(2);
      expected.forEach(([x, y], i) => {
        // 1e-5° is about a metre here
        expect(Math.abs(got[i]![0]! - x!)).toBeLessThan(1e-5);
        expect(Math.abs(got[i]![1]! - y!)).toBeLessThan(1e-5);
      });
    }
    const unknown = await t.request.post(`/api/systems/${key}/import?crs=EPSG:3857`).send(fc(projected)).expect(400);
    expect(unknown.body.error.code).toBe('unknown_crs');
  });

  it('refuses a zip without a shapefile with a clear code', async () => {
    const notShp = Buffer.from('504b0506000000000000000000000000000000000000', 'hex');
    const res = await t.request.post('/api/systems/test-gov/import').set('content-type', 'application/zip').send(notShp).expect(400);
    expect(res.body.error.code).toMatch(/^(zip_invalid|shapefile_missing_shp)$/);
  });

  it('exports the responsibility register as CSV, Chinese by default and English on request', async () => {
    const zh = await binary(t, '/api/systems/test-gov/export?format=csv');
    const text = zh.toString('utf8');
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const lines = text.slice(1).trim().split(/\r?\n/);
    expect(lines[0]).toBe('网格编码,网格名称,层级,上级编码,网格类型,责任人,职务,联系电话,协管员,起始日期,终止日期,地址数,楼栋数,户数,人口');
    expect(lines).toContain('D01A,网格D01A,社区,D01,,张伟,网格长,13800000001,李娜,,,0,0,0,0');
    expect(lines).toHaveLength(original.length + 1);
    const en = (await binary(t, '/api/systems/test-gov/export?format=csv&lang=en')).toString('utf8');
    expect(en.slice(1).split(/\r?\n/)[0]).toBe('code,name,level,parent,type,responsible,title,phone,helpers,valid_from,valid_to,addresses,buildings,households,population');
    expect(iconv.decode(zh, 'utf8')).toContain('欧阳娜娜');
  });

  it('exports the register as XLSX with codes kept as text, readable by the streaming reader', async () => {
    const xlsx = await binary(t, '/api/systems/test-gov/export?format=xlsx');
    expect(xlsx.subarray(0, 2).toString()).toBe('PK');
    const file = path.join(os.tmpdir(), `register-${process.pid}-${engine}.xlsx`);
    fs.writeFileSync(file, xlsx);
    const rows: string[][] = [];
    for await (const { values } of readXlsxRows(file)) rows.push(values);
    fs.rmSync(file);
    expect(rows[0]).toEqual(['网格编码', '网格名称', '层级', '上级编码', '网格类型', '责任人', '职务', '联系电话', '协管员', '起始日期', '终止日期', '地址数', '楼栋数', '户数', '人口']);
    expect(rows).toHaveLength(original.length + 1);
    const d01a = rows.find((r) => r[0] === 'D01A')!;
    expect(d01a.slice(0, 9)).toEqual(['D01A', '网格D01A', '社区', 'D01', '', '张伟', '网格长', '13800000001', '李娜']);
    expect(d01a.slice(-4).map(Number)).toEqual([0, 0, 0, 0]);
    const zip = await JSZip.loadAsync(xlsx);
    const sheet = await zip.file('xl/worksheets/sheet1.xml')!.async('string');
    // long digit strings (phones, codes) are text cells, so Excel does not round them
    expect(sheet).toMatch(/t="inlineStr"><is><t xml:space="preserve">13800000001<\/t>/);
    expect(sheet).toMatch(/<v>0<\/v>/);
  });
});
