import { Worker } from 'node:worker_threads';
import type { ServedVersion } from '../engine/index.js';
import type { CsvChunkOptions, ThreadMessage, ThreadReply, VersionMeta } from './batch-thread.js';

const IDLE_MS = 10 * 60_000;

interface Thread {
  worker: Worker;
  /** Chunks given to it and not answered (counted before its session is open, so they spread at once). */
  busy: number;
  /** Chunks posted and not answered, with the lease their output buffers go to. */
  pending: Map<number, { resolve: (r: ScoredPart | null) => void; reject: (e: Error) => void; lease: OutputLease }>;
  /** Versions sent to it: resolves when its session is open. */
  loaded: Map<string, Promise<void>>;
  loading: Map<string, { resolve: () => void; reject: (e: Error) => void }>;
}

/** A part's output lines and how many records it held. */
export interface ScoredPart {
  output: Buffer;
  rows: number;
}

/**
 * The output buffers a job's parts were written into, lent by the threads (see Slots in ./batch-thread.ts): the
 * job releases them once its output is stored (or it failed), and parts answered after that are given back at once.
 */
export class OutputLease {
  private readonly held = new Map<Worker, number[]>();
  private released = false;

  /** @internal a thread's buffer `slot` now holds part of this job's output. */
  hold(worker: Worker, slot: number) {
    if (this.released) return worker.postMessage({ op: 'free', slots: [slot] } satisfies ThreadMessage);
    const list = this.held.get(worker);
    if (list) list.push(slot);
    else this.held.set(worker, [slot]);
  }

  release() {
    this.released = true;
    for (const [worker, slots] of this.held) worker.postMessage({ op: 'free', slots } satisfies ThreadMessage);
    this.held.clear();
  }
}

/**
 * Threads that score a batch job's CSV chunks (issue 23): one per core by default (BATCH_THREADS), each with its
 * own onnxruntime session of the version (one intra-op thread), opened from the same verified artifact bytes the
 * worker's version pool loaded, so nothing reaches onnxruntime that the worker would not have opened itself. The
 * input file is shared with the threads (a SharedArrayBuffer), each chunk's output bytes come back transferred,
 * and the caller writes them in chunk order. A thread that dies fails its chunks (the job's attempt fails and the
 * next one starts from the top, as for a crashed worker) and is replaced at the next chunk.
 */
export class BatchPool {
  private readonly threads: (Thread | null)[];
  private nextId = 1;
  /** When each version last had a chunk: the threads' sessions of one unused for IDLE_MS are released. */
  private readonly used = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    size: number,
    private readonly bytesOf: (sv: ServedVersion) => Promise<Uint8Array>,
  ) {
    this.threads = Array.from({ length: Math.max(1, size) }, () => null);
    this.sweeper = setInterval(() => this.releaseIdle(Date.now() - IDLE_MS), 60_000).unref();
  }

  /** Releases the threads' sessions of versions with no chunk since `before` (ms since the epoch). */
  releaseIdle(before: number) {
    for (const [key, at] of this.used) {
      if (at >= before) continue;
      this.used.delete(key);
      for (const t of this.threads) {
        if (!t?.loaded.has(key)) continue;
        // Sent after every chunk of it (messages keep their order); the next job's chunk loads it again.
        t.loaded.delete(key);
        t.worker.postMessage({ op: 'drop', key } satisfies ThreadMessage);
      }
    }
  }

  get size(): number {
    return this.threads.length;
  }

  /** Output buffers for one job's parts: release them once the job's output is stored. */
  lease(): OutputLease {
    return new OutputLease();
  }

  /**
   * Counts, parses, scores and formats the records in bytes [from, end) of `input` (cut at line breaks) in the least
   * busy thread: the part's output lines (in a buffer `lease` holds) and its record count, or null when it needs the
   * row path (see ColumnarCsv).
   */
  async scoreCsv(
    sv: ServedVersion,
    input: SharedArrayBuffer,
    part: { from: number; end: number },
    header: { columns: string[]; opts: CsvChunkOptions },
    lease: OutputLease,
  ): Promise<ScoredPart | null> {
    const t = this.pick();
    this.used.set(sv.versionId, Date.now());
    t.busy++;
    try {
      await this.prepare(t, sv);
      const id = this.nextId++;
      const { columns, opts } = header;
      return await new Promise<ScoredPart | null>((resolve, reject) => {
        t.pending.set(id, { resolve, reject, lease });
        t.worker.postMessage({
          op: 'csv',
          id,
          key: sv.versionId,
          input,
          ...part,
          columns,
          opts: { columns: opts.columns, idColumn: opts.idColumn, entityColumn: opts.entityColumn },
        } satisfies ThreadMessage);
      });
    } finally {
      t.busy--;
    }
  }

  /** Starts every thread and opens the version in each, so a job's first chunks do not wait for them one by one. */
  async warm(sv: ServedVersion): Promise<void> {
    await Promise.all(this.threads.map((_, i) => this.prepare(this.thread(i), sv)));
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = this.threads.splice(0, this.threads.length, ...this.threads.map(() => null));
    await Promise.all(all.map((t) => t?.worker.terminate()));
  }

  private pick(): Thread {
    let best = 0;
    let load = Infinity;
    for (let i = 0; i < this.threads.length; i++) {
      const n = this.threads[i]?.busy ?? 0;
      if (n < load) {
        best = i;
        load = n;
      }
    }
    return this.thread(best);
  }

  private prepare(t: Thread, sv: ServedVersion): Promise<void> {
    let p = t.loaded.get(sv.versionId);
    if (!p) {
      p = this.bytesOf(sv).then(
        (bytes) =>
          new Promise<void>((resolve, reject) => {
            t.loading.set(sv.versionId, { resolve, reject });
            const { session: _session, ...meta } = sv;
            const m: ThreadMessage = { op: 'load', key: sv.versionId, bytes, meta: meta satisfies VersionMeta };
            t.worker.postMessage(m);
          }),
      );
      // A version the thread could not open is sent again by the next job.
      p.catch(() => t.loaded.delete(sv.versionId));
      t.loaded.set(sv.versionId, p);
    }
    return p;
  }

  private thread(i: number): Thread {
    const existing = this.threads[i];
    if (existing) return existing;
    const worker = new Worker(new URL('./batch-thread.js', import.meta.url));
    // An idle pool does not keep the worker process alive.
    worker.unref();
    const t: Thread = { worker, busy: 0, pending: new Map(), loaded: new Map(), loading: new Map() };
    worker.on('message', (m: ThreadReply) => {
      if ('loaded' in m) {
        const l = t.loading.get(m.loaded);
        t.loading.delete(m.loaded);
        if (m.error === undefined) l?.resolve();
        else l?.reject(new Error(`the batch thread could not open the model: ${m.error}`));
        return;
      }
      const p = t.pending.get(m.id);
      if (!p) return;
      t.pending.delete(m.id);
      if (m.error !== undefined) return p.reject(new Error(m.error));
      if (!m.output) return p.resolve(null);
      if (m.slot !== undefined) p.lease.hold(worker, m.slot);
      const out = m.output;
      p.resolve({ output: Buffer.from(out.buffer, out.byteOffset, out.byteLength), rows: m.rows });
    });
    const gone = (e: Error) => {
      if (this.threads[i] !== t) return;
      this.threads[i] = null;
      for (const p of t.pending.values()) p.reject(e);
      for (const l of t.loading.values()) l.reject(e);
      t.pending.clear();
      t.loading.clear();
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`a batch thread exited (${code})`)));
    this.threads[i] = t;
    return t;
  }
}
