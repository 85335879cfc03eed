import fs from 'node:fs';
import { badRequest } from '../errors';
import { InputError } from '../kernel/errors';
import { readGeoJson } from '../formats/address-geojson';
import { FormatError } from '../formats/errors';
import { readShapefileZipFile, type ShapefileReadResult } from '../formats/shapefile';
import { CrsError, parseCrs, toWgs84, type Convert, type CrsId } from '../geometry/crs/index';
import { crsFromPrj } from '../geometry/crs/prj';
import { parseJson } from '../http/body';
import { featuresOf } from './features';

function crsParam(value: string, where: string): CrsId {
  try {
    return parseCrs(value);
  } catch (err) {
    if (err instanceof CrsError) throw badRequest(err.code, `${where}: ${err.message}`);
    throw err;
  }
}

/**
 * The features of an import body — GeoJSON, or a zipped Shapefile (recognised by its zip signature or
 * content type) — converted to EPSG:4326: `declaredCrs` (?crs=) wins, then the shapefile's .prj or a
 * GeoJSON `crs` member, else EPSG:4326. The body is spooled to `file` first (issue #16): a zipped
 * shapefile is read entry by entry from disk, never held whole in memory; GeoJSON is parsed as a whole.
 */
export async function decodeGridImportFile(file: string, isZipType: boolean, declaredCrs: string | undefined): Promise<{ features: unknown[]; crs: CrsId }> {
  const head = Buffer.alloc(4);
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  if (isZipType || isZipSignature(head)) return decodeShapefile(() => readShapefileZipFile(file), declaredCrs);
  return decodeGeoJson(await fs.promises.readFile(file), declaredCrs);
}

const isZipSignature = (raw: Buffer) => raw.length >= 4 && raw[0] === 0x50 && raw[1] === 0x4b && raw[2] === 0x03 && raw[3] === 0x04;

async function decodeShapefile(read: () => Promise<ShapefileReadResult>, declaredCrs: string | undefined): Promise<{ features: unknown[]; crs: CrsId }> {
  const override = declaredCrs ? crsParam(declaredCrs, 'query parameter crs') : null;
  let shapefile;
  try {
    shapefile = await read();
  } catch (err) {
    if (err instanceof FormatError) throw badRequest(err.code, `shapefile import: ${err.message}`);
    throw err;
  }
  let crs = override ?? (shapefile.prj ? crsFromPrj(shapefile.prj) : 'EPSG:4326');
  if (!crs) {
    throw badRequest(
      'unsupported_crs',
      `shapefile import: the .prj declares a coordinate system gridatlas does not convert (${shapefile.prj!.slice(0, 80)}…); reproject to EPSG:4326, CGCS2000 or a CGCS2000 Gauss-Krüger zone, or pass ?crs= if the .prj is wrong`,
    );
  }
  crs = crs === 'EPSG:4490' ? 'EPSG:4326' : crs;
  return { features: toWgs84Features(shapefile.features, crs), crs };
}

/** Converts polygon coordinates to EPSG:4326; anything malformed is left for the import checks to name. */
function toWgs84Features(features: unknown[], crs: CrsId): unknown[] {
  if (crs === 'EPSG:4326') return features;
  const convert = toWgs84(crs);
  return features.map((f) => toWgs84Feature(f, convert));
}

function decodeGeoJson(raw: Buffer, declaredCrs: string | undefined): { features: unknown[]; crs: CrsId } {
  const override = declaredCrs ? crsParam(declaredCrs, 'query parameter crs') : null;
  const body = parseJson(raw);
  const named = (body as { crs?: { properties?: { name?: unknown } } })?.crs?.properties?.name;
  let crs = override ?? (typeof named === 'string' ? crsParam(named, 'GeoJSON crs member') : 'EPSG:4326');
  crs = crs === 'EPSG:4490' ? 'EPSG:4326' : crs;
  return { features: toWgs84Features(featuresOf(body), crs), crs };
}

/**
 * The features of a GeoJSON import read as they stream in (issue #15: a 275 MB whole-country file), one
 * at a time, converted to EPSG:4326: `declaredCrs` (?crs=) wins, else a `crs` member that comes before the
 * first feature (a `crs` member after features that names another CRS is a 400: they were read already).
 * `crs()` tells the CRS used once the features are read. Broken JSON keeps the codes a whole-body parse
 * gave (`invalid_json`, `empty_body`).
 */
export function streamGridGeoJson(chunks: AsyncIterable<Buffer>, declaredCrs: string | undefined): { features: AsyncIterable<unknown>; crs: () => CrsId } {
  let crs: CrsId = declaredCrs ? crsParam(declaredCrs, 'query parameter crs') : 'EPSG:4326';
  crs = crs === 'EPSG:4490' ? 'EPSG:4326' : crs;
  let convert = crs === 'EPSG:4326' ? null : toWgs84(crs);
  let featuresRead = 0;
  async function* features(): AsyncGenerator<unknown> {
    try {
      for await (const event of readGeoJson(chunks)) {
        if (event.kind === 'feature') {
          featuresRead++;
          yield convert ? toWgs84Feature(event.feature, convert) : event.feature;
          continue;
        }
        const named = (event.value as { properties?: { name?: unknown } } | null)?.properties?.name;
        if (event.name !== 'crs' || declaredCrs || typeof named !== 'string') continue;
        let member = crsParam(named, 'GeoJSON crs member');
        member = member === 'EPSG:4490' ? 'EPSG:4326' : member;
        if (member === crs) continue;
        if (featuresRead > 0) {
          throw badRequest('crs_after_features', `the GeoJSON crs member (${named}) comes after ${featuresRead} features, which were read as ${crs}; pass ?crs=${member} or put the crs member first`);
        }
        crs = member;
        convert = toWgs84(crs);
      }
    } catch (err) {
      if (err instanceof InputError && err.code === 'invalid_geojson') {
        if (/body is empty/.test(err.message)) throw badRequest('empty_body', 'the request body is empty; expected JSON');
        if (/not valid JSON|ends before|no opening one/.test(err.message)) throw badRequest('invalid_json', `the request body is not valid JSON: ${err.message}`);
      }
      throw err;
    }
  }
  return { features: features(), crs: () => crs };
}

/** Converts one feature's polygon coordinates; anything malformed is left for the import checks to name. */
function toWgs84Feature(f: unknown, convert: Convert): unknown {
  const mapPositions = (value: unknown, depth: number): unknown => {
    if (!Array.isArray(value)) return value;
    if (depth === 0) {
      return typeof value[0] === 'number' && typeof value[1] === 'number' ? convert(value[0], value[1]) : value;
    }
    return value.map((v) => mapPositions(v, depth - 1));
  };
  const g = (f as { geometry?: { type?: unknown; coordinates?: unknown } })?.geometry;
  if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon')) return f;
  return { ...(f as object), geometry: { ...g, coordinates: mapPositions(g.coordinates, g.type === 'Polygon' ? 2 : 3) } };
}
