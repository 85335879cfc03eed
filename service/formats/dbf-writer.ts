import iconv from 'iconv-lite';
import type { GeoJsonProperties } from 'geojson';
import { FormatError } from './errors';

/**
 * Writes dBase III tables for shapefiles, in UTF-8 or GBK. Hand-written because @mapbox/shp-write (via
 * the `dbf` package) measures and encodes text as single-byte characters and knows no GBK.
 */

/** Encodings the writer offers: UTF-8, and GBK for desktop GIS on Chinese Windows. */
export type DbfEncoding = 'utf-8' | 'gbk';

/** The LDID the writer stores, so that tools ignoring the .cpg still find GBK. UTF-8 has no LDID. */
const WRITER_LDID: Record<DbfEncoding, number> = { 'utf-8': 0x00, gbk: 0x4d };

const MAX_FIELDS = 255;
const MAX_TEXT_BYTES = 254;
const MAX_NAME_BYTES = 10;
const MAX_DECIMALS = 15;

/**
 * Writes a DBF table: numbers as N, booleans as L, everything else as C text (nested objects and arrays as
 * JSON). Text is encoded in `encoding` and measured in encoded bytes; a value longer than 254 bytes is an
 * error, never cut (issue #16: a silent cut loses data). null, undefined and '' are written blank (and read
 * back as null).
 * @param properties one property object per record
 * @param encoding 'utf-8' or 'gbk'; GBK cannot hold every Unicode character and writes '?' for those
 * @param date the "last updated" date of the header
 * @returns the .dbf bytes; field names are those of `dbfFieldNames`
 * @throws {FormatError} dbf_too_many_fields beyond 255 distinct property keys; dbf_value_too_long for a text
 *   value over 254 bytes, with the record index, property key and byte length in `details`
 * @example writeDbf([{ 名称: '东城网格', 户数: 320 }], 'gbk', new Date()) // a table with fields 名称 (C 8) and 户数 (N 3)
 */
export function writeDbf(properties: GeoJsonProperties[], encoding: DbfEncoding, date: Date): Buffer {
  const present = [...new Set(properties.flatMap((row) => (row ? Object.keys(row) : [])))];
  // ArcGIS rejects tables without fields; like GDAL, write the record number as FID then.
  const rows: GeoJsonProperties[] = present.length > 0 ? properties : properties.map((_, i) => ({ FID: i }));
  const keys = present.length > 0 ? present : ['FID'];
  if (keys.length > MAX_FIELDS) {
    throw new FormatError('dbf_too_many_fields', `a shapefile holds at most ${MAX_FIELDS} attributes; these features have ${keys.length}`);
  }
  const fieldNames = dbfFieldNames(keys, encoding);
  const columns = keys.map((key) => describeColumn(key, rows.map((row) => row?.[key]), encoding));
  const headerLength = 32 + 32 * columns.length + 1;
  const recordLength = 1 + columns.reduce((sum, c) => sum + c.length, 0);
  const out = Buffer.alloc(headerLength + rows.length * recordLength + 1, 0x20);

  out.fill(0, 0, headerLength);
  out[0] = 0x03;
  out[1] = date.getUTCFullYear() - 1900;
  out[2] = date.getUTCMonth() + 1;
  out[3] = date.getUTCDate();
  out.writeUInt32LE(rows.length, 4);
  out.writeUInt16LE(headerLength, 8);
  out.writeUInt16LE(recordLength, 10);
  out[29] = WRITER_LDID[encoding];
  columns.forEach((column, i) => {
    const at = 32 + 32 * i;
    iconv.encode(fieldNames.get(column.key)!, encoding).copy(out, at);
    out[at + 11] = column.type.charCodeAt(0);
    out[at + 16] = column.length;
    out[at + 17] = column.decimals;
  });
  out[headerLength - 1] = 0x0d;

  rows.forEach((row, r) => {
    let at = headerLength + r * recordLength + 1;
    for (const column of columns) {
      writeCell(out, at, column, row?.[column.key], encoding);
      at += column.length;
    }
  });
  out[out.length - 1] = 0x1a;
  return out;
}

/**
 * DBF field names for property keys: at most 10 bytes in `encoding`, cut at a character boundary, unique
 * regardless of case (a numbered suffix resolves clashes: "population_1").
 * @param keys property keys in column order
 * @param encoding the encoding the names are stored in
 * @returns property key → field name
 * @example dbfFieldNames(['households_urban', 'households_rural'], 'utf-8') // households, househol_1
 */
export function dbfFieldNames(keys: string[], encoding: DbfEncoding): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const key of keys) {
    const base = truncateText(key.replace(/\0/g, '') || 'FIELD', MAX_NAME_BYTES, encoding);
    let name = base;
    for (let n = 1; taken.has(name.toUpperCase()); n++) {
      const suffix = `_${n}`;
      name = truncateText(base, MAX_NAME_BYTES - suffix.length, encoding) + suffix;
    }
    taken.add(name.toUpperCase());
    names.set(key, name);
  }
  return names;
}

interface Column {
  key: string;
  type: 'C' | 'N' | 'L';
  length: number;
  decimals: number;
}

function describeColumn(key: string, values: unknown[], encoding: DbfEncoding): Column {
  const present = values.filter((v) => v !== null && v !== undefined && !(typeof v === 'number' && !Number.isFinite(v)));
  if (present.length > 0 && present.every((v) => typeof v === 'boolean')) return { key, type: 'L', length: 1, decimals: 0 };
  // Beyond 1e21 toFixed switches to exponent notation, which N fields cannot hold: such columns become text.
  if (present.length > 0 && present.every((v) => typeof v === 'number' && Math.abs(v) < 1e21)) {
    const numbers = present as number[];
    const decimals = Math.min(MAX_DECIMALS, Math.max(...numbers.map(fractionDigits)));
    const length = Math.max(...numbers.map((n) => n.toFixed(decimals).length));
    return { key, type: 'N', length, decimals };
  }
  let length = 1;
  values.forEach((value, record) => {
    const text = cellText(value);
    if (text === null) return;
    const size = byteLength(text, encoding);
    if (size > MAX_TEXT_BYTES) {
      throw new FormatError(
        'dbf_value_too_long',
        `record ${record}, field "${key}": ${size} bytes in ${encoding}, but a DBF text field holds at most ${MAX_TEXT_BYTES}`,
        { record, field: key, bytes: size },
      );
    }
    length = Math.max(length, size);
  });
  return { key, type: 'C', length, decimals: 0 };
}

function writeCell(out: Buffer, at: number, column: Column, value: unknown, encoding: DbfEncoding): void {
  switch (column.type) {
    case 'L':
      out[at] = value === true ? 0x54 : value === false ? 0x46 : 0x3f;
      return;
    case 'N': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return;
      const text = value.toFixed(column.decimals);
      out.write(text, at + column.length - text.length, 'latin1');
      return;
    }
    case 'C': {
      const text = cellText(value);
      if (text === null) return;
      iconv.encode(text, encoding).copy(out, at);
    }
  }
}

function cellText(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? null;
}

/** Digits after the decimal point in the shortest representation of `n` (1e-7 → 7). */
function fractionDigits(n: number): number {
  const text = String(n);
  const e = text.indexOf('e');
  const mantissa = e === -1 ? text : text.slice(0, e);
  const dot = mantissa.indexOf('.');
  const digits = dot === -1 ? 0 : mantissa.length - dot - 1;
  return Math.max(0, digits - (e === -1 ? 0 : Number(text.slice(e + 1))));
}

function byteLength(text: string, encoding: DbfEncoding): number {
  return encoding === 'utf-8' ? Buffer.byteLength(text, 'utf8') : iconv.encode(text, encoding).length;
}

/** The longest prefix of `text` that fits in `maxBytes` once encoded, cut between characters. */
function truncateText(text: string, maxBytes: number, encoding: DbfEncoding): string {
  if (byteLength(text, encoding) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = byteLength(char, encoding);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}
