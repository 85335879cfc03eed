/**
 * Login throttling (issue #10): after `free` failures, each further failure locks the key (an account
 * or a client address) for 30 s · 2^(failures - free), capped at 15 minutes. An address gets more free
 * failures than an account because an office behind one NAT address shares it.
 */
export const FREE_FAILURES = { account: 5, address: 10 } as const;
const CAP_S = 15 * 60;

export function lockSeconds(failures: number, free: number): number {
  if (failures < free) return 0;
  return Math.min(CAP_S, 30 * 2 ** (failures - free));
}
