import type { MultiPolygon, Point, Polygon, Position } from 'geojson';
import { FormatError } from './errors';
import { orientRing, organizeRings } from './rings';

/**
 * The geometry part of a shapefile (.shp) and its index (.shx), after the ESRI Shapefile Technical
 * Description (1998): a 100-byte header, then records of big-endian (number, length in 16-bit words)
 * followed by little-endian content. Only the shapes grids and places need are supported: points and
 * polygons (their Z and M variants are read as 2D).
 */

export type ShapeGeometry = Point | Polygon | MultiPolygon;

export interface ShpContent {
  /** One entry per record, in file order; null for null shapes and shapes without usable rings. */
  geometries: (ShapeGeometry | null)[];
  warnings: string[];
}

const FILE_CODE = 9994;
const VERSION = 1000;
const NULL_SHAPE = 0;
const POINT = 1;
const POLYGON = 5;
const POINT_TYPES = new Set([1, 11, 21]);
const POLYGON_TYPES = new Set([5, 15, 25]);
const SHAPE_NAMES: Record<number, string> = {
  0: 'Null', 1: 'Point', 3: 'PolyLine', 5: 'Polygon', 8: 'MultiPoint', 11: 'PointZ', 13: 'PolyLineZ', 15: 'PolygonZ',
  18: 'MultiPointZ', 21: 'PointM', 23: 'PolyLineM', 25: 'PolygonM', 28: 'MultiPointM', 31: 'MultiPatch',
};

type BBox = [number, number, number, number];

/**
 * Reads the records of a .shp file as GeoJSON geometries (polygon rings regrouped and rewound to RFC 7946).
 * @param bytes the .shp file
 * @param fileName named in messages
 * @returns one geometry (or null) per record, and warnings about repaired or dropped parts
 * @throws {FormatError} shapefile_invalid for a malformed file, shapefile_unsupported_shape for lines,
 *   multipoints and multipatches
 * @example readShp(shpBytes, 'grids.shp').geometries[0] // { type: 'Polygon', coordinates: [...] }
 */
export function readShp(bytes: Buffer, fileName: string): ShpContent {
  const invalid = (why: string) => new FormatError('shapefile_invalid', `${fileName} is not a readable shapefile: ${why}`);
  if (bytes.length < 100 || bytes.readInt32BE(0) !== FILE_CODE) throw invalid(`it does not start with the file code ${FILE_CODE}`);
  const fileType = bytes.readInt32LE(32);
  if (fileType !== NULL_SHAPE && !POINT_TYPES.has(fileType) && !POLYGON_TYPES.has(fileType)) {
    throw new FormatError(
      'shapefile_unsupported_shape',
      `${fileName} holds ${shapeName(fileType)} shapes; only Point and Polygon shapefiles (and their Z and M variants) can be imported`,
    );
  }
  const declaredLength = bytes.readInt32BE(24) * 2;
  const end = declaredLength >= 100 && declaredLength <= bytes.length ? declaredLength : bytes.length;

  const geometries: (ShapeGeometry | null)[] = [];
  let empty = 0;
  let degenerate = 0;
  let promoted = 0;
  for (let at = 100; at + 8 <= end; ) {
    const n = geometries.length + 1;
    const length = bytes.readInt32BE(at + 4) * 2;
    const start = at + 8;
    if (length < 4 || start + length > end) throw invalid(`record ${n} is truncated`);
    const type = bytes.readInt32LE(start);
    let geometry: ShapeGeometry | null = null;
    if (type !== NULL_SHAPE && type !== fileType) throw invalid(`record ${n} holds a ${shapeName(type)} in a ${shapeName(fileType)} file`);
    if (POINT_TYPES.has(type)) {
      if (length < 20) throw invalid(`record ${n} is too short for a point`);
      const x = bytes.readDoubleLE(start + 4);
      const y = bytes.readDoubleLE(start + 12);
      if (Number.isFinite(x) && Number.isFinite(y)) geometry = { type: 'Point', coordinates: [x, y] };
    } else if (POLYGON_TYPES.has(type)) {
      const rings = readRings(bytes, start, length, () => invalid(`record ${n} declares more parts or points than it holds`));
      const organized = organizeRings(rings);
      degenerate += organized.degenerate;
      promoted += organized.promoted;
      const [first] = organized.polygons;
      if (organized.polygons.length > 1) geometry = { type: 'MultiPolygon', coordinates: organized.polygons };
      else if (first) geometry = { type: 'Polygon', coordinates: first };
    }
    if (!geometry) empty++;
    geometries.push(geometry);
    at = start + length;
  }

  const warnings: string[] = [];
  if (fileType !== POINT && fileType !== POLYGON && fileType !== NULL_SHAPE) {
    warnings.push(`${fileName} holds ${shapeName(fileType)} shapes; only x and y were read`);
  }
  if (empty > 0) warnings.push(`${fileName}: ${empty} records have no geometry`);
  if (degenerate > 0) warnings.push(`${fileName}: ${degenerate} rings with fewer than three distinct points or no area were dropped`);
  if (promoted > 0) warnings.push(`${fileName}: ${promoted} counter-clockwise rings lay inside no outer ring and were read as outer rings`);
  return { geometries, warnings };
}

/**
 * The number of records a .shx index lists.
 * @throws {FormatError} shapefile_invalid when the file is not a shapefile index
 */
export function shxRecordCount(bytes: Buffer, fileName: string): number {
  if (bytes.length < 100 || bytes.readInt32BE(0) !== FILE_CODE) {
    throw new FormatError('shapefile_invalid', `${fileName} is not a readable shapefile index: it does not start with the file code ${FILE_CODE}`);
  }
  return Math.floor((bytes.length - 100) / 8);
}

/**
 * Writes points (shape type 1) or polygons and multipolygons (shape type 5, outer rings clockwise, holes
 * counter-clockwise) with their index. An empty list gives an empty polygon file.
 * @param geometries one geometry per record, all points or all (multi)polygons
 * @returns the .shp and .shx bytes
 * @throws {FormatError} shapefile_unsupported_geometry, shapefile_mixed_geometry, shapefile_invalid_geometry
 * @example writeShp([{ type: 'Point', coordinates: [116.39, 39.9] }]).shp.length // 128
 */
export function writeShp(geometries: ShapeGeometry[]): { shp: Buffer; shx: Buffer } {
  const fileType = shapeTypeOf(geometries);
  const records = geometries.map((geometry, i) => encodeRecord(geometry, i));
  const shpLength = records.reduce((sum, r) => sum + 8 + r.content.length, 100);
  const bbox = records.reduce<BBox | null>((acc, r) => (r.bbox ? extend(acc, r.bbox) : acc), null) ?? [0, 0, 0, 0];
  const shp = Buffer.alloc(shpLength);
  const shx = Buffer.alloc(100 + 8 * records.length);
  writeHeader(shp, fileType, shpLength, bbox);
  writeHeader(shx, fileType, shx.length, bbox);
  let at = 100;
  records.forEach((record, i) => {
    const words = record.content.length / 2;
    shx.writeInt32BE(at / 2, 100 + 8 * i);
    shx.writeInt32BE(words, 104 + 8 * i);
    shp.writeInt32BE(i + 1, at);
    shp.writeInt32BE(words, at + 4);
    record.content.copy(shp, at + 8);
    at += 8 + record.content.length;
  });
  return { shp, shx };
}

function shapeName(type: number): string {
  return `${SHAPE_NAMES[type] ?? 'unknown'} (type ${type})`;
}

function readRings(bytes: Buffer, start: number, length: number, invalid: () => FormatError): Position[][] {
  if (length < 44) throw invalid();
  const parts = bytes.readInt32LE(start + 36);
  const points = bytes.readInt32LE(start + 40);
  const pointsAt = start + 44 + 4 * parts;
  if (parts < 0 || points < 0 || 44 + 4 * parts + 16 * points > length) throw invalid();
  const rings: Position[][] = [];
  for (let p = 0; p < parts; p++) {
    const from = bytes.readInt32LE(start + 44 + 4 * p);
    const to = p + 1 < parts ? bytes.readInt32LE(start + 48 + 4 * p) : points;
    if (from < 0 || to > points || from > to) throw invalid();
    const ring: Position[] = [];
    for (let k = from; k < to; k++) ring.push([bytes.readDoubleLE(pointsAt + 16 * k), bytes.readDoubleLE(pointsAt + 16 * k + 8)]);
    rings.push(ring);
  }
  return rings;
}

function shapeTypeOf(geometries: ShapeGeometry[]): number {
  let fileType: number | null = null;
  geometries.forEach((geometry: ShapeGeometry | null, i) => {
    const type = geometry?.type === 'Point' ? POINT : geometry?.type === 'Polygon' || geometry?.type === 'MultiPolygon' ? POLYGON : null;
    if (type === null) {
      throw new FormatError(
        'shapefile_unsupported_geometry',
        `feature ${i}: a shapefile export takes Point, Polygon and MultiPolygon geometries, not ${geometry ? geometry.type : 'null'}`,
      );
    }
    if (fileType !== null && type !== fileType) {
      throw new FormatError(
        'shapefile_mixed_geometry',
        `feature ${i} is a ${geometry!.type} but earlier features are ${fileType === POINT ? 'points' : 'polygons'}; a shapefile holds one kind of shape`,
      );
    }
    fileType = type;
  });
  return fileType ?? POLYGON;
}

function encodeRecord(geometry: ShapeGeometry, feature: number): { content: Buffer; bbox: BBox | null } {
  const check = (p: Position) => {
    if (!Array.isArray(p) || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
      throw new FormatError('shapefile_invalid_geometry', `feature ${feature}: ${JSON.stringify(p)} is not a position of two finite numbers`);
    }
  };
  if (geometry.type === 'Point') {
    const [x, y] = geometry.coordinates;
    check(geometry.coordinates);
    const content = Buffer.alloc(20);
    content.writeInt32LE(POINT, 0);
    content.writeDoubleLE(x, 4);
    content.writeDoubleLE(y, 12);
    return { content, bbox: [x, y, x, y] };
  }
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  const rings: Position[][] = [];
  for (const polygon of polygons) {
    if (!polygon[0]?.length) continue;
    polygon.forEach((ring, k) => {
      ring.forEach(check);
      if (ring.length > 0) rings.push(orientRing(ring, k === 0));
    });
  }
  if (rings.length === 0) {
    const content = Buffer.alloc(4);
    content.writeInt32LE(NULL_SHAPE, 0);
    return { content, bbox: null };
  }
  const points = rings.reduce((n, ring) => n + ring.length, 0);
  const content = Buffer.alloc(44 + 4 * rings.length + 16 * points);
  content.writeInt32LE(POLYGON, 0);
  content.writeInt32LE(rings.length, 36);
  content.writeInt32LE(points, 40);
  let bbox: BBox | null = null;
  let index = 0;
  let at = 44 + 4 * rings.length;
  rings.forEach((ring, p) => {
    content.writeInt32LE(index, 44 + 4 * p);
    for (const [x, y] of ring) {
      content.writeDoubleLE(x, at);
      content.writeDoubleLE(y, at + 8);
      bbox = extend(bbox, [x, y, x, y]);
      at += 16;
    }
    index += ring.length;
  });
  writeBBox(content, 4, bbox!);
  return { content, bbox };
}

function writeHeader(out: Buffer, fileType: number, byteLength: number, bbox: BBox): void {
  out.writeInt32BE(FILE_CODE, 0);
  out.writeInt32BE(byteLength / 2, 24);
  out.writeInt32LE(VERSION, 28);
  out.writeInt32LE(fileType, 32);
  writeBBox(out, 36, bbox);
}

function writeBBox(out: Buffer, at: number, [minX, minY, maxX, maxY]: BBox): void {
  out.writeDoubleLE(minX, at);
  out.writeDoubleLE(minY, at + 8);
  out.writeDoubleLE(maxX, at + 16);
  out.writeDoubleLE(maxY, at + 24);
}

function extend(acc: BBox | null, [minX, minY, maxX, maxY]: BBox): BBox {
  return acc ? [Math.min(acc[0], minX), Math.min(acc[1], minY), Math.max(acc[2], maxX), Math.max(acc[3], maxY)] : [minX, minY, maxX, maxY];
}
