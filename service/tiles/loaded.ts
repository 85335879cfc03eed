/**
 * What a tile source holds in memory: loaded on first use, then changed step by step as changes arrive.
 * Steps run one after the other and a read waits for every step scheduled before it, so the first
 * request after a change sees it (TileSource.onChange). A failed load or step drops the state: the next
 * read loads it whole again, and fails with the error if that load fails too.
 */
export class Loaded<T> {
  private value: T | null = null;
  /** Never rejects: failures are kept in `failure`. */
  private work: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(private readonly load: () => Promise<T>) {}

  /** The state once every step scheduled so far has run; loads it when needed. */
  async current(): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const work = this.work;
      await work;
      if (work !== this.work) continue;
      if (this.value !== null) return this.value;
      if (attempt > 0 && this.failure) throw this.failure;
      this.enqueue(async () => {
        this.value = await this.load();
      });
    }
  }

  /** Schedules a change of the loaded state; skipped while none is loaded, as the next read loads it fresh. */
  update(step: (value: T) => Promise<void>): void {
    this.enqueue(async () => {
      if (this.value !== null) await step(this.value);
    });
  }

  /** Drops the state once the steps scheduled so far have run: the next read loads it again. */
  reset(): void {
    this.enqueue(async () => {
      this.value = null;
    });
  }

  private enqueue(step: () => Promise<void>): void {
    this.failure = null;
    this.work = this.work.then(step).catch((err: unknown) => {
      this.value = null;
      this.failure = err;
    });
  }
}
