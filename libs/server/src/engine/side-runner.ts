import { Worker } from 'node:worker_threads';
import { Tensor, type Feeds, type Outputs } from './ort.js';
import type { ServedVersion } from './version-pool.js';

/** A tensor as it crosses to the side runner's thread and back (structured clone; output buffers transferred). */
export interface WireTensor {
  type: string;
  data: ArrayBufferView | readonly string[];
  dims: readonly number[];
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
  private readonly pending = new Map<number, { resolve: (o: Outputs) => void; reject: (e: Error) => void }>();
  private readonly loaded = new Map<string, Promise<void>>();

  constructor(
    private readonly opts: SideRunnerOptions,
    private readonly bytesOf: (sv: ServedVersion) => Promise<Uint8Array>,
  ) {}

  async run(sv: ServedVersion, feeds: Feeds, outputs: readonly string[] = sv.outputNames): Promise<Outputs> {
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
    await loading;
    const wire: Record<string, WireTensor> = {};
    for (const [k, t] of Object.entries(feeds)) wire[k] = { type: t.type, data: t.data, dims: t.dims };
    const id = this.nextId++;
    return new Promise<Outputs>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ op: 'run', id, key, feeds: wire, outputs: [...outputs] });
    });
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
    w.on('message', (m: { id: number; outputs?: Record<string, WireTensor>; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined || !m.outputs) return p.reject(new Error(m.error ?? 'no outputs'));
      const out: Outputs = {};
      for (const [k, t] of Object.entries(m.outputs))
        out[k] = new Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
      p.resolve(out);
    });
    // A thread that died takes its sessions with it: its runs fail, the next run starts a new one.
    const gone = (e: Error) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.loaded.clear();
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`side runner thread exited (${code})`)));
    this.worker = w;
    return w;
  }
}
