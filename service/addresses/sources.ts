import { badRequest } from '../errors';
import { parseCrs, type CrsId } from '../geometry/crs/index';
import { readGeoJson } from '../formats/address-geojson';
import { fieldOf, type SourceRecord } from './rows';

/** Properties our own GeoJSON output adds, which an import of that output must not take as attributes. */
const OUTPUT_ONLY = new Set(['grids', 'version', 'updated_at']);

/**
 * Records of a table (CSV or XLSX rows): the first non-empty row is the header, which must name an
 * external id and both coordinates; every later row becomes a record keyed by column title.
 * @throws AppError 400 missing_column naming the columns that are needed
 */
export async function* tabularRecords(rows: AsyncIterable<{ row: number; values: string[] }>): AsyncGenerator<SourceRecord> {
  let header: string[] | null = null;
  for await (const { row, values } of rows) {
    if (!header) {
      if (values.every((v) => v.trim() === '')) continue;
      header = values.map((v) => v.replace(/^\uFEFF/, '').trim());
      const fields = new Set(header.map(fieldOf));
      const missing = [
        ...(fields.has('external_id') ? [] : ['external_id (编号)']),
        ...(fields.has('x') ? [] : ['x or lon (经度, 东坐标)']),
        ...(fields.has('y') ? [] : ['y or lat (纬度, 北坐标)']),
      ];
      if (missing.length > 0) {
        throw badRequest('missing_column', `the header row (row ${row}) has no column for ${missing.join(', ')}; it has: ${header.join(', ')}`);
      }
      continue;
    }
    if (values.every((v) => v.trim() === '')) continue;
    const record: Record<string, unknown> = {};
    header.forEach((title, i) => {
      if (title !== '' && !(title in record)) record[title] = values[i] ?? '';
    });
    yield { row, label: `row ${row}`, values: record };
  }
  if (!header) throw badRequest('empty_import', 'the file holds no rows');
}

/**
 * Records of a GeoJSON FeatureCollection, streamed. A legacy `crs` member must agree with the import's
 * CRS (CGCS2000 and WGS 84 agree: they differ by less than a metre), so that a file in a projected zone
 * is never read as longitude and latitude.
 * @throws AppError 400 crs_mismatch when the file declares another CRS than the import
 */
export async function* geoJsonRecords(stream: AsyncIterable<Buffer | string>, crs: CrsId): AsyncGenerator<SourceRecord> {
  for await (const event of readGeoJson(stream)) {
    if (event.kind === 'member') {
      if (event.name === 'crs') checkCrsMember(event.value, crs);
      continue;
    }
    const f = (event.feature ?? {}) as { type?: unknown; id?: unknown; properties?: unknown; geometry?: unknown };
    const properties = f && typeof f.properties === 'object' && f.properties !== null ? (f.properties as Record<string, unknown>) : {};
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(properties)) if (!OUTPUT_ONLY.has(k)) values[k] = v;
    if (f.id !== undefined && f.id !== null && !Object.keys(values).some((k) => fieldOf(k) === 'external_id')) values.external_id = f.id;
    const geometry = f.type === 'Feature' ? (f.geometry ?? null) : { type: `${String(f.type)} (not a Feature)` };
    yield { row: event.index, label: `feature ${event.index}`, values, geometry };
  }
}

const GEOGRAPHIC = new Set<CrsId>(['EPSG:4326', 'EPSG:4490']);

function checkCrsMember(member: unknown, crs: CrsId): void {
  const name = (member as { properties?: { name?: unknown } } | null)?.properties?.name;
  if (typeof name !== 'string') return;
  let declared: CrsId;
  try {
    // GeoJSON 2008's default and most common declaration: urn:ogc:def:crs:OGC:1.3:CRS84.
    declared = /crs84$/i.test(name) ? 'EPSG:4326' : parseCrs(name);
  } catch {
    throw badRequest('crs_mismatch', `the file declares the coordinate system "${name}", which gridatlas does not know; pass crs= with the right one`);
  }
  if (declared !== crs && !(GEOGRAPHIC.has(declared) && GEOGRAPHIC.has(crs))) {
    throw badRequest('crs_mismatch', `the file declares ${declared} but the import was asked for ${crs}; pass crs=${declared} if the file is right`);
  }
}
