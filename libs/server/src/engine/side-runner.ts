import { Worker } from 'node:worker_threads';
import type { Feeds, Outputs } from './ort.js';
import type { ServedVersion } from './version-pool.js';
import { fromWire, toWire, type WireTensor } from './wire-tensor.js';

/** A side run's answer: its outputs, and how long the session run took in the thread. */
export interface SideRun {
  outputs: Outputs;
  ms: number;
}

export interface SideRunnerOptions {
  /** The thread's nice value (0-19): the kernel gives the event loop's thread the CPU first. */
  nice: number;
  /** onnxruntime intra-op threads per session in the side thread. */
  threads: number;
}

/**
 * Runs sessions in one worker thread of this process at a lower CPU priority: for work nobody waits on (silent
 * versions' copies of production traffic, production's run beside a pilot's answer). onnxruntime-node runs a
 * session synchronously on the calling thread, so a 30 ms silent run on the event loop held every production
 * request in flight for 30 ms (the bench's modelyard-silent p99); here it takes the cores' idle time, and the event
 * loop only posts a message. The thread loads its own copy of each version (`bytesOf`, the verified artifact the
 * api loaded) on first use and releases it when idle; it starts at the first run.
 */
export class SideRunner {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (o: SideRun) => void; reject: (e: Error) => void }>();
  private readonly loaded = new Map<string, Promise<void>>();
  /** Versions the thread has a session of (it said so): runs of them start at once there. */
  private readonly ready = new Set<string>();

  constructor(
    private readonly opts: SideRunnerOptions,
    private readonly bytesOf: (sv: ServedVersion) => Promise<Uint8Array>,
  ) {}

  /**
   * The outputs and the milliseconds of the session run alone: the thread's start and the version's first load are
   * not in them (a budget charged with those would refuse the next copies for many seconds).
   */
  async run(sv: ServedVersion, feeds: Feeds, outputs: readonly string[] = sv.outputNames): Promise<SideRun> {
    const w = this.thread();
    const key = sv.versionId;
    await this.prepare(sv);
    const id = this.nextId++;
    return new Promise<SideRun>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ op: 'run', id, key, feeds: toWire(feeds), outputs: [...outputs] });
    });
  }

  /** Whether the thread has its session of `sv` open: until then a caller may run it elsewhere (and prepare it). */
  isReady(sv: ServedVersion): boolean {
    return this.worker !== null && this.ready.has(sv.versionId);
  }

  /** Starts the thread and sends it the version (once); resolves when the bytes are on their way. */
  prepare(sv: ServedVersion): Promise<void> {
    const w = this.thread();
    const key = sv.versionId;
    let loading = this.loaded.get(key);
    if (!loading) {
      loading = this.bytesOf(sv).then((bytes) => {
        // Copied, not transferred: the bytes may sit in a buffer Node pools with others.
        if (this.worker === w) w.postMessage({ op: 'load', key, bytes });
      });
      loading.catch(() => this.loaded.delete(key));
      this.loaded.set(key, loading);
    }
    return loading;
  }

  async close() {
    const w = this.worker;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new Error('side runner closed'));
    this.pending.clear();
    if (w) await w.terminate();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./side-thread.js', import.meta.url), { workerData: this.opts });
    w.unref();
    type Reply = { id: number; outputs?: Record<string, WireTensor>; ms?: number; error?: string; loaded?: string };
    w.on('message', (m: Reply) => {
      if (m.loaded !== undefined) {
        // A version the thread could not open is asked for again by the next prepare (its runs fail meanwhile).
        if (m.error === undefined) this.ready.add(m.loaded);
        else this.loaded.delete(m.loaded);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined || !m.outputs) return p.reject(new Error(m.error ?? 'no outputs'));
      p.resolve({ outputs: fromWire(m.outputs), ms: m.ms ?? 0 });
    });
    // A thread that died takes its sessions with it: its runs fail, the next run starts a new one.
    const gone = (e: Error) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.loaded.clear();
      this.ready.clear();
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`side runner thread exited (${code})`)));
    this.worker = w;
    return w;
  }
}
