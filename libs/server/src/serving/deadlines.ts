interface Entry {
  at: number;
  reject: (e: unknown) => void;
  expired: () => Error;
}

/**
 * Time budgets of in-flight predictions, enforced by one interval timer that runs while anything is pending,
 * instead of a timer and a Promise.race per request (both showed on the hot path's profile). A budget is
 * enforced within one tick: a tenth of the smallest budget seen, between 1 and 10 ms.
 */
export class Deadlines {
  private readonly pending = new Set<Entry>();
  private timer: NodeJS.Timeout | null = null;
  private tickMs = 10;

  /**
   * `work`'s outcome passed through `ok` (or its error through `fail`), or `expired()`'s error once `budgetMs`
   * have passed, whichever comes first. `ok` runs even when the budget expired first (its side effects, such
   * as metrics, still describe the work). One promise per call: the mapping happens inside it.
   */
  guard<T, R = T>(work: Promise<T>, budgetMs: number, expired: () => Error, ok?: (v: T) => R, fail?: (e: unknown) => unknown): Promise<R> {
    const tick = Math.max(1, Math.min(10, Math.floor(budgetMs / 10)));
    if (tick < this.tickMs) {
      this.tickMs = tick;
      this.stop();
    }
    return new Promise<R>((resolve, reject) => {
      const entry: Entry = { at: performance.now() + budgetMs, reject, expired };
      this.pending.add(entry);
      this.timer ??= setInterval(() => this.sweep(), this.tickMs);
      work.then(
        (v) => {
          this.pending.delete(entry);
          try {
            resolve(ok ? ok(v) : (v as unknown as R));
          } catch (e) {
            reject(e);
          }
        },
        (e: unknown) => {
          this.pending.delete(entry);
          reject(fail ? fail(e) : e);
        },
      );
    });
  }

  get size(): number {
    return this.pending.size;
  }

  private sweep() {
    const now = performance.now();
    for (const e of this.pending) {
      if (e.at > now) continue;
      this.pending.delete(e);
      e.reject(e.expired());
    }
    if (!this.pending.size) this.stop();
  }

  private stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
