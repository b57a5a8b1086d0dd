interface Entry {
  at: number;
  expire: () => void;
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

  /** `work`'s outcome, or `expired()`'s error once `budgetMs` have passed (whichever comes first). */
  guard<T>(work: Promise<T>, budgetMs: number, expired: () => Error): Promise<T> {
    const tick = Math.max(1, Math.min(10, Math.floor(budgetMs / 10)));
    if (tick < this.tickMs) {
      this.tickMs = tick;
      this.stop();
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = { at: performance.now() + budgetMs, expire: () => reject(expired()) };
      this.pending.add(entry);
      this.timer ??= setInterval(() => this.sweep(), this.tickMs);
      work.then(
        (v) => { this.pending.delete(entry); resolve(v); },
        (e: unknown) => { this.pending.delete(entry); reject(e); },
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
      e.expire();
    }
    if (!this.pending.size) this.stop();
  }

  private stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
