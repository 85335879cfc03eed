import { createHash } from 'node:crypto';
import { CrsError, parseCrs, toWgs84, type CrsId } from '../geometry/crs/index';
import { gaussKrugerZone } from '../geometry/crs/gauss-kruger';

/**
 * One address record as read from a file, before validation: a CSV/XLSX row (by column title) or a
 * GeoJSON feature (by property, with its geometry). `label` names it in messages ("row 12", "feature 3").
 */
export interface SourceRecord {
  row: number;
  label: string;
  values: Record<string, unknown>;
  /** A GeoJSON feature's geometry; tabular records carry coordinates in their columns instead. */
  geometry?: unknown;
}

export const ADDRESS_KINDS = ['residential', 'business', 'organisation', 'public'] as const;
export type AddressKind = (typeof ADDRESS_KINDS)[number];

/** A valid address, in WGS 84, ready to be assigned and stored. */
export interface AddressInput {
  row: number;
  label: string;
  externalId: string;
  kind: AddressKind;
  door: string | null;
  street: string | null;
  building: string | null;
  unit: string | null;
  room: string | null;
  buildingKey: string | null;
  households: number;
  population: number;
  /** Metres within which the address may join the nearest grid (就近划入); null = never. */
  nearestM: number | null;
  attributes: Record<string, unknown>;
  lon: number;
  lat: number;
  /** Digest of everything above but row and label, so a re-import can tell an unchanged address cheaply. */
  hash: string;
}

export type RowErrorCode =
  | 'missing_external_id'
  | 'missing_coordinates'
  | 'invalid_coordinates'
  | 'coordinates_out_of_range'
  | 'invalid_geometry'
  | 'unknown_crs'
  | 'invalid_kind'
  | 'invalid_count'
  | 'invalid_nearest'
  | 'duplicate_external_id';

/** Why one record was not stored; `row` is the spreadsheet row (header = 1) or the feature number. */
export interface RowError {
  row: number;
  externalId: string | null;
  field: string;
  error: RowErrorCode;
  message: string;
}

export interface RowContext {
  crs: CrsId;
  /** Reach for 就近划入 given to businesses and organisations without a value of their own. */
  nearestM: number | null;
}

type Field = 'external_id' | 'kind' | 'door' | 'street' | 'building' | 'building_id' | 'unit' | 'room' | 'households' | 'population' | 'x' | 'y' | 'crs' | 'nearest_m';

/**
 * Column titles (and GeoJSON property names) as address registers spell them, compared lower-cased
 * without spaces. x is the easting (longitude), y the northing (latitude): the GIS order, not the Chinese
 * surveying one where X is north — hence the explicit 东坐标/北坐标 titles.
 */
const ALIASES: Record<Field, string[]> = {
  external_id: ['external_id', 'externalid', 'id', '编号', '地址编码', '地址编号', '门牌编码', '唯一编码'],
  kind: ['kind', 'type', '类型', '地址类型', '类别'],
  door: ['door', 'door_number', '门牌', '门牌号', '门牌号码'],
  street: ['street', 'road', '街路巷', '道路', '路名', '街巷'],
  building: ['building', '楼栋', '楼号', '栋', '楼栋号'],
  building_id: ['building_id', 'building_key', '楼栋编码', '建筑编码', '楼栋编号'],
  unit: ['unit', '单元', '单元号'],
  room: ['room', '房间', '室', '房号', '户室号'],
  households: ['households', '户数'],
  population: ['population', '人口', '人数', '人口数'],
  x: ['x', 'lon', 'lng', 'long', 'longitude', 'easting', '经度', '东坐标'],
  y: ['y', 'lat', 'latitude', 'northing', '纬度', '北坐标'],
  crs: ['crs', 'srs', '坐标系'],
  nearest_m: ['nearest_m', '就近距离'],
};
const FIELD_OF = new Map<string, Field>(Object.entries(ALIASES).flatMap(([field, names]) => names.map((n) => [n, field as Field])));
// Titles repeat on every row: remember how each was read (bounded, since GeoJSON property names are free).
const titleCache = new Map<string, Field | null>();
export function fieldOf(title: string): Field | undefined {
  let field = titleCache.get(title);
  if (field === undefined) {
    field = FIELD_OF.get(title.trim().toLowerCase().replace(/\s+/g, '')) ?? null;
    if (titleCache.size < 10_000) titleCache.set(title, field);
  }
  return field ?? undefined;
}

const KIND_OF: Record<string, AddressKind> = {
  residential: 'residential', 住宅: 'residential', 居民: 'residential', 住户: 'residential', 民居: 'residential',
  business: 'business', 商户: 'business', 商铺: 'business', 企业: 'business', 经营: 'business', 门店: 'business',
  organisation: 'organisation', organization: 'organisation', 单位: 'organisation', 机构: 'organisation', 组织: 'organisation',
  public: 'public', 公共: 'public', 公共设施: 'public', 设施: 'public',
};

/** Businesses and organisations are placed by distance when outside every grid (DOMAIN.md "Addresses"). */
const BY_DISTANCE: ReadonlySet<AddressKind> = new Set(['business', 'organisation']);

/** Where coordinates in a Chinese CRS can be: mainland, islands and seas (GCJ-02's own box). */
const CHINA = { minLon: 72, maxLon: 138, minLat: 0.8, maxLat: 56 };

/**
 * Checks one record and converts its coordinates to WGS 84.
 * @param record the record as read
 * @param context the import's CRS and 就近划入 reach
 * @returns the address, or every problem found in the record
 */
export function parseAddressRecord(record: SourceRecord, context: RowContext): AddressInput | RowError[] {
  const fields = new Map<Field, unknown>();
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record.values)) {
    const field = fieldOf(name);
    if (field) {
      if (!fields.has(field)) fields.set(field, value);
    } else if (!isBlank(value)) {
      attributes[name] = value;
    }
  }
  const text = (f: Field) => {
    const v = fields.get(f);
    return isBlank(v) ? null : String(v).trim();
  };
  const errors: RowError[] = [];
  const externalId = text('external_id');
  const fail = (field: string, error: RowErrorCode, message: string) =>
    errors.push({ row: record.row, externalId, field, error, message: `${record.label}${externalId ? ` (${externalId})` : ''}: ${message}` });

  if (!externalId) fail('external_id', 'missing_external_id', 'no external_id: every address needs a stable id so a re-import updates it in place');

  const kindText = text('kind');
  const kind = kindText === null ? 'residential' : KIND_OF[kindText.toLowerCase()];
  if (!kind) fail('kind', 'invalid_kind', `kind "${kindText}" is not one of ${ADDRESS_KINDS.join(', ')} (or 住宅, 商户, 单位, 公共设施)`);

  const count = (f: 'households' | 'population', fallback: number) => {
    const v = fields.get(f);
    if (isBlank(v)) return fallback;
    const n = Number(typeof v === 'string' ? v.trim() : v);
    if (!Number.isInteger(n) || n < 0 || n > 1_000_000) {
      fail(f, 'invalid_count', `${f} "${String(v)}" is not a whole number from 0 to 1000000`);
      return 0;
    }
    return n;
  };
  const room = text('room');
  // A row naming a room is one dwelling: one household unless it says otherwise (one row per household).
  const households = count('households', room !== null && kind === 'residential' ? 1 : 0);
  const population = count('population', 0);

  let nearestM: number | null = kind && BY_DISTANCE.has(kind) ? context.nearestM : null;
  const nearestText = text('nearest_m');
  if (nearestText !== null) {
    const n = Number(nearestText);
    if (!Number.isFinite(n) || n < 0 || n > 100_000) fail('nearest_m', 'invalid_nearest', `nearest_m "${nearestText}" is not a distance from 0 to 100000 metres`);
    else nearestM = n > 0 ? n : null;
  }

  const point = coordinates(record, fields, context.crs, fail);

  if (errors.length > 0 || !point || !kind) return errors;
  const street = text('street');
  const door = text('door');
  const building = text('building');
  const unit = text('unit');
  const buildingId = text('building_id');
  // Counting buildings needs an identity: the register's building id, else the door plate plus building.
  const buildingKey = buildingId ?? (door !== null || building !== null ? [street ?? '', door ?? '', building ?? ''].join('|') : null);
  const address = {
    externalId: externalId!,
    kind,
    door,
    street,
    building,
    unit,
    room,
    buildingKey,
    households,
    population,
    nearestM,
    attributes,
    lon: point[0],
    lat: point[1],
  };
  return { row: record.row, label: record.label, ...address, hash: digest(address) };
}

function coordinates(
  record: SourceRecord,
  fields: Map<Field, unknown>,
  importCrs: CrsId,
  fail: (field: string, error: RowErrorCode, message: string) => void,
): [number, number] | null {
  let crs = importCrs;
  const crsValue = fields.get('crs');
  if (!isBlank(crsValue)) {
    try {
      crs = parseCrs(String(crsValue));
    } catch (err) {
      if (!(err instanceof CrsError)) throw err;
      fail('crs', 'unknown_crs', err.message);
      return null;
    }
  }
  let x: unknown;
  let y: unknown;
  let field = 'x, y';
  if (record.geometry !== undefined) {
    field = 'geometry';
    const g = record.geometry as { type?: unknown; coordinates?: unknown } | null;
    if (g === null) {
      fail(field, 'missing_coordinates', 'the feature has no geometry');
      return null;
    }
    if (g.type !== 'Point' || !Array.isArray(g.coordinates)) {
      fail(field, 'invalid_geometry', `expected a Point geometry, got ${typeof g.type === 'string' ? g.type : 'no type'}`);
      return null;
    }
    [x, y] = g.coordinates;
  } else {
    x = fields.get('x');
    y = fields.get('y');
  }
  if (isBlank(x) || isBlank(y)) {
    fail(field, 'missing_coordinates', 'the coordinates are missing');
    return null;
  }
  const xn = Number(typeof x === 'string' ? x.trim() : x);
  const yn = Number(typeof y === 'string' ? y.trim() : y);
  if (typeof x === 'boolean' || typeof y === 'boolean' || !Number.isFinite(xn) || !Number.isFinite(yn)) {
    fail(field, 'invalid_coordinates', `coordinates "${String(x)}", "${String(y)}" are not numbers`);
    return null;
  }
  const zone = gaussKrugerZone(Number(/^EPSG:(\d+)$/.exec(crs)?.[1]));
  if (zone) {
    const offset = xn - zone.falseEasting;
    // A zone spans ±1.5° or ±3° of longitude, under 400 km from the central meridian at China's latitudes.
    if (Math.abs(offset) > 400_000 || yn < 0 || yn > 7_000_000) {
      const swapped = Math.abs(yn - zone.falseEasting) <= 400_000 && xn >= 0 && xn <= 7_000_000;
      fail(
        field,
        'coordinates_out_of_range',
        `easting ${xn}, northing ${yn} are outside ${crs} (zone ${zone.zone}: easting ${zone.falseEasting} ± 400000 m, northing 0–7000000 m); x is the easting${swapped ? ', and x and y look swapped' : ''}`,
      );
      return null;
    }
  } else if (Math.abs(xn) > 180 || Math.abs(yn) > 90) {
    fail(field, 'coordinates_out_of_range', `longitude ${xn}, latitude ${yn} are outside −180…180, −90…90 (${crs})`);
    return null;
  }
  const [lon, lat] = toWgs84(crs)(xn, yn);
  if (crs !== 'EPSG:4326' && (lon < CHINA.minLon || lon > CHINA.maxLon || lat < CHINA.minLat || lat > CHINA.maxLat)) {
    fail(field, 'coordinates_out_of_range', `${crs} coordinates ${xn}, ${yn} fall outside China (${lon.toFixed(5)}, ${lat.toFixed(5)} in WGS 84)`);
    return null;
  }
  return [lon, lat];
}

const isBlank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

function digest(address: Omit<AddressInput, 'row' | 'label' | 'hash'>): string {
  return createHash('sha1').update(JSON.stringify([
    address.externalId, address.kind, address.door, address.street, address.building, address.unit, address.room,
    address.buildingKey, address.households, address.population, address.nearestM, canonical(address.attributes), address.lon, address.lat,
  ])).digest('base64');
}

/** Attributes with their keys sorted, so the digest does not depend on column or property order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}
