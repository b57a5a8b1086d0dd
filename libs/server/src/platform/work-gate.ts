/**
 * At most `limit` tasks at once, at most `maxQueue` waiting in order; past that a new task is refused at once
 * (`full()` is thrown) instead of piling up. Used where a task takes a scarce shared resource (a thread of
 * libuv's pool, a core) and callers would rather be told "later" than wait without bound.
 */
export class WorkGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly maxQueue: number,
  ) {}

  async run<T>(task: () => Promise<T>, full: () => Error): Promise<T> {
    if (this.active < this.limit) {
      this.active++;
    } else {
      if (this.waiting.length >= this.maxQueue) throw full();
      // The slot is handed over by the task that ends (active stays the same), so nobody can jump the queue.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Whether run() would refuse a task now. */
  get full(): boolean {
    return this.active >= this.limit && this.waiting.length >= this.maxQueue;
  }

  /** Tasks running now and tasks waiting. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }
}
