import type { Knex } from 'knex';

declare const txBrand: unique symbol;

/**
 * A database transaction as use cases hold it: opaque. Use cases open one with `Transact`, hand it to
 * stores (and to other features' hooks that must write in the same transaction), and never query it;
 * only stores turn it back into a query builder with `knexOf`.
 */
export interface Tx {
  readonly [txBrand]: true;
}

/** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
export type Transact = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

/** A handle a store can query: the pool, or a transaction a use case opened. */
export type Queryable = Knex | Tx;

/**
 * `beforeCommit` runs inside every transaction after its work succeeded, just before the commit: what it
 * writes commits with the work or not at all (the access feature's audit row of the request, issue #10).
 */
export function transactor(knex: Knex, beforeCommit?: (tx: Tx) => Promise<void>): Transact {
  return (work) =>
    knex.transaction(async (trx) => {
      const result = await work(trx as unknown as Tx);
      if (beforeCommit) await beforeCommit(trx as unknown as Tx);
      return result;
    });
}

/** For stores only: the query builder behind a pool or transaction handle. */
export function knexOf(q: Queryable): Knex {
  return q as unknown as Knex;
}
