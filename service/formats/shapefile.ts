import fs from 'node:fs';
import JSZip from 'jszip';
import iconv from 'iconv-lite';
import type { Feature, FeatureCollection, MultiPolygon, Point, Polygon } from 'geojson';
import { readDbf, type DbfRecord } from './dbf-reader';
import { writeDbf, type DbfEncoding } from './dbf-writer';
import { FormatError } from './errors';
import { readShp, shxRecordCount, writeShp } from './shp';
import { isUtf8 } from './text-encoding';
import { readZipDirectory, readZipEntry } from './zip-file';

/**
 * Zipped shapefiles in and out. The .shp/.shx/.dbf codecs are hand-written (shp.ts, dbf-reader.ts,
 * dbf-writer.ts): shpjs decodes DBF text before the encoding can be detected, reprojects silently through
 * the .prj and does not check record counts; @mapbox/shp-write writes DBF text one byte per UTF-16 unit
 * (no GBK, no multi-byte UTF-8). Zip handling is JSZip.
 */

export interface ShapefileReadResult {
  features: Feature<Polygon | MultiPolygon | Point | null>[];
  /** The encoding the DBF text was decoded with ('utf-8', 'gbk', …). */
  encoding: string;
  /** The .prj text (WKT) as found, or null; coordinates are returned untransformed. */
  prj: string | null;
  warnings: string[];
}

/**
 * ESRI's WKT for WGS 84 (EPSG:4326), as ArcGIS writes it; GDAL and QGIS recognise it. CGCS2000 data
 * is written under it too: the frames differ by less than a metre.
 */
const WGS84_PRJ =
  'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';

const CPG: Record<DbfEncoding, string> = { 'utf-8': 'UTF-8', gbk: 'GBK' };

/**
 * Reads the one shapefile in a zip (at the root or in a folder). DBF text is decoded by the .cpg, else by
 * the DBF language driver byte, else by detection (valid UTF-8 → UTF-8, otherwise GBK). Coordinates are
 * returned as stored; `prj` says in which CRS.
 * @param zip the uploaded archive
 * @returns features with the DBF attributes as properties, the encoding used, the .prj text and warnings
 *   (missing .dbf/.shx, dropped rings, deleted records, Z values ignored…)
 * @throws {FormatError} zip_invalid, shapefile_missing_shp, shapefile_multiple_layers, shapefile_invalid,
 *   shapefile_record_mismatch, shapefile_unsupported_shape, dbf_invalid
 * @example const { features, encoding } = await readShapefileZip(upload); // encoding: 'gbk'
 */
export async function readShapefileZip(zip: Buffer): Promise<ShapefileReadResult> {
  let archive: JSZip;
  try {
    archive = await JSZip.loadAsync(zip, { decodeFileName });
  } catch (err) {
    throw new FormatError('zip_invalid', `the upload is not a readable zip archive (${(err as Error).message})`);
  }
  return readShapefileEntries(Object.values(archive.files).map((f) => ({ name: f.name, dir: f.dir, bytes: () => f.async('nodebuffer') })));
}

/**
 * `readShapefileZip` for an archive on disk (a spooled upload, issue #16): reads the zip's directory and
 * only the shapefile's own entries, so the archive is never held in memory whole.
 * @param file path of the zip archive
 * @throws {FormatError} as readShapefileZip
 */
export async function readShapefileZipFile(file: string): Promise<ShapefileReadResult> {
  const handle = await fs.promises.open(file, 'r');
  const invalid = (message: string) => new FormatError('zip_invalid', `the upload is not a readable zip archive (${message})`);
  try {
    const directory = await readZipDirectory(handle, invalid);
    return await readShapefileEntries(
      [...directory.values()].map((e) => ({ name: e.utf8 ? e.name : decodeFileName(e.nameBytes), dir: e.name.endsWith('/'), bytes: () => readZipEntry(handle, e, invalid) })),
    );
  } finally {
    await handle.close();
  }
}

/** One file of an archive: its name, and its bytes when asked for. */
interface ArchiveEntry {
  name: string;
  dir: boolean;
  bytes(): Promise<Buffer>;
}

async function readShapefileEntries(all: ArchiveEntry[]): Promise<ShapefileReadResult> {
  const entries = all.filter((f) => !f.dir && !f.name.startsWith('__MACOSX/') && !baseName(f.name).startsWith('._'));
  const shps = entries.filter((f) => extension(f.name) === 'shp');
  if (shps.length === 0) {
    const found = entries.map((f) => f.name).slice(0, 10).join(', ') || 'nothing';
    throw new FormatError('shapefile_missing_shp', `the zip holds no .shp file (found: ${found})`);
  }
  if (shps.length > 1) {
    throw new FormatError('shapefile_multiple_layers', `the zip holds ${shps.length} shapefiles (${shps.map((f) => f.name).join(', ')}); upload one at a time`);
  }
  const shpName = shps[0].name;
  const stem = shpName.slice(0, -4).toLowerCase();
  const sibling = (ext: string) => entries.find((f) => f.name.slice(0, -4).toLowerCase() === stem && extension(f.name) === ext);
  const read = async (ext: string) => {
    const entry = sibling(ext);
    return entry ? { name: entry.name, bytes: await entry.bytes() } : null;
  };
  const [shp, shx, dbf, prj, cpg] = await Promise.all(['shp', 'shx', 'dbf', 'prj', 'cpg'].map(read));

  const warnings: string[] = [];
  const shapes = readShp(shp!.bytes, shpName);
  if (shx) {
    const indexed = shxRecordCount(shx.bytes, shx.name);
    if (indexed !== shapes.geometries.length) {
      throw new FormatError('shapefile_record_mismatch', `${shx.name} indexes ${indexed} records but ${shpName} holds ${shapes.geometries.length}`);
    }
  } else {
    warnings.push(`${shpName} has no .shx index beside it; its records were read in sequence`);
  }
  warnings.push(...shapes.warnings);

  let records: (DbfRecord | null)[] = shapes.geometries.map(() => ({}));
  let encoding = 'utf-8';
  if (dbf) {
    const table = readDbf(dbf.bytes, cpg ? text(cpg.bytes) : null, dbf.name);
    if (table.records.length !== shapes.geometries.length) {
      throw new FormatError('shapefile_record_mismatch', `${dbf.name} holds ${table.records.length} records but ${shpName} holds ${shapes.geometries.length} shapes`);
    }
    records = table.records;
    encoding = table.encoding;
    warnings.push(...table.warnings);
  } else {
    warnings.push(`${shpName} has no .dbf beside it; the features have no attributes`);
  }

  const features: Feature<Polygon | MultiPolygon | Point | null>[] = [];
  shapes.geometries.forEach((geometry, i) => {
    const properties = records[i];
    if (properties) features.push({ type: 'Feature', geometry, properties });
  });
  const prjText = prj ? text(prj.bytes).trim() : '';
  return { features, encoding, prj: prjText === '' ? null : prjText, warnings };
}

/**
 * Writes features as a zipped shapefile: `<name>.shp/.shx/.dbf/.prj/.cpg`. Points give a Point shapefile,
 * polygons and multipolygons a Polygon shapefile. Property keys become DBF fields of at most 10 bytes
 * (see `dbfFieldNames` for the renaming); text longer than 254 bytes is cut; numbers become N fields,
 * booleans L fields, nested values JSON text. The .prj is WGS 84 (EPSG:4326).
 * @param fc the features, in WGS 84 / CGCS2000 lon/lat
 * @param options name: the file name stem inside the zip; encoding of the DBF text, 'utf-8' by default,
 *   'gbk' for ArcGIS on Chinese Windows (characters GBK lacks become '?')
 * @returns the zip archive
 * @throws {FormatError} shapefile_invalid_name, shapefile_unsupported_encoding, shapefile_mixed_geometry,
 *   shapefile_unsupported_geometry, shapefile_invalid_geometry, dbf_too_many_fields
 * @example await writeShapefileZip(grids, { name: 'community-grids', encoding: 'gbk' })
 */
export async function writeShapefileZip(
  fc: FeatureCollection<Polygon | MultiPolygon | Point>,
  options: { name: string; encoding?: DbfEncoding },
): Promise<Buffer> {
  const { name } = options;
  const encoding = options.encoding ?? 'utf-8';
  if (!/^[^\\/:*?"<>|\x00-\x1f]{1,100}$/.test(name) || name.trim() !== name || name.startsWith('.')) {
    throw new FormatError('shapefile_invalid_name', `"${name}" cannot name a shapefile: use 1–100 characters without \\ / : * ? " < > | or surrounding spaces`);
  }
  if (encoding !== 'utf-8' && encoding !== 'gbk') {
    throw new FormatError('shapefile_unsupported_encoding', `shapefiles are written in utf-8 or gbk, not "${String(encoding)}"`);
  }
  const date = new Date();
  const { shp, shx } = writeShp(fc.features.map((f) => f.geometry));
  const dbf = writeDbf(fc.features.map((f) => f.properties), encoding, date);
  const archive = new JSZip();
  const files: [string, Buffer | string][] = [['shp', shp], ['shx', shx], ['dbf', dbf], ['prj', WGS84_PRJ], ['cpg', CPG[encoding]]];
  for (const [ext, data] of files) archive.file(`${name}.${ext}`, data, { date });
  return archive.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 6 } });
}

/** Zip entry names without the UTF-8 flag: Windows on Chinese systems writes them in GBK. */
function decodeFileName(bytes: string[] | Uint8Array | Buffer): string {
  const raw = Array.isArray(bytes) ? Uint8Array.from(bytes, (c) => c.charCodeAt(0)) : bytes;
  return isUtf8(raw) ? Buffer.from(raw).toString('utf8') : iconv.decode(Buffer.from(raw), 'gbk');
}

/** .prj and .cpg text: ASCII in practice, UTF-8 or GBK when a tool put Chinese names in the WKT. */
function text(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : iconv.decode(bytes, 'gbk');
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function extension(path: string): string {
  const name = baseName(path);
  const dot = name.lastIndexOf('.');
  return dot === -1 ? '' : name.slice(dot + 1).toLowerCase();
}
