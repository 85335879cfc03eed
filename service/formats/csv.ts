import iconv from 'iconv-lite';
import { FormatError } from './errors';
import { isAscii, isUtf8AllowingCutEnd } from './text-encoding';

/** CSV after RFC 4180, as Excel on Chinese Windows reads and writes it (UTF-8 with BOM, or GBK). */

export type CsvEncoding = 'utf-8' | 'gbk';

export interface CsvRecord {
  /** 1-based record number; a quoted field with line breaks still counts once, as in a spreadsheet. */
  row: number;
  values: string[];
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * Formats a table as CSV: fields holding a comma, quote or line break are quoted, quotes doubled, records
 * end in CRLF. null and undefined are empty; objects and arrays are written as JSON, dates as ISO 8601.
 * @param header the column titles
 * @param rows one array per record, as long as the header
 * @param options bom: start with a UTF-8 byte order mark so that Excel reads Chinese text as UTF-8
 *   (default true)
 * @returns the CSV text
 * @throws {FormatError} csv_row_length when a row has more or fewer values than the header
 * @example toCsv(['编码', '名称'], [['A1', '东城, 一网格']]) // '\uFEFF编码,名称\r\nA1,"东城, 一网格"\r\n'
 */
export function toCsv(header: string[], rows: unknown[][], options: { bom?: boolean } = {}): string {
  const lines = [header.map(csvField).join(',')];
  rows.forEach((row, i) => {
    if (row.length !== header.length) {
      throw new FormatError('csv_row_length', `row ${i + 1} has ${row.length} values but the header has ${header.length} columns`);
    }
    lines.push(row.map(csvField).join(','));
  });
  return `${options.bom ?? true ? '\uFEFF' : ''}${lines.join('\r\n')}\r\n`;
}

/**
 * Parses CSV as it streams in, one record at a time, never holding more than the current record and chunk.
 * Handles quoted fields with commas, quotes and line breaks, CRLF/LF/CR line ends and a UTF-8 BOM.
 * With 'auto' the encoding is decided on the first chunk holding a non-ASCII byte (ASCII reads the same
 * either way): a UTF-8 BOM or valid UTF-8 → UTF-8, otherwise GBK. A UTF-8 BOM wins over the option.
 * Empty lines are skipped (their row numbers are not reused). Quotes inside unquoted fields and text after
 * a closing quote are kept as text, as Excel does.
 * @param stream chunks of bytes (or of already decoded text)
 * @param options encoding: 'utf-8', 'gbk' or 'auto' (default)
 * @returns the records, header included
 * @throws {FormatError} csv_unterminated_quote when the input ends inside a quoted field
 * @example for await (const { row, values } of parseCsv(fs.createReadStream(path))) console.log(row, values);
 */
export async function* parseCsv(
  stream: AsyncIterable<Buffer | string>,
  options: { encoding?: CsvEncoding | 'auto' } = {},
): AsyncGenerator<CsvRecord> {
  const wanted = options.encoding ?? 'auto';
  const tokenizer = new CsvTokenizer();
  let decoder: ChunkDecoder | null = null;
  let undecided: Buffer | null = null;
  let first = true;
  for await (const chunk of stream) {
    let text: string;
    if (typeof chunk === 'string') {
      text = first && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk;
    } else {
      let bytes: Buffer = undecided ? Buffer.concat([undecided, chunk]) : chunk;
      undecided = null;
      if (!decoder && first && hasUtf8Bom(bytes)) decoder = createDecoder('utf-8');
      if (!decoder && wanted !== 'auto') decoder = createDecoder(wanted);
      if (!decoder && !isAscii(bytes)) {
        const firstHigh = bytes.findIndex((b) => b >= 0x80);
        // Fewer than four bytes from the first non-ASCII one cannot tell the encodings apart: wait for more.
        if (firstHigh > bytes.length - 4) {
          undecided = bytes.subarray(firstHigh);
          bytes = bytes.subarray(0, firstHigh);
        } else {
          decoder = createDecoder(isUtf8AllowingCutEnd(bytes) ? 'utf-8' : 'gbk');
        }
      }
      text = decoder ? decoder.write(bytes) : bytes.toString('latin1');
    }
    first &&= chunk.length === 0;
    yield* tokenizer.feed(text);
  }
  if (undecided) decoder = createDecoder(isUtf8AllowingCutEnd(undecided) ? 'utf-8' : 'gbk');
  if (decoder) yield* tokenizer.feed(undecided ? decoder.write(undecided) + decoder.end() : decoder.end());
  yield* tokenizer.end();
}

/** Decodes a byte stream chunk by chunk, carrying characters split across chunks. */
interface ChunkDecoder {
  write(chunk: Buffer): string;
  end(): string;
}

function createDecoder(encoding: CsvEncoding): ChunkDecoder {
  if (encoding === 'gbk') {
    const gbk = iconv.getDecoder('gbk');
    return { write: (chunk) => gbk.write(chunk), end: () => gbk.end() ?? '' };
  }
  const utf8 = new TextDecoder('utf-8');
  return { write: (chunk) => utf8.decode(chunk, { stream: true }), end: () => utf8.decode() };
}

function hasUtf8Bom(chunk: Buffer): boolean {
  return chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf;
}

function csvField(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (typeof value === 'string') text = value;
  else if (typeof value === 'number') text = Number.isFinite(value) ? String(value) : '';
  else if (value instanceof Date) text = Number.isNaN(value.getTime()) ? '' : value.toISOString();
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Tokenizer states: before a field, inside an unquoted or a quoted field, after a quote inside quotes. */
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_IN_QUOTED = 3;
type State = typeof FIELD_START | typeof UNQUOTED | typeof QUOTED | typeof QUOTE_IN_QUOTED;

/** A push tokenizer: text goes in chunk by chunk, complete records come out. */
class CsvTokenizer {
  private state: State = FIELD_START;
  private field = '';
  private values: string[] = [];
  private quoted = false;
  private row = 1;
  private skipLf = false;

  *feed(text: string): Generator<CsvRecord> {
    const n = text.length;
    let i = 0;
    if (this.skipLf && n > 0) {
      if (text.charCodeAt(0) === LF) i = 1;
      this.skipLf = false;
    }
    while (i < n) {
      switch (this.state) {
        case FIELD_START:
          if (text.charCodeAt(i) === QUOTE) {
            this.state = QUOTED;
            this.quoted = true;
            i++;
          } else {
            this.state = UNQUOTED;
          }
          break;
        case UNQUOTED: {
          let j = i;
          let c = 0;
          while (j < n) {
            c = text.charCodeAt(j);
            if (c === COMMA || c === LF || c === CR) break;
            j++;
          }
          this.field += text.slice(i, j);
          if (j === n) return;
          i = j + 1;
          this.values.push(this.field);
          this.field = '';
          this.state = FIELD_START;
          if (c !== COMMA) {
            const record = this.endRecord();
            if (record) yield record;
            if (c === CR) {
              if (i < n) {
                if (text.charCodeAt(i) === LF) i++;
              } else {
                this.skipLf = true;
              }
            }
          }
          break;
        }
        case QUOTED: {
          const j = text.indexOf('"', i);
          if (j === -1) {
            this.field += text.slice(i);
            return;
          }
          this.field += text.slice(i, j);
          i = j + 1;
          this.state = QUOTE_IN_QUOTED;
          break;
        }
        case QUOTE_IN_QUOTED:
          if (text.charCodeAt(i) === QUOTE) {
            this.field += '"';
            this.state = QUOTED;
            i++;
          } else {
            this.state = UNQUOTED;
          }
          break;
      }
    }
  }

  *end(): Generator<CsvRecord> {
    if (this.state === QUOTED) {
      throw new FormatError('csv_unterminated_quote', `row ${this.row}: a quoted field is not closed before the end of the file`);
    }
    if (this.values.length > 0 || this.field !== '' || this.quoted) {
      this.values.push(this.field);
      this.field = '';
      const record = this.endRecord();
      if (record) yield record;
    }
  }

  /** Closes the current record; an empty line gives none. */
  private endRecord(): CsvRecord | null {
    const values = this.values;
    const blank = values.length === 1 && values[0] === '' && !this.quoted;
    const row = this.row++;
    this.values = [];
    this.quoted = false;
    return blank ? null : { row, values };
  }
}
