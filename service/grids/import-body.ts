import fs from 'node:fs';
import { badRequest } from '../errors';
import { FormatError } from '../formats/errors';
import { readShapefileZipFile, type ShapefileReadResult } from '../formats/shapefile';
import { CrsError, parseCrs, toWgs84, type CrsId } from '../geometry/crs/index';
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

function decodeGeoJson(raw: Buffer, declaredCrs: string | undefined): { features: unknown[]; crs: CrsId } {
  const override = declaredCrs ? crsParam(declaredCrs, 'query parameter crs') : null;
  const body = parseJson(raw);
  const named = (body as { crs?: { properties?: { name?: unknown } } })?.crs?.properties?.name;
  let crs = override ?? (typeof named === 'string' ? crsParam(named, 'GeoJSON crs member') : 'EPSG:4326');
  crs = crs === 'EPSG:4490' ? 'EPSG:4326' : crs;
  return { features: toWgs84Features(featuresOf(body), crs), crs };
}

/** Converts polygon coordinates to EPSG:4326; anything malformed is left for the import checks to name. */
function toWgs84Features(features: unknown[], crs: CrsId): unknown[] {
  if (crs === 'EPSG:4326') return features;
  const convert = toWgs84(crs);
  const mapPositions = (value: unknown, depth: number): unknown => {
    if (!Array.isArray(value)) return value;
    if (depth === 0) {
      return typeof value[0] === 'number' && typeof value[1] === 'number' ? convert(value[0], value[1]) : value;
    }
    return value.map((v) => mapPositions(v, depth - 1));
  };
  return features.map((f) => {
    const g = (f as { geometry?: { type?: unknown; coordinates?: unknown } })?.geometry;
    if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon')) return f;
    return { ...(f as object), geometry: { ...g, coordinates: mapPositions(g.coordinates, g.type === 'Polygon' ? 2 : 3) } };
  });
}
