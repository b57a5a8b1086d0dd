/** The rejection of a run dropped before it started: its caller's time budget had passed while it waited. */
export const RUN_DROPPED: Error = Object.freeze(new Error('run dropped: its time budget passed while it waited'));

interface Waiter {
  deadline: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * onnxruntime runs started and not finished, per process, at most `max`; the others wait in line (first come,
 * first served). A waiter whose deadline (performance.now() ms) has passed when a slot frees is dropped without
 * running: its caller was already answered 503 at the deadline, and running it anyway would spend the cores on
 * answers nobody reads while fresh requests wait (congestion collapse). onnxruntime-node runs a session on the
 * main thread (in a setImmediate): with a cap, a burst runs `max` at a time with the event loop turning in
 * between, so deadlines fire on time.
 *
 * The hot path (a free slot) is `tryTake()` and `release()`: a compare and two additions, no allocation.
 */
export class RunGate {
  private running = 0;
  private queue: (Waiter | undefined)[] = [];
  private head = 0;

  constructor(
    private readonly max: number,
    private readonly onDrop: () => void = () => {},
  ) {}

  /** Takes a slot if one is free; the caller then starts its run and calls release() once it settles. */
  tryTake(): boolean {
    if (this.running >= this.max) return false;
    this.running++;
    return true;
  }

  /** Resolves once a slot is this caller's (release() it after the run); rejects with RUN_DROPPED past the deadline. */
  wait(deadline: number): Promise<void> {
    if (deadline <= performance.now()) {
      this.onDrop();
      return Promise.reject(RUN_DROPPED);
    }
    return new Promise<void>((resolve, reject) => this.queue.push({ deadline, resolve, reject }));
  }

  /** A run settled: its slot goes to the first waiter still within its deadline, else back to the pool. */
  release() {
    const now = performance.now();
    while (this.head < this.queue.length) {
      const w = this.queue[this.head]!;
      this.queue[this.head++] = undefined;
      if (w.deadline <= now) {
        this.onDrop();
        w.reject(RUN_DROPPED);
        continue;
      }
      if (this.head >= 1024) this.compact();
      w.resolve();
      return;
    }
    this.queue = [];
    this.head = 0;
    this.running--;
  }

  private compact() {
    this.queue = this.queue.slice(this.head);
    this.head = 0;
  }

  /** Runs going and runs waiting (drop-outs not yet reached included). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.queue.length - this.head };
  }
}
