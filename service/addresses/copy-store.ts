import pg from 'pg';
import type { Knex } from 'knex';

/**
 * `COPY (query) TO STDOUT (FORMAT binary)` through node-postgres, each row handed over as raw bytes
 * (issue #15). A `bytea` or geometry in an ordinary result arrives as hex text that the driver turns
 * into a string and then a Buffer, and PostgreSQL must first aggregate the rows into a few large values
 * for that to be fast; binary COPY sends every row as it is stored, geometry as WKB (its `send`
 * function), with no per-row SQL function and no text in between.
 * @returns false, without running anything, when the connection is not node-postgres (the embedded
 *   engine: knex-pglite has no COPY TO STDOUT): the caller falls back
 */
export async function copyOut(knex: Knex, sql: string, onRow: (row: BinaryRow) => void): Promise<boolean> {
  const client = knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<void> };
  const connection = await client.acquireConnection();
  try {
    if (!(connection instanceof pg.Client)) return false;
    const copy = new CopyOut(`copy (${sql}) to stdout (format binary)`, onRow);
    void connection.query(copy as unknown as pg.QueryConfig);
    await copy.done;
    return true;
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * One row of a binary COPY: fields read in order. The bytes are the driver's buffer, valid only during
 * the callback (it is reused for the next messages): read everything you keep inside it.
 */
export class BinaryRow {
  private at = 0;
  private bytes: Buffer = Buffer.alloc(0);

  /** @internal reads `bytes` next (one object for every row of a COPY) */
  reset(bytes: Buffer): void {
    this.bytes = bytes;
    this.at = 0;
  }

  /** Moves to the field after this one; returns its byte length, -1 for NULL. */
  private field(): number {
    const n = this.bytes.readInt32BE(this.at);
    this.at += 4;
    return n;
  }

  text(): string | null {
    const n = this.field();
    if (n < 0) return null;
    const s = this.bytes.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }

  int(): number | null {
    const n = this.field();
    if (n < 0) return null;
    this.at += n;
    return this.bytes.readInt32BE(this.at - 4);
  }

  bool(): boolean | null {
    const n = this.field();
    if (n < 0) return null;
    this.at += n;
    return this.bytes[this.at - 1] !== 0;
  }

  /** A bytea or geometry (WKB) field as a view of the driver's buffer, or null. */
  bytea(): Uint8Array | null {
    const n = this.field();
    if (n < 0) return null;
    const view = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return view;
  }

  /** @internal positions the reader at the start of the next tuple's fields; false at the trailer */
  next(): boolean {
    if (this.at >= this.bytes.length) return false;
    const fields = this.bytes.readInt16BE(this.at);
    this.at += 2;
    return fields >= 0;
  }

  /** @internal skips the file header at the start of the first message */
  skipHeader(): void {
    if (this.bytes.toString('latin1', 0, 11) !== 'PGCOPY\n\xff\r\n\0') throw new Error('binary COPY: the data does not start with the PGCOPY signature');
    this.at = 19 + this.bytes.readInt32BE(15);
  }
}

/** The node-postgres "submittable" protocol: the client hands this object the backend's messages. */
class CopyOut {
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (err: Error) => void;
  private error: Error | null = null;
  private first = true;
  private readonly row = new BinaryRow();

  constructor(
    private readonly text: string,
    private readonly onRow: (row: BinaryRow) => void,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }

  handleCopyData(msg: { chunk: Buffer }): void {
    if (this.error) return;
    try {
      const row = this.row;
      row.reset(msg.chunk);
      if (this.first) row.skipHeader();
      this.first = false;
      // One message is one row in practice; the header, and the trailer, may share it.
      while (row.next()) this.onRow(row);
    } catch (err) {
      // The rest of the stream still arrives; the query fails when it ends.
      this.error = err as Error;
    }
  }

  /** A database or connection error: reported at once, as node-postgres's own queries do (a broken connection sends no ReadyForQuery). */
  handleError(err: Error): void {
    this.error ??= err;
    this.reject(this.error);
  }

  handleReadyForQuery(): void {
    if (this.error) this.reject(this.error);
    else this.resolve();
  }

  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleCopyInResponse(): void {}
}
