import fs from 'node:fs';
import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';

/**
 * A zip archive read from a file on disk, entry by entry (uploads are spooled first: a zip is read from its
 * end). Only the central directory and the entries asked for are read, never the whole archive.
 */
export interface ZipEntry {
  name: string;
  /** The name as stored: old Chinese tools write GBK names without the UTF-8 flag. */
  nameBytes: Buffer;
  utf8: boolean;
  method: number;
  compressedSize: number;
  localHeaderOffset: number;
}

/** The zip central directory (APPNOTE 4.3.16, with the Zip64 records where sizes overflow 32 bits). */
export async function readZipDirectory(handle: fs.promises.FileHandle, invalid: (message: string) => Error): Promise<Map<string, ZipEntry>> {
  const { size } = await handle.stat();
  const tailLength = Math.min(size, 65_557);
  const tail = Buffer.alloc(tailLength);
  await handle.read(tail, 0, tailLength, size - tailLength);
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw invalid('the file is not a zip archive (no end of central directory record)');
  let count = tail.readUInt16LE(eocd + 10);
  let dirSize = tail.readUInt32LE(eocd + 12);
  let dirOffset = tail.readUInt32LE(eocd + 16);
  if (dirOffset === 0xffffffff && eocd >= 20 && tail.readUInt32LE(eocd - 20) === 0x07064b50) {
    const record = Buffer.alloc(56);
    await handle.read(record, 0, 56, Number(tail.readBigUInt64LE(eocd - 12)));
    count = Number(record.readBigUInt64LE(32));
    dirSize = Number(record.readBigUInt64LE(40));
    dirOffset = Number(record.readBigUInt64LE(48));
  }
  const dir = Buffer.alloc(dirSize);
  await handle.read(dir, 0, dirSize, dirOffset);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (dir.readUInt32LE(at) !== 0x02014b50) throw invalid('the zip directory is damaged');
    const method = dir.readUInt16LE(at + 10);
    let compressedSize = dir.readUInt32LE(at + 20);
    const uncompressedSize = dir.readUInt32LE(at + 24);
    const nameLength = dir.readUInt16LE(at + 28);
    const extraLength = dir.readUInt16LE(at + 30);
    const commentLength = dir.readUInt16LE(at + 32);
    let localHeaderOffset = dir.readUInt32LE(at + 42);
    const flags = dir.readUInt16LE(at + 8);
    const nameBytes = dir.subarray(at + 46, at + 46 + nameLength);
    const name = nameBytes.toString('utf8');
    // Zip64 extended information: only the fields whose 32-bit value overflowed, in this order.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = dir.readUInt16LE(extra);
      const length = dir.readUInt16LE(extra + 2);
      if (id === 0x0001) {
        let field = extra + 4;
        if (uncompressedSize === 0xffffffff) field += 8;
        if (compressedSize === 0xffffffff) {
          compressedSize = Number(dir.readBigUInt64LE(field));
          field += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(dir.readBigUInt64LE(field));
      }
      extra += 4 + length;
    }
    entries.set(name.replace(/^\//, ''), { name, nameBytes: Buffer.from(nameBytes), utf8: (flags & 0x0800) !== 0, method, compressedSize, localHeaderOffset });
    at = extraEnd + commentLength;
  }
  return entries;
}

/** The uncompressed bytes of one part, as a stream. */
export async function openZipEntry(handle: fs.promises.FileHandle, entry: ZipEntry, invalid: (message: string) => Error): Promise<NodeJS.ReadableStream> {
  const header = Buffer.alloc(30);
  await handle.read(header, 0, 30, entry.localHeaderOffset);
  if (header.readUInt32LE(0) !== 0x04034b50) throw invalid(`the zip entry ${entry.name} is damaged`);
  const start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (entry.compressedSize === 0) return Readable.from([]);
  const raw = handle.createReadStream({ start, end: start + entry.compressedSize - 1, autoClose: false });
  if (entry.method === 0) return raw;
  if (entry.method !== 8) throw invalid(`the zip entry ${entry.name} uses compression method ${entry.method}; only stored and deflated parts are read`);
  const inflate = createInflateRaw();
  raw.on('error', (err) => inflate.destroy(err));
  return raw.pipe(inflate);
}


/** The uncompressed bytes of one entry. */
export async function readZipEntry(handle: fs.promises.FileHandle, entry: ZipEntry, invalid: (message: string) => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await openZipEntry(handle, entry, invalid)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
