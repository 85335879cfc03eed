import fs from 'node:fs';
import type { Tx } from '../db/tx';

/** The line a paused transaction prints on stdout. */
export const PAUSED_LINE = 'gridatlas test pause: every row written, the commit not sent';

/**
 * For the crash tests only (issue #16): with `GRIDATLAS_TEST_PAUSE_FILE` set, the first transaction to
 * finish its work while that file exists removes the file, prints `PAUSED_LINE` and never commits, so the
 * test kills the service with kill -9 inside the open transaction on either engine. Without the variable
 * `beforeCommit` is returned as it is: nothing is checked per transaction.
 */
export function crashTestPause(beforeCommit: (tx: Tx) => Promise<void>, file = process.env.GRIDATLAS_TEST_PAUSE_FILE): (tx: Tx) => Promise<void> {
  if (!file) return beforeCommit;
  return async (tx) => {
    await beforeCommit(tx);
    try {
      // Removing the file is the claim: one transaction pauses per arming.
      fs.unlinkSync(file);
    } catch {
      return;
    }
    process.stdout.write(`${PAUSED_LINE}\n`);
    await new Promise<never>(() => undefined);
  };
}
