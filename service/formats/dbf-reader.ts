import iconv from 'iconv-lite';
import { FormatError } from './errors';
import { isAscii, isUtf8, isUtf8AllowingCutEnd } from './text-encoding';

/**
 * Reads dBase III tables as used by shapefiles (the attribute part). Hand-written rather than `parsedbf`
 * (the reader inside shpjs) because Chinese files need the raw bytes: parsedbf decodes with TextDecoder
 * before the language driver byte could be read or the bytes tested for UTF-8.
 */

export type DbfValue = string | number | boolean | null;
export type DbfRecord = Record<string, DbfValue>;

/** Where the reader took the text encoding from, most authoritative first. */
export type DbfEncodingSource = 'cpg' | 'ldid' | 'detected';

export interface DbfTable {
  /** One entry per record, in file order; null for records flagged deleted. */
  records: (DbfRecord | null)[];
  /** The iconv-lite name the text was decoded with ('utf-8', 'gbk', 'gb18030', 'cp950', 'cp1252', …). */
  encoding: string;
  encodingSource: DbfEncodingSource;
  warnings: string[];
}

/**
 * Language driver ids (byte 29 of the header) that name a code page, after the ESRI/ArcPad table. 0x00
 * and 0x57 ("current ANSI code page") say nothing; Chinese files usually carry one of those, or 0x4D.
 */
const LDID_ENCODINGS: Record<number, string> = {
  0x01: 'cp437',
  0x02: 'cp850',
  0x03: 'cp1252',
  0x4d: 'gbk',
  0x4e: 'cp949',
  0x4f: 'cp950',
  0x50: 'cp874',
  0x58: 'cp1252',
  0x59: 'cp1252',
  0x64: 'cp852',
  0x65: 'cp866',
  0x78: 'cp950',
  0x79: 'cp949',
  0x7a: 'gbk',
  0x7b: 'cp932',
  0x7c: 'cp874',
  0xc8: 'cp1250',
  0xc9: 'cp1251',
};

/** .cpg spellings seen in the wild for the encodings that matter here; other labels go to iconv-lite. */
const CPG_ALIASES: Record<string, string> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  '65001': 'utf-8',
  gbk: 'gbk',
  cp936: 'gbk',
  '936': 'gbk',
  gb2312: 'gbk',
  'euc-cn': 'gbk',
  gb18030: 'gb18030',
  '54936': 'gb18030',
  big5: 'cp950',
  '950': 'cp950',
};

/**
 * Maps the text of a .cpg file to an iconv-lite encoding name.
 * @param label e.g. "UTF-8", "GBK", "936", "ANSI 936", "CP936", "GB2312", "1252"
 * @returns the encoding name, or null when iconv-lite knows no such encoding
 */
export function encodingFromCpg(label: string): string | null {
  const key = label.trim().toLowerCase().replace(/^ansi[\s_]*/, '').replace(/\s+/g, '');
  const alias = CPG_ALIASES[key];
  if (alias) return alias;
  const name = /^\d+$/.test(key) ? `cp${key}` : key;
  return iconv.encodingExists(name) ? name : null;
}

/**
 * Reads a DBF table. Text is decoded with the .cpg encoding when given and known, else with the language
 * driver id byte, else by detection: valid UTF-8 → UTF-8, otherwise GBK (Chinese shapefiles written by
 * ArcGIS without a .cpg are GBK).
 * @param bytes the .dbf file
 * @param cpg the text of the .cpg file, or null when there is none
 * @param fileName named in messages
 * @returns the records (null for deleted ones), the encoding used and warnings
 * @throws {FormatError} dbf_invalid when the header is malformed or the file is truncated
 * @example readDbf(await entry.async('nodebuffer'), 'GBK', 'grids.dbf').records[0] // { 名称: '东城网格', 户数: 320 }
 */
export function readDbf(bytes: Buffer, cpg: string | null, fileName: string): DbfTable {
  const invalid = (why: string) => new FormatError('dbf_invalid', `${fileName} is not a readable DBF table: ${why}`);
  if (bytes.length < 33) throw invalid(`only ${bytes.length} bytes`);
  const count = bytes.readUInt32LE(4);
  const headerLength = bytes.readUInt16LE(8);
  const recordLength = bytes.readUInt16LE(10);
  if (headerLength < 33 || recordLength < 1) throw invalid(`its header declares ${headerLength}-byte headers and ${recordLength}-byte records`);
  const warnings: string[] = [];

  const fields: { rawName: Buffer; type: string; offset: number; length: number }[] = [];
  let offset = 1;
  for (let at = 32; at < headerLength && bytes[at] !== 0x0d; at += 32) {
    if (at + 32 > bytes.length) throw invalid('the field descriptors run past the end of the file');
    const nameEnd = bytes.indexOf(0, at);
    const rawName = bytes.subarray(at, nameEnd === -1 || nameEnd > at + 11 ? at + 11 : nameEnd);
    const type = String.fromCharCode(bytes[at + 11]).toUpperCase();
    // Numeric fields store decimals in byte 17; other types use it as the high byte of the length (shapelib).
    const length = type === 'N' || type === 'F' ? bytes[at + 16] : bytes[at + 16] + bytes[at + 17] * 256;
    fields.push({ rawName, type, offset, length });
    offset += length;
  }
  if (offset > recordLength) throw invalid(`its fields need ${offset} bytes per record but the header declares ${recordLength}`);
  if (headerLength + count * recordLength > bytes.length) {
    throw invalid(`the header declares ${count} records of ${recordLength} bytes but the file holds ${bytes.length} bytes`);
  }

  const recordAt = (i: number) => headerLength + i * recordLength;
  const textCells = function* (): Generator<[Buffer, number]> {
    for (const f of fields) yield [f.rawName, 11];
    for (let i = 0; i < count; i++) {
      for (const f of fields) if (f.type === 'C') yield [trimEnd(bytes, recordAt(i) + f.offset, f.length), f.length];
    }
  };
  const { encoding, source } = chooseEncoding(cpg, bytes[29], textCells, fileName, warnings);
  const decode = (raw: Buffer) => (isAscii(raw) ? raw.toString('latin1') : iconv.decode(raw, encoding));

  const names = uniqueNames(fields.map((f) => decode(f.rawName).trim()), fileName, warnings);
  fields.forEach((f, i) => {
    if (!'CNFLD'.includes(f.type)) warnings.push(`${fileName}: field ${names[i]} has type '${f.type}', which is not read (its values are null)`);
  });

  const records: (DbfRecord | null)[] = [];
  let deleted = 0;
  for (let i = 0; i < count; i++) {
    const start = recordAt(i);
    if (bytes[start] === 0x2a) {
      records.push(null);
      deleted++;
      continue;
    }
    const record: DbfRecord = {};
    fields.forEach((f, k) => {
      record[names[k]] = readCell(bytes, start + f.offset, f.length, f.type, decode);
    });
    records.push(record);
  }
  if (deleted > 0) warnings.push(`${fileName}: ${deleted} records flagged deleted were skipped`);
  return { records, encoding, encodingSource: source, warnings };
}

function chooseEncoding(
  cpg: string | null,
  ldid: number,
  textCells: () => Iterable<[Buffer, number]>,
  fileName: string,
  warnings: string[],
): { encoding: string; source: DbfEncodingSource } {
  if (cpg !== null && cpg.trim() !== '') {
    const encoding = encodingFromCpg(cpg);
    if (encoding) return { encoding, source: 'cpg' };
    warnings.push(`${fileName}: the .cpg names an unknown encoding "${cpg.trim()}"; the encoding was detected instead`);
  }
  const fromLdid = LDID_ENCODINGS[ldid];
  if (fromLdid) return { encoding: fromLdid, source: 'ldid' };
  for (const [raw, width] of textCells()) {
    // A full-width value may have been cut mid-character by the tool that wrote it.
    if (!(raw.length === width ? isUtf8AllowingCutEnd(raw) : isUtf8(raw))) return { encoding: 'gbk', source: 'detected' };
  }
  return { encoding: 'utf-8', source: 'detected' };
}

function uniqueNames(decoded: string[], fileName: string, warnings: string[]): string[] {
  const seen = new Set<string>();
  return decoded.map((raw, i) => {
    let name = raw || `FIELD_${i + 1}`;
    for (let n = 2; seen.has(name); n++) name = `${raw || `FIELD_${i + 1}`}_${n}`;
    if (raw && name !== raw) warnings.push(`${fileName}: field name ${raw} appears more than once; the later one is read as ${name}`);
    seen.add(name);
    return name;
  });
}

/** The bytes of a cell without the trailing blanks and NULs that pad it (never part of a GBK or UTF-8 character). */
function trimEnd(bytes: Buffer, start: number, length: number): Buffer {
  let end = start + length;
  while (end > start && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x00)) end--;
  return bytes.subarray(start, end);
}

function readCell(bytes: Buffer, start: number, length: number, type: string, decode: (raw: Buffer) => string): DbfValue {
  const raw = trimEnd(bytes, start, length);
  switch (type) {
    case 'C': {
      if (raw.length === 0) return null;
      const text = decode(raw);
      // A value the writing tool cut mid-character ends in a replacement character.
      return raw.length === length ? text.replace(/\uFFFD$/, '') : text;
    }
    case 'N':
    case 'F': {
      const text = raw.toString('latin1').trim();
      if (text === '' || /^\*+$/.test(text)) return null;
      const n = Number(text);
      return Number.isFinite(n) ? n : null;
    }
    case 'L': {
      const c = raw.toString('latin1').trim().toUpperCase();
      return c === 'T' || c === 'Y' ? true : c === 'F' || c === 'N' ? false : null;
    }
    case 'D': {
      const text = raw.toString('latin1').trim();
      return /^\d{8}$/.test(text) && text !== '00000000' ? `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}` : null;
    }
    default:
      return null;
  }
}
