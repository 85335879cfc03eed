import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import JSZip from 'jszip';
import iconv from 'iconv-lite';
import type { Feature, FeatureCollection, MultiPolygon, Point, Polygon } from 'geojson';
// @ts-expect-error shpjs ships no type declarations; it serves here as an independent reader.
import shpjs from 'shpjs';
import { describe, expect, it } from 'vitest';
import { FormatError } from './errors';
import { readShapefileZip, writeShapefileZip } from './shapefile';

const FIXTURES = fileURLToPath(new URL('../../fixtures/formats/', import.meta.url));
const GRIDS_GEOJSON = `${FIXTURES}community-grids.geojson`;
const GRIDS_ZIP = `${FIXTURES}community-grids-gbk-no-cpg.zip`;
const FIXED_DATE = new Date(Date.UTC(2024, 0, 1));

type Shape = Polygon | MultiPolygon | Point;
const collection = <G extends Shape>(features: Feature<G>[]): FeatureCollection<G> => ({ type: 'FeatureCollection', features });
const feature = <G extends Shape>(geometry: G, properties: Record<string, unknown>): Feature<G> => ({ type: 'Feature', geometry, properties });
const square = (x: number, y: number, size: number): number[][] => [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]];
const reversed = (ring: number[][]) => [...ring].reverse();

/** Two grids: a polygon with a hole and a multipolygon whose first part has two holes; RFC 7946 winding. */
const grids = collection<Polygon | MultiPolygon>([
  feature({ type: 'Polygon', coordinates: [square(116.40, 39.90, 0.01), reversed(square(116.402, 39.902, 0.002))] }, {
    code: '110101001001001',
    name: '东华门社区第一网格',
    households: 356,
    area_m2: 61234.5,
    urban: true,
    note: null,
  }),
  feature(
    {
      type: 'MultiPolygon',
      coordinates: [
        [square(116.42, 39.90, 0.01), reversed(square(116.421, 39.901, 0.001)), reversed(square(116.425, 39.905, 0.001))],
        [square(116.44, 39.90, 0.002)],
      ],
    },
    { code: '110101001001002', name: '景山社区（含飞地）', households: 412, area_m2: 120000, urban: false, note: '飞地一处' },
  ),
]);

describe('writeShapefileZip → readShapefileZip', () => {
  it.each(['utf-8', 'gbk'] as const)('round-trips Chinese attributes, holes and multipolygons in %s', async (encoding) => {
    const zip = await writeShapefileZip(grids, { name: 'grids', encoding });
    const names = Object.keys((await JSZip.loadAsync(zip)).files).sort();
    expect(names).toEqual(['grids.cpg', 'grids.dbf', 'grids.prj', 'grids.shp', 'grids.shx']);
    const result = await readShapefileZip(zip);
    expect(result.encoding).toBe(encoding);
    expect(result.prj).toMatch(/^GEOGCS\["GCS_WGS_1984"/);
    expect(result.warnings).toEqual([]);
    expect(result.features).toEqual(grids.features);
  });

  it('detects GBK without a .cpg, from the language driver byte and else from the bytes themselves', async () => {
    const zip = await writeShapefileZip(grids, { name: 'grids', encoding: 'gbk' });
    const withoutCpg = await repack(zip, { drop: ['cpg'] });
    expect(await readShapefileZip(withoutCpg)).toMatchObject({ encoding: 'gbk', features: grids.features });
    const withoutCpgOrLdid = await repack(zip, { drop: ['cpg'], edit: { dbf: (dbf) => patch(dbf, 29, [0]) } });
    expect(await readShapefileZip(withoutCpgOrLdid)).toMatchObject({ encoding: 'gbk', features: grids.features });
  });

  it.each(['utf-8', 'gbk'] as const)('writes %s files that shpjs, an independent reader, reads the same', async (encoding) => {
    const zip = await writeShapefileZip(grids, { name: 'grids', encoding });
    const read = (await shpjs(zip)) as FeatureCollection<Polygon | MultiPolygon>;
    // shpjs reads blank text as '' where readShapefileZip gives null.
    const blankAsNull = (p: Record<string, unknown> | null) => Object.fromEntries(Object.entries(p ?? {}).map(([k, v]) => [k, v === '' ? null : v]));
    expect(read.features.map((f) => blankAsNull(f.properties))).toEqual(grids.features.map((f) => f.properties));
    // shpjs keeps the shapefile winding (every ring comes back reversed from RFC 7946) and passes the
    // coordinates through proj4 for the .prj, which adds noise in the 14th decimal.
    const shapefileWinding = (g: Polygon | MultiPolygon) => (g.type === 'Polygon' ? g.coordinates.map(reversed) : g.coordinates.map((p) => p.map(reversed)));
    const rounded = (c: unknown): unknown => (Array.isArray(c) ? c.map(rounded) : Math.round((c as number) * 1e9) / 1e9);
    expect(read.features.map((f) => [f.geometry.type, rounded(f.geometry.coordinates)])).toEqual(
      grids.features.map((f) => [f.geometry.type, rounded(shapefileWinding(f.geometry))]),
    );
  });

  it('winds outer rings clockwise and holes counter-clockwise in the .shp', async () => {
    const zip = await writeShapefileZip(grids, { name: 'grids' });
    const shp = await (await JSZip.loadAsync(zip)).file('grids.shp')!.async('nodebuffer');
    expect(shp.readInt32LE(32)).toBe(5);
    // First record: the outer ring of grid 1, then its hole.
    const content = 100 + 8;
    expect(shp.readInt32LE(content + 36)).toBe(2);
    const ringArea = (from: number, to: number) => {
      let sum = 0;
      for (let k = from; k < to - 1; k++) {
        const at = content + 44 + 8 + 16 * k;
        sum += shp.readDoubleLE(at) * shp.readDoubleLE(at + 24) - shp.readDoubleLE(at + 16) * shp.readDoubleLE(at + 8);
      }
      return sum;
    };
    expect(ringArea(0, 5)).toBeLessThan(0);
    expect(ringArea(5, 10)).toBeGreaterThan(0);
  });

  it('writes and reads a point shapefile', async () => {
    const places = collection<Point>([
      feature({ type: 'Point', coordinates: [116.397, 39.909] }, { name: '天安门', kind: '地标' }),
      feature({ type: 'Point', coordinates: [121.4737, 31.2304] }, { name: '人民广场', kind: null }),
    ]);
    const zip = await writeShapefileZip(places, { name: 'places', encoding: 'gbk' });
    const shp = await (await JSZip.loadAsync(zip)).file('places.shp')!.async('nodebuffer');
    expect(shp.readInt32LE(32)).toBe(1);
    expect((await readShapefileZip(zip)).features).toEqual(places.features);
  });

  it('shortens long field names uniquely', async () => {
    const zip = await writeShapefileZip(collection([feature({ type: 'Point', coordinates: [116, 39] }, { households_urban: 1, households_rural: 2 })]), {
      name: 'x',
    });
    expect((await readShapefileZip(zip)).features[0].properties).toEqual({ households: 1, househol_1: 2 });
  });

  it('rejects what a shapefile cannot hold', async () => {
    const point = feature({ type: 'Point', coordinates: [116, 39] }, {});
    const mixed = collection<Shape>([point, grids.features[0]]);
    await expect(writeShapefileZip(mixed, { name: 'x' })).rejects.toMatchObject({ code: 'shapefile_mixed_geometry', message: /feature 1 is a Polygon/ });
    const line = { type: 'Feature', geometry: { type: 'LineString', coordinates: [[0, 0], [1, 1]] }, properties: {} } as unknown as Feature<Point>;
    await expect(writeShapefileZip(collection([line]), { name: 'x' })).rejects.toMatchObject({ code: 'shapefile_unsupported_geometry' });
    const broken = feature({ type: 'Point', coordinates: [116, Number.NaN] }, {});
    await expect(writeShapefileZip(collection([broken]), { name: 'x' })).rejects.toMatchObject({ code: 'shapefile_invalid_geometry' });
    await expect(writeShapefileZip(collection([point]), { name: '../x' })).rejects.toMatchObject({ code: 'shapefile_invalid_name' });
    const latin1 = { name: 'x', encoding: 'latin1' } as unknown as { name: string; encoding: 'gbk' };
    await expect(writeShapefileZip(collection([point]), latin1)).rejects.toMatchObject({ code: 'shapefile_unsupported_encoding' });
  });
});

describe('readShapefileZip', () => {
  it('reads the real-file style fixture: GBK DBF without .cpg or language driver, GBK file names, in a folder', async () => {
    const expected = JSON.parse(readFileSync(GRIDS_GEOJSON, 'utf8')) as FeatureCollection<Polygon | MultiPolygon>;
    const fresh = await gridsFixtureZip(expected);
    if (process.env.UPDATE) writeFileSync(GRIDS_ZIP, fresh);
    if (!existsSync(GRIDS_ZIP)) throw new Error(`${GRIDS_ZIP} is missing: run UPDATE=1 npx vitest run service/formats/shapefile.test.ts`);
    const fixture = readFileSync(GRIDS_ZIP);
    expect(await entryContents(fresh)).toEqual(await entryContents(fixture));

    const result = await readShapefileZip(fixture);
    expect(result.encoding).toBe('gbk');
    expect(result.warnings).toEqual([]);
    expect(result.features).toEqual(expected.features);
  });

  it('names GBK-encoded file names correctly in its messages', async () => {
    const one = await writeShapefileZip(grids, { name: '社区网格' });
    const two = await repack(one, { gbkNames: true, add: { '街道.shp': Buffer.alloc(100) } });
    await expect(readShapefileZip(two)).rejects.toThrow(/2 shapefiles \(社区网格\.shp, 街道\.shp\)/);
  });

  it('finds the layer in a folder, ignores macOS metadata and reads without .shx and .dbf', async () => {
    const zip = await writeShapefileZip(grids, { name: 'grids' });
    const nested = await repack(zip, { folder: '数据/', add: { '__MACOSX/数据/._grids.shp': Buffer.from('junk') } });
    expect((await readShapefileZip(nested)).features).toEqual(grids.features);

    const bare = await readShapefileZip(await repack(zip, { drop: ['shx', 'dbf'] }));
    expect(bare.features.map((f) => f.properties)).toEqual([{}, {}]);
    expect(bare.warnings).toEqual([
      'grids.shp has no .shx index beside it; its records were read in sequence',
      'grids.shp has no .dbf beside it; the features have no attributes',
    ]);
  });

  it('rejects uploads that are not a readable shapefile, with a stable code', async () => {
    const zip = await writeShapefileZip(grids, { name: 'grids' });
    const threeRows = await writeShapefileZip(collection([...grids.features, grids.features[0]]), { name: 'grids' });
    const dbfOfThree = (await JSZip.loadAsync(threeRows)).file('grids.dbf')!.async('nodebuffer');
    const shxOfThree = (await JSZip.loadAsync(threeRows)).file('grids.shx')!.async('nodebuffer');
    const cases: [Promise<Buffer> | Buffer, string, RegExp][] = [
      [Buffer.from('not a zip'), 'zip_invalid', /not a readable zip/],
      [repack(zip, { drop: ['shp'] }), 'shapefile_missing_shp', /no \.shp file \(found: grids\.(shx|dbf|prj|cpg)/],
      [repack(zip, { edit: { dbf: async () => dbfOfThree } }), 'shapefile_record_mismatch', /grids\.dbf holds 3 records but grids\.shp holds 2 shapes/],
      [repack(zip, { edit: { shx: async () => shxOfThree } }), 'shapefile_record_mismatch', /grids\.shx indexes 3 records but grids\.shp holds 2/],
      [repack(zip, { edit: { shp: (shp) => patch(shp, 32, [3, 0, 0, 0]) } }), 'shapefile_unsupported_shape', /PolyLine \(type 3\)/],
      [repack(zip, { edit: { shp: (shp) => shp.subarray(0, shp.length - 10) } }), 'shapefile_invalid', /record 2 is truncated/],
      [repack(zip, { edit: { shp: (shp) => patch(shp, 0, [0, 0, 0, 0]) } }), 'shapefile_invalid', /file code 9994/],
    ];
    for (const [upload, code, message] of cases) {
      const error = await readShapefileZip(await upload).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FormatError);
      expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
    }
  });
});

/** The fixture: written with GBK text, then packed as a Chinese Windows user would send it. */
async function gridsFixtureZip(fc: FeatureCollection<Polygon | MultiPolygon>): Promise<Buffer> {
  const zip = await writeShapefileZip(fc, { name: '社区网格', encoding: 'gbk' });
  return repack(zip, {
    folder: '社区网格/',
    drop: ['cpg'],
    gbkNames: true,
    edit: { dbf: (dbf) => patch(dbf, 1, [124, 1, 1]).fill(0, 29, 30) },
  });
}

interface Repack {
  folder?: string;
  drop?: string[];
  /** Store names in GBK without the UTF-8 flag, as Windows "send to compressed folder" on Chinese systems. */
  gbkNames?: boolean;
  edit?: Record<string, (bytes: Buffer) => Buffer | Promise<Buffer>>;
  add?: Record<string, Buffer>;
}

async function repack(zip: Buffer, options: Repack): Promise<Buffer> {
  const source = await JSZip.loadAsync(zip);
  const target = new JSZip();
  for (const entry of Object.values(source.files)) {
    const ext = entry.name.slice(entry.name.lastIndexOf('.') + 1);
    if (options.drop?.includes(ext)) continue;
    const bytes = await entry.async('nodebuffer');
    const edit = options.edit?.[ext];
    target.file(`${options.folder ?? ''}${entry.name}`, edit ? await edit(Buffer.from(bytes)) : bytes, { date: FIXED_DATE, createFolders: false });
  }
  for (const [name, bytes] of Object.entries(options.add ?? {})) target.file(name, bytes, { date: FIXED_DATE, createFolders: false });
  if (!options.gbkNames) return target.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
  const out = await target.generateAsync({
    type: 'nodebuffer',
    compression: 'DEFLATE',
    encodeFileName: (name) => iconv.encode(name, 'gbk').toString('latin1'),
  });
  return withoutUnicodePathFields(out);
}

/**
 * JSZip adds an Info-ZIP Unicode Path extra field (0x7075) beside non-UTF-8 names, which Windows does
 * not write; renaming it to an unused id leaves readers with the GBK bytes only.
 */
function withoutUnicodePathFields(zip: Buffer): Buffer {
  const out = Buffer.from(zip);
  const eocd = out.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const entries = out.readUInt16LE(eocd + 10);
  const clean = (extraAt: number, extraLength: number) => {
    for (let at = extraAt; at + 4 <= extraAt + extraLength; at += 4 + out.readUInt16LE(at + 2)) {
      if (out.readUInt16LE(at) === 0x7075) out.writeUInt16LE(0xcafe, at);
    }
  };
  let central = out.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    const nameLength = out.readUInt16LE(central + 28);
    const extraLength = out.readUInt16LE(central + 30);
    const local = out.readUInt32LE(central + 42);
    clean(central + 46 + nameLength, extraLength);
    clean(local + 30 + out.readUInt16LE(local + 26), out.readUInt16LE(local + 28));
    central += 46 + nameLength + extraLength + out.readUInt16LE(central + 32);
  }
  return out;
}

function patch(bytes: Buffer, at: number, values: number[]): Buffer {
  const out = Buffer.from(bytes);
  values.forEach((v, i) => (out[at + i] = v));
  return out;
}

async function entryContents(zip: Buffer): Promise<Record<string, string>> {
  const archive = await JSZip.loadAsync(zip);
  const contents: Record<string, string> = {};
  for (const entry of Object.values(archive.files)) contents[entry.name] = (await entry.async('nodebuffer')).toString('hex');
  return contents;
}
