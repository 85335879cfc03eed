import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import type { Database } from './engine';

/** What changed, so caches (tiles, reports) can drop exactly what it touches. */
export interface ChangeEvent {
  kind: 'grids' | 'system' | 'report' | 'addresses' | 'incidents';
  system: string;
  /** Codes of grids whose geometry or attributes changed; empty when the whole system changed. */
  codes: string[];
  /** Bounding box of old and new geometries, [minLon, minLat, maxLon, maxLat]; null = everywhere. */
  bbox: [number, number, number, number] | null;
  /** The process that made the change, so it does not apply its own change twice. */
  origin: string;
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
  private unlisten: (() => Promise<void>) | null = null;

  constructor(private readonly db: Database) {
    this.emitter.setMaxListeners(100);
  }

  async start(): Promise<void> {
    if (!this.db.listen) return;
    this.unlisten = await this.db.listen(CHANNEL, (payload) => {
      const event = parseEvent(payload);
      if (event && event.origin !== this.origin) this.emitter.emit('change', event);
    });
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
  async publish(trx: Knex.Transaction | Knex, event: Omit<ChangeEvent, 'origin'>): Promise<void> {
    const full: ChangeEvent = { ...event, origin: this.origin };
    let payload = JSON.stringify(full);
    if (payload.length > MAX_PAYLOAD) payload = JSON.stringify({ ...full, codes: [], bbox: null });
    if (this.db.engine === 'server') await trx.raw('select pg_notify(?, ?)', [CHANNEL, payload]);
    const emit = () => this.emitter.emit('change', full);
    if ('executionPromise' in trx && trx.isTransaction) {
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
