import fs from 'node:fs';
import { badRequest } from '../kernel/errors';
import { openZipEntry, readZipDirectory, type ZipEntry } from './zip-file';

/**
 * A streaming reader of the first worksheet of an XLSX workbook (Office Open XML, ECMA-376), written by
 * hand: the maintained npm readers either load the whole sheet into memory or bring a large dependency
 * tree for what is a zip directory, one inflate stream and a few XML elements. The sheet is inflated and
 * scanned row by row, so memory holds one chunk and the shared-string table (which the format requires
 * to be resolved before any row can be read).
 */

export interface XlsxRow {
  /** The sheet's own row number (1 = first row, usually the header). */
  row: number;
  values: string[];
}


/**
 * @param path an .xlsx file on disk (the upload is spooled first: a zip is read from its end)
 * @returns the rows of the first worksheet in order, cell values as text
 * @throws AppError 400 invalid_xlsx naming what is missing or broken
 * @example for await (const { row, values } of readXlsxRows('/tmp/upload.xlsx')) console.log(row, values);
 */
export async function* readXlsxRows(path: string): AsyncGenerator<XlsxRow> {
  const handle = await fs.promises.open(path, 'r');
  try {
    const entries = await readZipDirectory(handle, invalid);
    const sheetPath = await firstSheetPath(handle, entries);
    const shared = entries.has('xl/sharedStrings.xml') ? await sharedStrings(handle, entries.get('xl/sharedStrings.xml')!) : [];
    const sheet = entries.get(sheetPath);
    if (!sheet) throw invalid(`the workbook names ${sheetPath} as its first sheet, but the file has no such part`);
    let nextRow = 1;
    for await (const element of elements(handle, sheet, 'row')) {
      const attrs = element.slice(0, element.indexOf('>'));
      const r = /\br="(\d+)"/.exec(attrs);
      const row = r ? Number(r[1]) : nextRow;
      nextRow = row + 1;
      yield { row, values: cells(element, shared) };
    }
  } finally {
    await handle.close();
  }
}

const invalid = (message: string) => badRequest('invalid_xlsx', `XLSX import: ${message}`);

async function readPart(handle: fs.promises.FileHandle, entry: ZipEntry): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await openZipEntry(handle, entry, invalid)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The first sheet in workbook order, through the workbook's relationships. */
async function firstSheetPath(handle: fs.promises.FileHandle, entries: Map<string, ZipEntry>): Promise<string> {
  const workbook = entries.get('xl/workbook.xml');
  const rels = entries.get('xl/_rels/workbook.xml.rels');
  if (!workbook || !rels) throw invalid('the file has no xl/workbook.xml: it is a zip, but not an XLSX workbook');
  const sheet = /<(?:\w+:)?sheet\b[^>]*?\br:id="([^"]+)"/.exec(await readPart(handle, workbook));
  if (!sheet) throw invalid('the workbook has no sheets');
  const relsXml = await readPart(handle, rels);
  for (const m of relsXml.matchAll(/<(?:\w+:)?Relationship\b([^>]*)>/g)) {
    const attrs = m[1]!;
    if (/\bId="([^"]+)"/.exec(attrs)?.[1] !== sheet[1]) continue;
    const target = unescapeXml(/\bTarget="([^"]+)"/.exec(attrs)?.[1] ?? '');
    return target.startsWith('/') ? target.slice(1) : `xl/${target}`;
  }
  throw invalid(`the workbook's first sheet (${sheet[1]}) has no relationship target`);
}

async function sharedStrings(handle: fs.promises.FileHandle, entry: ZipEntry): Promise<string[]> {
  const out: string[] = [];
  for await (const si of elements(handle, entry, 'si')) out.push(richText(si));
  return out;
}

/**
 * The complete `<name …>…</name>` (or `<name …/>`) elements of a part, in order, one chunk of XML in
 * memory at a time. Namespace prefixes (`<x:row>`) are accepted.
 */
async function* elements(handle: fs.promises.FileHandle, entry: ZipEntry, name: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  const open = new RegExp(`<(?:\\w+:)?${name}[\\s/>]`, 'g');
  let buffer = '';
  for await (const chunk of await openZipEntry(handle, entry, invalid)) {
    buffer += decoder.decode(chunk as Buffer, { stream: true });
    let consumed = 0;
    for (;;) {
      open.lastIndex = consumed;
      const start = open.exec(buffer);
      if (!start) {
        // Keep a possible partial opening tag at the end of the chunk.
        consumed = Math.max(consumed, buffer.length - name.length - 16);
        break;
      }
      const headEnd = buffer.indexOf('>', start.index);
      if (headEnd < 0) {
        consumed = start.index;
        break;
      }
      if (buffer[headEnd - 1] === '/') {
        yield buffer.slice(start.index, headEnd + 1);
        consumed = headEnd + 1;
        continue;
      }
      const prefix = start[0].slice(1, start[0].length - 1 - name.length);
      const close = `</${prefix}${name}>`;
      const end = buffer.indexOf(close, headEnd);
      if (end < 0) {
        consumed = start.index;
        break;
      }
      yield buffer.slice(start.index, end + close.length);
      consumed = end + close.length;
    }
    buffer = buffer.slice(Math.max(0, consumed));
  }
}

const CELL = /<(?:\w+:)?c\b([^>]*?)(?:\/>|>([\s\S]*?)<\/(?:\w+:)?c>)/g;
const VALUE = /<(?:\w+:)?v>([\s\S]*?)<\/(?:\w+:)?v>/;

/** Cell texts of one row, placed by their column letters (a sparse row leaves empty strings). */
function cells(rowXml: string, shared: string[]): string[] {
  const values: string[] = [];
  let next = 0;
  for (const m of rowXml.matchAll(CELL)) {
    const attrs = m[1]!;
    const body = m[2] ?? '';
    const ref = /\br="([A-Z]+)\d*"/.exec(attrs);
    const column = ref ? columnIndex(ref[1]!) : next;
    next = column + 1;
    const type = /\bt="(\w+)"/.exec(attrs)?.[1] ?? 'n';
    let text: string;
    if (type === 'inlineStr') {
      text = richText(body);
    } else {
      const v = VALUE.exec(body);
      const raw = v ? unescapeXml(v[1]!) : '';
      if (type === 's') text = raw === '' ? '' : shared[Number(raw)] ?? '';
      else if (type === 'b') text = raw === '1' ? 'true' : raw === '0' ? 'false' : raw;
      else text = raw;
    }
    while (values.length < column) values.push('');
    values[column] = text;
  }
  return values;
}

/** The text of a string item: its `<t>` runs joined, phonetic guides (`<rPh>`) left out. */
function richText(xml: string): string {
  const withoutPhonetic = xml.replace(/<(?:\w+:)?rPh\b[\s\S]*?<\/(?:\w+:)?rPh>/g, '');
  let text = '';
  for (const m of withoutPhonetic.matchAll(/<(?:\w+:)?t(?:\s[^>]*)?>([\s\S]*?)<\/(?:\w+:)?t>/g)) text += unescapeXml(m[1]!);
  return text;
}

function columnIndex(letters: string): number {
  let n = 0;
  for (let i = 0; i < letters.length; i++) n = n * 26 + (letters.charCodeAt(i) - 64);
  return n - 1;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** XML entities, then the OOXML `_xHHHH_` escapes of control characters. */
function unescapeXml(s: string): string {
  return s
    .replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (whole, e: string) => {
      if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
      return ENTITIES[e] ?? whole;
    })
    .replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
