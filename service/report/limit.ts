/**
 * How many reports one client address may send in a window: the report page is open to anyone, so a
 * script must not flood the command centre with cases. Kept in memory per process (a restart forgets it;
 * each process of a scaled-out service counts on its own — the limit is a brake, not an audit).
 */
export class ReportLimit {
  private readonly sent = new Map<string, number[]>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {}

  /** Records a report from `client` at `now`; returns the seconds to wait when over the limit, else 0. */
  take(client: string, now = Date.now()): number {
    const since = now - this.windowMs;
    const times = (this.sent.get(client) ?? []).filter((t) => t > since);
    if (times.length >= this.max) {
      this.sent.set(client, times);
      return Math.ceil((times[0]! + this.windowMs - now) / 1000);
    }
    times.push(now);
    this.sent.set(client, times);
    if (this.sent.size > 10_000) this.prune(since);
    return 0;
  }

  private prune(since: number): void {
    for (const [client, times] of this.sent) if (times.every((t) => t <= since)) this.sent.delete(client);
  }
}
