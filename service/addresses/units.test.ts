import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GridIndex, zOrder, type IndexGrid } from './grid-index';
import { readGeoJson } from '../formats/address-geojson';
import { parseAddressRecord, type AddressInput, type RowError } from './rows';
import { BOUNDARY, INTERIOR, OUTSIDE, ShapeArena, bboxOf, distanceToShape, locatePoint, shapeCoordinates, shapeFromGeoJson, shapeFromWkb, shapesFromWkbs, vertexCount } from './shape';
import { readXlsxRows } from '../formats/xlsx-reader';
import { registerCsv } from '../grids/export';
import type { Grid, GridSystem } from '../kernel/types';

const square = (x0: number, y0: number, x1: number, y1: number) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
const polygon = (...rings: number[][][]) => shapeFromGeoJson({ type: 'Polygon', coordinates: rings });
const grid = (code: string, order: number, ring: number[][], leaf = true): IndexGrid => ({ code, order, leaf, shape: polygon(ring) });

describe('point in polygon', () => {
  it('tells interior, boundary and outside, holes and parts included', () => {
    const withHole = polygon(square(0, 0, 4, 4), square(1, 1, 2, 2));
    const cases: [number, number, number][] = [
      [3, 3, INTERIOR],
      [1.5, 1.5, OUTSIDE], // in the hole
      [1, 1.5, BOUNDARY], // on the hole's edge
      [0, 2, BOUNDARY],
      [4, 4, BOUNDARY], // a vertex
      [2, 0, BOUNDARY], // on a horizontal edge
      [5, 2, OUTSIDE],
      [-1e-12, 2, OUTSIDE],
    ];
    for (const [x, y, where] of cases) expect(locatePoint(withHole, x, y), `${x},${y}`).toBe(where);
    const parts = shapeFromGeoJson({ type: 'MultiPolygon', coordinates: [[square(0, 0, 1, 1)], [square(5, 5, 6, 6)]] });
    expect([locatePoint(parts, 0.5, 0.5), locatePoint(parts, 5.5, 5.5), locatePoint(parts, 3, 3)]).toEqual([INTERIOR, INTERIOR, OUTSIDE]);
  });

  it('decides points on oblique edges exactly', () => {
    const triangle = polygon([[0, 0], [2, 1], [0, 2], [0, 0]]);
    expect(locatePoint(triangle, 1, 0.5)).toBe(BOUNDARY);
    // One unit in the last place above the edge is inside, below it outside.
    expect(locatePoint(triangle, 1, 0.5 + Number.EPSILON / 2)).toBe(INTERIOR);
    expect(locatePoint(triangle, 1, 0.5 - Number.EPSILON / 4)).toBe(OUTSIDE);
    // Decimal coordinates that lie on the edge only in decimal: decided by the exact binary values.
    const a = [116.3, 39.9];
    const b = [116.7, 40.3];
    const thin = polygon([a, b, [116.3, 40.3], a]);
    const mid = [(a[0]! + b[0]!) / 2, (a[1]! + b[1]!) / 2] as const;
    expect([INTERIOR, BOUNDARY, OUTSIDE]).toContain(locatePoint(thin, mid[0], mid[1]));
  });

  it('reads WKB and EWKB, either byte order, like GeoJSON', () => {
    const ring = square(1, 2, 3, 4);
    const wkb = (little: boolean, srid: boolean) => {
      const b = Buffer.alloc(1 + 4 + (srid ? 4 : 0) + 4 + 4 + 4 + ring.length * 16);
      let at = 0;
      b.writeUInt8(little ? 1 : 0, at++);
      const u32 = (v: number) => ((little ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at)), (at += 4));
      const f64 = (v: number) => ((little ? b.writeDoubleLE(v, at) : b.writeDoubleBE(v, at)), (at += 8));
      u32(srid ? 0x20000006 : 6);
      if (srid) u32(4326);
      u32(1);
      // The polygon inside a MultiPolygon carries its own header (here always little-endian).
      const inner = Buffer.alloc(1 + 4 + 4 + 4 + ring.length * 16);
      let j = 0;
      inner.writeUInt8(1, j++);
      inner.writeUInt32LE(3, j);
      inner.writeUInt32LE(1, (j += 4));
      inner.writeUInt32LE(ring.length, (j += 4));
      j += 4;
      for (const [x, y] of ring) {
        inner.writeDoubleLE(x!, j);
        inner.writeDoubleLE(y!, j + 8);
        j += 16;
      }
      void f64;
      return Buffer.concat([b.subarray(0, at), inner]);
    };
    const expected = polygon(ring);
    for (const little of [true, false]) for (const srid of [true, false]) expect(shapeFromWkb(wkb(little, srid))).toEqual(expected);
    // End to end, as a page of grids comes from PostGIS (string_agg), into shared arrays (a small arena:
    // the shapes span several of its arrays).
    const arena = new ShapeArena(8);
    const page = shapesFromWkbs(Buffer.concat([wkb(true, true), wkb(false, false), wkb(true, false)]), arena);
    expect(page.map(shapeCoordinates)).toEqual([[[ring]], [[ring]], [[ring]]]);
    expect(page.map(bboxOf)).toEqual([bboxOf(expected), bboxOf(expected), bboxOf(expected)]);
    expect(page.map(vertexCount)).toEqual([ring.length, ring.length, ring.length]);
    expect(page.map((s) => locatePoint(s, ring[0]![0]!, ring[0]![1]!))).toEqual([BOUNDARY, BOUNDARY, BOUNDARY]);
    expect(() => shapeFromWkb(Buffer.from('0101000000000000000000f03f000000000000f03f', 'hex'))).toThrow(/expected a Polygon or MultiPolygon, got WKB type 1/);
  });

  it('measures the distance to a shape in metres', () => {
    const cell = polygon(square(113.9, 22.5, 113.91, 22.51));
    // 0.001° of longitude at 22.5°N is about 102.8 m.
    expect(distanceToShape(cell, 113.911, 22.505)).toBeCloseTo(102.8, 0);
  });
});

describe('grid index', () => {
  const grids = [
    grid('D', 1, square(0, 0, 2, 2), false),
    grid('C2', 2, square(1, 0, 2, 2)),
    grid('C1', 2, square(0, 0, 1, 2), false),
    grid('C1A', 3, square(0, 0, 1, 1)),
  ];
  const index = new GridIndex(grids);

  it('takes the finest covering grid, then the lowest code; overlaps are ambiguous, shared edges not', () => {
    expect(index.assign(0.5, 0.5, null)).toEqual({ code: 'C1A', status: 'assigned', alsoIn: [], distance: null });
    // C1 has a gap above C1A: the finest grid covering the point is C1 itself.
    expect(index.assign(0.5, 1.5, null)?.code).toBe('C1');
    expect(index.assign(1, 1.5, null)).toEqual({ code: 'C1', status: 'assigned', alsoIn: ['C2'], distance: null });
    const overlap = new GridIndex([grid('B2', 1, square(0, 0, 2, 1)), grid('B1', 1, square(1, 0, 3, 1))]);
    expect(overlap.assign(1.5, 0.5, null)).toEqual({ code: 'B1', status: 'ambiguous', alsoIn: ['B2'], distance: null });
    expect(overlap.assign(9, 9, null)).toBeNull();
    const empty = shapeFromGeoJson({ type: 'MultiPolygon', coordinates: [] });
    expect(new GridIndex([{ code: 'E', order: 1, leaf: true, shape: empty }, ...grids]).assign(0.5, 0.5, 1000)?.code).toBe('C1A');
  });

  it('places a point outside every grid in the nearest leaf within reach, ties to the lowest code', () => {
    const lat = 22.5;
    const cells = new GridIndex([grid('W', 1, square(113.9, lat, 113.91, lat + 0.01)), grid('E', 1, square(113.912, lat, 113.922, lat + 0.01))]);
    const between = cells.assign(113.911, lat + 0.005, 200);
    expect(between).toMatchObject({ code: 'E', status: 'nearest' });
    expect(between!.distance).toBeCloseTo(102.8, 0);
    expect(cells.assign(113.911, lat + 0.005, 50)).toBeNull();
    expect(cells.assign(113.911, lat + 0.005, null)).toBeNull();
    // Only leaves take addresses by distance.
    const parent = new GridIndex([grid('P', 1, square(0, 0, 1, 1), false)]);
    expect(parent.assign(1.0001, 0.5, 1000)).toBeNull();
  });

  it('assigns many points in any order to the same answers, visiting them along a Z curve', () => {
    const points = Array.from({ length: 500 }, (_, i) => ({ lon: (i * 7919) % 200 / 100, lat: (i * 104729) % 200 / 100, nearestM: null }));
    expect(index.assignAll(points)).toEqual(points.map((p) => index.assign(p.lon, p.lat, null)));
    const order = zOrder(points);
    expect([...order].sort((a, b) => a - b)).toEqual(points.map((_, i) => i));
  });
});

describe('streamed GeoJSON', () => {
  it('cuts features out whatever the chunk boundaries', async () => {
    const doc = JSON.stringify({
      type: 'FeatureCollection',
      crs: { type: 'name', properties: { name: 'EPSG:4490' } },
      features: [
        { type: 'Feature', id: 'x', properties: { name: 'a"}{[\\', n: 1 }, geometry: { type: 'Point', coordinates: [1, 2] } },
        { type: 'Feature', properties: { name: '门牌' }, geometry: null },
      ],
    });
    const bytes = Buffer.from(doc);
    const expected = [
      { kind: 'member', name: 'type', value: 'FeatureCollection' },
      { kind: 'member', name: 'crs', value: { type: 'name', properties: { name: 'EPSG:4490' } } },
      { kind: 'feature', index: 1, feature: JSON.parse(doc).features[0] },
      { kind: 'feature', index: 2, feature: JSON.parse(doc).features[1] },
    ];
    for (const size of [1, 2, 3, 5, 8, 13, 1000]) {
      const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
      const events = [];
      for await (const e of readGeoJson(chunks)) events.push(e);
      expect(events, `chunks of ${size} bytes`).toEqual(expected);
    }
  });

  it('rejects what is not a FeatureCollection, saying where', async () => {
    const read = async (text: string) => {
      for await (const e of readGeoJson([Buffer.from(text)])) void e;
    };
    await expect(read('{"type":"Topology","objects":{}}')).rejects.toThrow('expected a GeoJSON FeatureCollection, got type "Topology"');
    await expect(read('{"type":"FeatureCollection","features":{}}')).rejects.toThrow(/features must be an array/);
    await expect(read('{"type":"FeatureCollection","features":[{"type":"Feature"')).rejects.toThrow(/ends before the collection is closed/);
    await expect(read('[{"type": x}]')).rejects.toThrow(/feature 1 is not valid JSON/);
    await expect(read('')).rejects.toThrow(/empty/);
  });
});

/** A minimal XLSX written by hand: stored (uncompressed) and deflated parts, as different writers do. */
function writeXlsx(parts: Record<string, string>, deflate: boolean): string {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(parts)) {
    const data = Buffer.from(text);
    const body = deflate ? deflateRawSync(data) : data;
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(deflate ? 8 : 0, 10);
    entry.writeUInt32LE(crc32(data), 16);
    entry.writeUInt32LE(body.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(nameBytes.length, 28);
    entry.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, body);
    central.push(entry, nameBytes);
    offset += 30 + nameBytes.length + body.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(parts).length, 8);
  end.writeUInt16LE(Object.keys(parts).length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  const file = path.join(os.tmpdir(), `gridatlas-xlsx-test-${process.pid}-${deflate}.xlsx`);
  fs.writeFileSync(file, Buffer.concat([...locals, dir, end]));
  return file;
}

describe('streamed XLSX', () => {
  it('reads the first sheet of a workbook written by openpyxl', async () => {
    const rows = [];
    for await (const r of readXlsxRows(path.resolve('fixtures/addresses/valid/small-area.xlsx'))) rows.push(r);
    expect(rows).toHaveLength(7);
    expect(rows[0]!.values.slice(0, 3)).toEqual(['编号', '类型', '门牌号']);
    expect(rows[5]).toEqual({ row: 6, values: ['SZ-0005', '住宅', '海德三道10号', '海德三道', '2栋', '', '', '12', '30', '113.9172', '22.5149', '"引号", 逗号'] });
  });

  it('reads inline strings, prefixed namespaces, sparse rows, escapes and phonetic runs', async () => {
    const sheet = `<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>
      <x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>编号</x:t></x:is></x:c><x:c r="C1" t="s"><x:v>0</x:v></x:c></x:row>
      <x:row r="3"><x:c r="A3" t="inlineStr"><x:is><x:r><x:t>A&amp;</x:t></x:r><x:r><x:t xml:space="preserve"> B_x000D_</x:t></x:r></x:is></x:c><x:c r="B3" t="b"><x:v>1</x:v></x:c><x:c r="C3"><x:v>1.5e-3</x:v></x:c></x:row>
      <x:row r="4"/>
    </x:sheetData></x:worksheet>`;
    const parts = {
      'xl/workbook.xml': '<workbook xmlns:r="r"><sheets><sheet name="a" sheetId="1" r:id="rId7"/></sheets></workbook>',
      'xl/_rels/workbook.xml.rels': '<Relationships><Relationship Id="rId7" Type="worksheet" Target="worksheets/data.xml"/></Relationships>',
      'xl/sharedStrings.xml': '<sst><si><t>经度</t><rPh><t>jingdu</t></rPh></si></sst>',
      'xl/worksheets/data.xml': sheet,
    };
    for (const deflate of [false, true]) {
      const file = writeXlsx(parts, deflate);
      const rows = [];
      for await (const r of readXlsxRows(file)) rows.push(r);
      fs.rmSync(file);
      expect(rows).toEqual([
        { row: 1, values: ['编号', '', '经度'] },
        { row: 3, values: ['A& B\r', 'true', '1.5e-3'] },
        { row: 4, values: [] },
      ]);
    }
  });
});

describe('address records', () => {
  const parse = (values: Record<string, unknown>, crs = 'EPSG:4326') => parseAddressRecord({ row: 2, label: 'row 2', values }, { crs: crs as 'EPSG:4326', nearestM: 200 });

  it('reads Chinese and English titles, kinds and defaults', () => {
    const a = parse({ 编号: ' A1 ', 类型: '商户', 门牌号: '科苑路1号', 街路巷: '科苑路', 经度: '113.9', 纬度: '22.5', 备注: '便利店', 空列: '' }) as AddressInput;
    expect(a).toMatchObject({ externalId: 'A1', kind: 'business', door: '科苑路1号', buildingKey: '科苑路|科苑路1号|', households: 0, nearestM: 200, attributes: { 备注: '便利店' }, lon: 113.9, lat: 22.5 });
    const room = parse({ id: 'A2', room: '101', building_id: 'B-7', lon: 113.9, lat: 22.5 }) as AddressInput;
    expect(room).toMatchObject({ kind: 'residential', households: 1, nearestM: null, buildingKey: 'B-7' });
    expect(parse({ id: 'A3', kind: 'public', nearest_m: '50', lon: 113.9, lat: 22.5 })).toMatchObject({ nearestM: 50 });
    // The digest ignores the order of attributes.
    expect((parse({ id: 'A4', a: 1, b: 2, lon: 1, lat: 2 }) as AddressInput).hash).toBe((parse({ b: 2, id: 'A4', lon: 1, lat: 2, a: 1 }) as AddressInput).hash);
  });

  it('lists every problem of a record', () => {
    const errors = parse({ kind: 'castle', households: '-1', population: 'x', lon: '', lat: '1' }) as RowError[];
    expect(errors.map((e) => [e.field, e.error])).toEqual([
      ['external_id', 'missing_external_id'],
      ['kind', 'invalid_kind'],
      ['households', 'invalid_count'],
      ['population', 'invalid_count'],
      ['x, y', 'missing_coordinates'],
    ]);
    expect(errors[1]!.message).toBe('row 2: kind "castle" is not one of residential, business, organisation, public (or 住宅, 商户, 单位, 公共设施)');
  });

  it('names swapped Gauss-Krüger axes', () => {
    const [e] = parse({ id: 'G1', x: 3_380_000, y: 39_450_000 }, 'EPSG:4527') as RowError[];
    expect(e).toMatchObject({ error: 'coordinates_out_of_range', field: 'x, y' });
    expect(e!.message).toMatch(/outside EPSG:4527 \(zone 39: easting 39500000 ± 400000 m.*x and y look swapped/);
  });
});

describe('register export with counts', () => {
  it('adds addresses, buildings, households and population to each grid', () => {
    const system = { key: 's', levels: [{ key: 'grid', name: '网格', order: 1 }] } as unknown as GridSystem;
    const g = (code: string) => ({ code, name: code, level: 'grid', parentCode: null, type: null, people: [], validFrom: null, validTo: null }) as unknown as Grid;
    const csv = registerCsv(system, [g('A'), g('B')], 'en', new Map([['A', { addresses: 3, buildings: 2, households: 5, population: 11 }]]));
    const lines = csv.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe('code,name,level,parent,type,responsible,title,phone,helpers,valid_from,valid_to,addresses,buildings,households,population');
    expect(lines.slice(1)).toEqual(['A,A,grid,,,,,,,,,3,2,5,11', 'B,B,grid,,,,,,,,,0,0,0,0']);
    expect(registerCsv(system, [g('A')], 'en').split('\r\n')[0]).not.toContain('addresses');
  });
});
