import { describe, expect, it } from 'vitest';
import { encodingFromCpg, readDbf } from './dbf-reader';
import { dbfFieldNames, writeDbf } from './dbf-writer';
import { FormatError } from './errors';

/** GBK bytes written out by hand (GB 2312 code table), so the reader is tested without iconv encoding. */
const GBK = {
  名称: [0xc3, 0xfb, 0xb3, 0xc6],
  东城网格: [0xb6, 0xab, 0xb3, 0xc7, 0xcd, 0xf8, 0xb8, 0xf1],
  西城网格: [0xce, 0xf7, 0xb3, 0xc7, 0xcd, 0xf8, 0xb8, 0xf1],
};

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** A dBase III table assembled byte by byte: fields [name bytes, type, length], records as cell bytes. */
function handBuiltDbf(fields: [number[], 'C' | 'N', number][], records: { deleted?: boolean; cells: number[][] }[], ldid = 0): Buffer {
  const headerLength = 32 + 32 * fields.length + 1;
  const recordLength = 1 + fields.reduce((sum, [, , length]) => sum + length, 0);
  const bytes: number[] = [0x03, 125, 1, 15];
  bytes.push(records.length & 0xff, (records.length >> 8) & 0xff, 0, 0);
  bytes.push(headerLength & 0xff, headerLength >> 8, recordLength & 0xff, recordLength >> 8);
  while (bytes.length < 29) bytes.push(0);
  bytes.push(ldid, 0, 0);
  for (const [name, type, length] of fields) {
    const descriptor = new Array(32).fill(0);
    name.forEach((b, i) => (descriptor[i] = b));
    descriptor[11] = type.charCodeAt(0);
    descriptor[16] = length;
    bytes.push(...descriptor);
  }
  bytes.push(0x0d);
  for (const record of records) {
    bytes.push(record.deleted ? 0x2a : 0x20);
    record.cells.forEach((cell, i) => {
      const length = fields[i][2];
      const padded = fields[i][1] === 'N' ? [...new Array(length - cell.length).fill(0x20), ...cell] : [...cell, ...new Array(length - cell.length).fill(0x20)];
      bytes.push(...padded);
    });
  }
  bytes.push(0x1a);
  return Buffer.from(bytes);
}

const gbkTable = (ldid = 0) =>
  handBuiltDbf(
    [
      [GBK.名称, 'C', 20],
      [ascii('HH'), 'N', 5],
    ],
    [{ cells: [GBK.东城网格, ascii('320')] }, { cells: [GBK.西城网格, ascii('215')] }, { deleted: true, cells: [GBK.西城网格, ascii('1')] }],
    ldid,
  );

describe('readDbf', () => {
  it('detects GBK without .cpg or language driver and decodes names and values', () => {
    const table = readDbf(gbkTable(), null, 'grids.dbf');
    expect(table.encoding).toBe('gbk');
    expect(table.encodingSource).toBe('detected');
    expect(table.records).toEqual([{ 名称: '东城网格', HH: 320 }, { 名称: '西城网格', HH: 215 }, null]);
    expect(table.warnings).toEqual(['grids.dbf: 1 records flagged deleted were skipped']);
  });

  it('takes GBK from language driver 0x4D and from the .cpg', () => {
    expect(readDbf(gbkTable(0x4d), null, 'grids.dbf')).toMatchObject({ encoding: 'gbk', encodingSource: 'ldid' });
    for (const cpg of ['GBK', '936', 'ANSI 936', 'CP936', 'gb2312\r\n']) {
      const table = readDbf(gbkTable(), cpg, 'grids.dbf');
      expect(table).toMatchObject({ encoding: 'gbk', encodingSource: 'cpg' });
      expect(table.records[0]).toEqual({ 名称: '东城网格', HH: 320 });
    }
  });

  it('falls back to detection when the .cpg names an unknown encoding', () => {
    const table = readDbf(gbkTable(), 'KLINGON', 'grids.dbf');
    expect(table).toMatchObject({ encoding: 'gbk', encodingSource: 'detected' });
    expect(table.warnings[0]).toMatch(/unknown encoding "KLINGON"/);
  });

  it('detects UTF-8 even when a full-width value was cut in the middle of a character', () => {
    const cut = [...Buffer.from('东城', 'utf8'), 0xe7, 0xbd]; // 东城 + the first two bytes of 网
    const table = readDbf(handBuiltDbf([[ascii('NAME'), 'C', 8]], [{ cells: [cut] }, { cells: [[...Buffer.from('西城', 'utf8')]] }]), null, 'x.dbf');
    expect(table.encoding).toBe('utf-8');
    expect(table.records).toEqual([{ NAME: '东城' }, { NAME: '西城' }]);
  });

  it('reads blank cells as null and N, L and D fields as numbers, booleans and ISO dates', () => {
    const bytes = handBuiltDbf(
      [
        [ascii('A'), 'C', 4],
        [ascii('B'), 'N', 6],
      ],
      [{ cells: [[], ascii('-1.25')] }, { cells: [ascii('x'), ascii('')] }],
    );
    expect(readDbf(bytes, null, 'x.dbf').records).toEqual([{ A: null, B: -1.25 }, { A: 'x', B: null }]);

    const written = writeDbf([{ ok: true, day: null }, { ok: false }, { ok: null }], 'utf-8', new Date(Date.UTC(2024, 4, 1)));
    expect(readDbf(written, null, 'x.dbf').records).toEqual([{ ok: true, day: null }, { ok: false, day: null }, { ok: null, day: null }]);
    const dated = Buffer.from(handBuiltDbf([[ascii('D'), 'C', 8]], [{ cells: [ascii('20240501')] }, { cells: [ascii('00000000')] }]));
    dated[32 + 11] = 'D'.charCodeAt(0);
    expect(readDbf(dated, null, 'x.dbf').records).toEqual([{ D: '2024-05-01' }, { D: null }]);
  });

  it('rejects truncated and malformed files with dbf_invalid', () => {
    const truncated = gbkTable().subarray(0, 100);
    expect(() => readDbf(truncated, null, 'grids.dbf')).toThrow(FormatError);
    expect(() => readDbf(truncated, null, 'grids.dbf')).toThrow(/grids\.dbf .*declares 3 records of 26 bytes/);
    expect(() => readDbf(Buffer.alloc(10), null, 'grids.dbf')).toThrow(expect.objectContaining({ code: 'dbf_invalid' }));
  });
});

describe('writeDbf', () => {
  const date = new Date(Date.UTC(2024, 4, 1));

  it('measures text in encoded bytes and refuses a value over 254 bytes instead of cutting it (issue #16)', () => {
    // 254 bytes fit exactly: 84 × 3 + 2 in UTF-8, 127 × 2 in GBK.
    const fits = { 'utf-8': '网'.repeat(84) + 'ab', gbk: '网'.repeat(127) };
    for (const encoding of ['utf-8', 'gbk'] as const) {
      const bytes = writeDbf([{ name: 'ab' }, { name: fits[encoding] }], encoding, date);
      expect(bytes[32 + 16]).toBe(254);
      expect(readDbf(bytes, encoding, 'x.dbf').records[1]!.name).toBe(fits[encoding]);
      const long = fits[encoding] + '网'; // 257 or 256 bytes
      expect(() => writeDbf([{ name: 'ab' }, { name: long }], encoding, date)).toThrow(
        expect.objectContaining({ code: 'dbf_value_too_long', details: { record: 1, field: 'name', bytes: encoding === 'utf-8' ? 257 : 256 } }),
      );
    }
  });

  it('writes integers and decimals as N fields with enough decimals, booleans as L, the rest as text', () => {
    const bytes = writeDbf([{ n: 1, f: 0.125, mixed: 1, nested: { a: [1, '二'] } }, { n: -20, f: 3, mixed: 'x', nested: null }], 'utf-8', date);
    const field = (i: number) => ({ type: String.fromCharCode(bytes[32 * (i + 1) + 11]), length: bytes[32 * (i + 1) + 16], decimals: bytes[32 * (i + 1) + 17] });
    expect([0, 1, 2, 3].map(field)).toEqual([
      { type: 'N', length: 3, decimals: 0 },
      { type: 'N', length: 5, decimals: 3 },
      { type: 'C', length: 1, decimals: 0 },
      { type: 'C', length: 15, decimals: 0 },
    ]);
    expect(readDbf(bytes, 'UTF-8', 'x.dbf').records).toEqual([
      { n: 1, f: 0.125, mixed: '1', nested: '{"a":[1,"二"]}' },
      { n: -20, f: 3, mixed: 'x', nested: null },
    ]);
  });

  it('writes a FID field when the features have no properties, as ArcGIS needs one', () => {
    expect(readDbf(writeDbf([null, {}], 'utf-8', date), null, 'x.dbf').records).toEqual([{ FID: 0 }, { FID: 1 }]);
  });

  it('refuses more than 255 fields', () => {
    const wide = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`f${i}`, i]));
    expect(() => writeDbf([wide], 'utf-8', date)).toThrow(expect.objectContaining({ code: 'dbf_too_many_fields' }));
  });

  it('stores GBK with language driver 0x4D and none for UTF-8', () => {
    expect(writeDbf([{ a: 1 }], 'gbk', date)[29]).toBe(0x4d);
    expect(writeDbf([{ a: 1 }], 'utf-8', date)[29]).toBe(0);
  });
});

describe('dbfFieldNames', () => {
  it('keeps names of at most 10 encoded bytes, cuts longer ones between characters and keeps them unique', () => {
    const keys = ['code', 'households_urban', 'households_rural', 'Code', '网格编码名称', '网格编码名字'];
    expect(Object.fromEntries(dbfFieldNames(keys, 'gbk'))).toEqual({
      code: 'code',
      households_urban: 'households',
      households_rural: 'househol_1',
      Code: 'Code_1',
      网格编码名称: '网格编码名',
      网格编码名字: '网格编码_1',
    });
    expect(dbfFieldNames(['网格编码名称'], 'utf-8').get('网格编码名称')).toBe('网格编');
  });
});

describe('encodingFromCpg', () => {
  it.each([
    ['UTF-8', 'utf-8'],
    ['utf8', 'utf-8'],
    ['65001', 'utf-8'],
    ['GBK', 'gbk'],
    ['936', 'gbk'],
    ['ANSI 936', 'gbk'],
    ['GB2312', 'gbk'],
    ['GB18030', 'gb18030'],
    ['BIG5', 'cp950'],
    ['1252', 'cp1252'],
    ['nonsense', null],
  ])('%s → %s', (label, encoding) => {
    expect(encodingFromCpg(label)).toBe(encoding);
  });
});
