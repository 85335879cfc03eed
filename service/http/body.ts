import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Context } from 'koa';
import { AppError, badRequest } from '../errors';

/** The request body as a stream of chunks, failing with 413 once it passes `limit` bytes. */
export async function* bodyChunks(ctx: Context, limit: number): AsyncGenerator<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new AppError(413, 'body_too_large', `request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AppError(413, 'body_too_large', `request body exceeds the limit of ${limit} bytes`);
    yield chunk as Buffer;
  }
}

/** Reads the raw request body up to `limit` bytes. */
export async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of bodyChunks(ctx, limit)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Spools a body to a temporary file for readers that need random access (a zip is read from its end). */
export async function withSpooledFile<T>(body: AsyncIterable<Buffer>, extension: string, use: (file: string) => Promise<T>): Promise<T> {
  const file = path.join(os.tmpdir(), `gridatlas-upload-${randomBytes(8).toString('hex')}${extension}`);
  try {
    await pipeline(body, fs.createWriteStream(file));
    return await use(file);
  } finally {
    await fs.promises.rm(file, { force: true });
  }
}

/** Parses a JSON body; an empty or malformed body is a 400 naming where parsing failed. */
export async function readJson(ctx: Context, limit: number): Promise<unknown> {
  const raw = await readBody(ctx, limit);
  return parseJson(raw);
}

export function parseJson(raw: Buffer): unknown {
  const text = raw.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') throw badRequest('empty_body', 'the request body is empty; expected JSON');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest('invalid_json', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}
