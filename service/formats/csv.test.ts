import v8 from 'node:v8';
import vm from 'node:vm';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { parseCsv, toCsv, type CsvRecord } from './csv';
import { FormatError } from './errors';

async function* chunksOf(bytes: Buffer | string, size: number): AsyncGenerator<Buffer | string> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

async function parseAll(bytes: Buffer | string, options: Parameters<typeof parseCsv>[1] = {}, chunkSize = 64 * 1024): Promise<CsvRecord[]> {
  const records: CsvRecord[] = [];
  for await (const record of parseCsv(chunksOf(bytes, chunkSize), options)) records.push(record);
  return records;
}

const values = (records: CsvRecord[]) => records.map((r) => r.values);

const REGISTER = [
  ['110101001001001', '东华门社区第一网格', '张伟', '管辖范围: 东华门大街1号—20号'],
  ['110101001001002', '王府井 "商业" 网格', '李娜、赵强', '含两栋写字楼,\r\n以及一处市场'],
  ['110101001001003', '', '', ''],
];

describe('toCsv', () => {
  it('quotes commas, quotes and line breaks, ends records in CRLF and starts with a BOM by default', () => {
    expect(toCsv(['编码', '名称'], [['A1', '东城, 一网格'], ['A2', '他说"好"'], ['A3', '两行\n文字']])).toBe(
      '\uFEFF编码,名称\r\nA1,"东城, 一网格"\r\nA2,"他说""好"""\r\nA3,"两行\n文字"\r\n',
    );
    expect(toCsv(['a'], [['x']], { bom: false })).toBe('a\r\nx\r\n');
  });

  it('writes numbers, booleans, dates and nested values; null and undefined as empty', () => {
    const row = [1.5, true, null, undefined, new Date(Date.UTC(2024, 4, 1)), { 户数: 3 }, Number.NaN];
    expect(toCsv(['a', 'b', 'c', 'd', 'e', 'f', 'g'], [row], { bom: false }).split('\r\n')[1]).toBe(
      '1.5,true,,,2024-05-01T00:00:00.000Z,"{""户数"":3}",',
    );
  });

  it('rejects a row whose length differs from the header', () => {
    expect(() => toCsv(['a', 'b'], [['1', '2'], ['3']])).toThrow(FormatError);
    expect(() => toCsv(['a', 'b'], [['1', '2'], ['3']])).toThrow('row 2 has 1 values but the header has 2 columns');
  });
});

describe('parseCsv', () => {
  const header = ['编码', '名称', '责任人', '备注'];
  const csv = toCsv(header, REGISTER);

  it('reads back what toCsv writes, whatever the chunk boundaries', async () => {
    for (const size of [1, 2, 3, 7, 64 * 1024]) {
      const records = await parseAll(Buffer.from(csv, 'utf8'), {}, size);
      expect(values(records)).toEqual([header, ...REGISTER]);
      expect(records.map((r) => r.row)).toEqual([1, 2, 3, 4]);
    }
  });

  it('handles LF, CRLF and CR line ends, a missing final line end, empty fields and blank lines', async () => {
    const records = await parseAll('a,b\n1,\r\n\r\n,2\r"",""\n\n"x\r\ny",z');
    expect(records).toEqual([
      { row: 1, values: ['a', 'b'] },
      { row: 2, values: ['1', ''] },
      { row: 4, values: ['', '2'] },
      { row: 5, values: ['', ''] },
      { row: 7, values: ['x\r\ny', 'z'] },
    ]);
  });

  it('keeps stray quotes as text, as Excel does', async () => {
    expect(values(await parseAll('ab"c,"d"e,"f""g"\n'))).toEqual([['ab"c', 'de', 'f"g']]);
  });

  it('detects GBK, also when the first chunks are ASCII', async () => {
    const gbk = iconv.encode(toCsv(header, REGISTER, { bom: false }), 'gbk');
    expect(values(await parseAll(gbk))).toEqual([header, ...REGISTER]);
    const englishHeader = Buffer.concat([Buffer.from('code,name,person,note\r\n'), iconv.encode(toCsv(header, REGISTER, { bom: false }).split('\r\n').slice(1).join('\r\n'), 'gbk')]);
    expect(values(await parseAll(englishHeader, {}, 8))).toEqual([['code', 'name', 'person', 'note'], ...REGISTER]);
    // 中 is D6 D0 in GBK; a chunk ending in D6 alone would pass for the start of a UTF-8 character.
    expect(values(await parseAll(iconv.encode('a,中文\r\n', 'gbk'), {}, 3))).toEqual([['a', '中文']]);
    expect(values(await parseAll(iconv.encode('a,中', 'gbk'), {}, 3))).toEqual([['a', '中']]);
  });

  it('takes the encoding given, but a UTF-8 BOM wins', async () => {
    const gbk = iconv.encode('名称\r\n东城\r\n', 'gbk');
    expect(values(await parseAll(gbk, { encoding: 'gbk' }))).toEqual([['名称'], ['东城']]);
    expect(values(await parseAll(Buffer.from(csv, 'utf8'), { encoding: 'gbk' }))[0]).toEqual(header);
    expect(values(await parseAll(Buffer.from('名称\n东城\n', 'utf8'), { encoding: 'utf-8' }))).toEqual([['名称'], ['东城']]);
  });

  it('accepts text chunks and strips their BOM', async () => {
    expect(values(await parseAll(csv, {}, 5))).toEqual([header, ...REGISTER]);
  });

  it('rejects a quoted field that never closes, naming the row', async () => {
    const error = await parseAll('a,b\n1,"open\n2,3\n').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect(error).toMatchObject({ code: 'csv_unterminated_quote', message: 'row 2: a quoted field is not closed before the end of the file' });
  });

  it('streams a million rows in bounded memory', async () => {
    const ROWS = 1_000_000;
    async function* generated(): AsyncGenerator<Buffer> {
      const lines: string[] = ['编码,名称,户数,备注\r\n'];
      for (let i = 1; i <= ROWS; i++) {
        lines.push(i % 1000 === 0 ? `${i},"第${i}网格, 含""市场""",${i % 500},"两行\r\n备注"\r\n` : `${i},东城区第${i}网格,${i % 500},\r\n`);
        if (lines.length === 1000) {
          yield Buffer.from(lines.join(''), 'utf8');
          lines.length = 0;
        }
      }
      yield Buffer.from(lines.join(''), 'utf8');
    }
    // A full collection before each sample measures what the parser retains, not garbage awaiting collection.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    let count = 0;
    let last: CsvRecord | null = null;
    const started = performance.now();
    for await (const record of parseCsv(generated())) {
      count++;
      last = record;
      if (record.row === 2001) expect(record.values).toEqual(['2000', '第2000网格, 含"市场"', '0', '两行\r\n备注']);
      if (count % 100_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const growthMb = (peak - baseline) / 1024 / 1024;
    console.log(
      `parseCsv: ${count.toLocaleString('en')} records in ${seconds.toFixed(2)} s (${Math.round(count / seconds).toLocaleString('en')} rows/s, ` +
        `including 10 full GCs), retained heap growth ${growthMb.toFixed(2)} MB (Node ${process.version})`,
    );
    expect(count).toBe(ROWS + 1);
    expect(last).toEqual({ row: ROWS + 1, values: [String(ROWS), `第${ROWS}网格, 含"市场"`, '0', '两行\r\n备注'] });
    // The input is about 40 MB of text; holding the rows would retain hundreds of MB.
    expect(growthMb).toBeLessThan(8);
  });
});
