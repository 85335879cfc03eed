import { AsyncLocalStorage } from 'node:async_hooks';
import type { Tx } from '../db/tx';
import type { AccessQueries, AuditEntry } from './store';

/**
 * The audit row a write request owes, while its handler runs (issue #10 §5). Every transaction opened
 * through `Transact` during the request appends it just before committing, so the row and the write
 * commit or roll back together; a write whose row cannot be stored is rejected with it.
 */
export interface PendingAudit {
  entry(): AuditEntry;
  /** Rows appended in committed-or-committing transactions of this request. */
  written: number;
  /** Closed when the request ends: a job it started must not write the request's row again later. */
  open: boolean;
}

const pending = new AsyncLocalStorage<PendingAudit>();

/** Runs a write request's handler with its audit row pending. */
export const withPendingAudit = <T>(audit: PendingAudit, work: () => Promise<T>): Promise<T> => pending.run(audit, work);

/**
 * The `beforeCommit` step of the app's transactor (db/tx.ts): appends the pending audit row of the
 * request, if any, inside the transaction that is about to commit.
 */
export function auditInTransaction(storeIn: (tx: Tx) => Pick<AccessQueries, 'appendAudit'>): (tx: Tx) => Promise<void> {
  return async (tx) => {
    const audit = pending.getStore();
    if (!audit?.open) return;
    await storeIn(tx).appendAudit(audit.entry());
    audit.written++;
  };
}
