import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import type { Database } from './engine';
import { knexOf, type Queryable } from './tx';

/** What changed, so caches (tiles, reports) can drop exactly what it touches. */
export interface ChangeEvent {
  /** What changed: the core kinds below, or a feature's own (e.g. `incidents`); listeners ignore kinds they do not know. */
  kind: 'grids' | 'system' | 'report' | 'addresses' | (string & {});
  system: string;
  /** Codes of grids whose geometry or attributes changed; empty when the whole system changed. */
  codes: string[];
  /** Bounding box of old and new geometries, [minLon, minLat, maxLon, maxLat]; null = everywhere. */
  bbox: [number, number, number, number] | null;
  /** The process that made the change, so it does not apply its own change twice. */
  origin: string;
  /** Unique per change, the same in every process that hears it: work it causes is claimed by it (issue #16). */
  id?: string;
  /**
   * The writing transaction's id (`pg_current_xact_id()`), when published inside one: whether a reader's
   * snapshot already saw this change (`pg_visible_in_snapshot`), however late the event arrives.
   */
  xid?: string;
}

const CHANNEL = 'gridatlas_changes';
// NOTIFY payloads are limited to 8000 bytes; a larger change is announced as "everywhere in the system".
const MAX_PAYLOAD = 7900;

/**
 * Change notifications. Inside one process they are events; across processes sharing one PostGIS server
 * they travel by LISTEN/NOTIFY, sent inside the writing transaction so they arrive only after commit.
 */
export class ChangeBus {
  readonly origin = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  private readonly emitter = new EventEmitter();
  private seq = 0;
  private unlisten: (() => Promise<void>) | null = null;

  constructor(private readonly db: Database) {
    this.emitter.setMaxListeners(100);
  }

  async start(): Promise<void> {
    if (!this.db.listen) return;
    this.unlisten = await this.db.listen(CHANNEL, (payload) => {
      const event = parseEvent(payload);
      if (event && event.origin !== this.origin) this.deliver(event);
    });
  }

  /** Hands listeners a change heard from elsewhere (another process's NOTIFY), as it arrives. */
  deliver(event: ChangeEvent): void {
    this.emitter.emit('change', event);
  }

  async stop(): Promise<void> {
    await this.unlisten?.();
    this.unlisten = null;
  }

  on(listener: (event: ChangeEvent) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  /**
   * Announces a change made in `trx`. Local listeners hear it after the transaction commits; other
   * processes hear it through NOTIFY, which PostgreSQL also delivers only on commit.
   */
  async publish(q: Queryable, event: Omit<ChangeEvent, 'origin' | 'id' | 'xid'>): Promise<void> {
    const trx = knexOf(q);
    const inTransaction = 'executionPromise' in trx && trx.isTransaction;
    const xid = inTransaction ? String((await trx.raw('select pg_current_xact_id()::text as xid')).rows[0].xid) : undefined;
    const full: ChangeEvent = { ...event, origin: this.origin, id: `${this.origin}:${++this.seq}`, ...(xid ? { xid } : {}) };
    let payload = JSON.stringify(full);
    if (payload.length > MAX_PAYLOAD) payload = JSON.stringify({ ...full, codes: [], bbox: null });
    if (this.db.engine === 'server') await trx.raw('select pg_notify(?, ?)', [CHANNEL, payload]);
    const emit = () => this.emitter.emit('change', full);
    if (inTransaction) {
      (trx as Knex.Transaction).executionPromise.then(emit, () => undefined);
    } else {
      emit();
    }
  }
}

function parseEvent(payload: string): ChangeEvent | null {
  try {
    const e = JSON.parse(payload) as ChangeEvent;
    return typeof e.system === 'string' && typeof e.kind === 'string' ? e : null;
  } catch {
    return null;
  }
}
