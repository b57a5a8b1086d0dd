/**
 * A batch pool thread (./batch-pool.ts): scores CSV chunks of a batch job with a session of its own, off the
 * worker's event loop. Messages, in order:
 *   { op: 'load', key, bytes, meta }  opens a session of the version (the verified artifact the worker loaded)
 *                                      -> { loaded: key } or { loaded: key, error }
 *   { op: 'drop', key }  releases the version's session
 *   { op: 'csv', id, key, input, from, end, columns, opts }  counts, parses and runs the records in [from, end)
 *     of `input` (the job's whole file, shared with the worker) and writes their output lines
 *     -> { id, rows, slot, output } (`output` a view of a shared buffer this thread lends, see Slots),
 *        { id, rows, output } (transferred), { id, output: null } (the chunk needs the row path) or { id, error }
 *   { op: 'free', slots }  the worker has written those output buffers: they can take the next job's lines
 */
import { parentPort } from 'node:worker_threads';
import type { Session } from '../engine/ort.js';
import { openServedSession } from '../engine/session.js';
import type { ServedVersion } from '../engine/version-pool.js';
import { ColumnarCsv } from './batch-columnar.js';
import { advanceRecords, CsvScratch } from './columnar-csv.js';

/** What the thread needs of a version besides its session. */
export type VersionMeta = Omit<ServedVersion, 'session'>;

export type CsvChunkOptions = { columns: 'all' | 'id'; idColumn?: string; entityColumn?: string };

export type ThreadMessage =
  | { op: 'load'; key: string; bytes: Uint8Array; meta: VersionMeta }
  /** Releases the version's session (the pool saw no chunk of it for a while). */
  | { op: 'drop'; key: string }
  | {
      op: 'csv';
      id: number;
      key: string;
      input: SharedArrayBuffer;
      from: number;
      end: number;
      columns: string[];
      opts: CsvChunkOptions;
    }
  | { op: 'free'; slots: number[] };

export type ThreadReply =
  | { loaded: string; error?: string }
  | { id: number; rows: number; output: Uint8Array; slot?: number; error?: undefined }
  | { id: number; output: null; error?: undefined }
  | { id: number; error: string };

/** The output buffers a thread may lend at once, in bytes (beyond them a chunk's lines go out in a buffer of its own). */
const SLOT_BYTES = 128 * 1024 * 1024;
/** Output buffers not lent for this long are let go. */
const IDLE_MS = 10 * 60_000;

/**
 * Output buffers lent to the worker (issue 23). A chunk's lines used to go out in a fresh ArrayBuffer, moved to the
 * worker: on a VM fresh memory costs a page fault per 4 KiB on first touch, and every buffer moved in counted as
 * new external memory there, which made V8 run full collections of the worker's heap (~70 MB) for each job. These
 * are SharedArrayBuffers, written here, read there, and given back once the job's output is stored, so from the
 * second job on a chunk's output costs neither.
 */
class Slots {
  private readonly all = new Map<number, { sab: SharedArrayBuffer; lent: boolean; at: number }>();
  private next = 1;
  private bytes = 0;

  /** A free buffer of at least `n` bytes (the smallest), a new one while under SLOT_BYTES, or null. */
  take(n: number): { id: number; sab: SharedArrayBuffer } | null {
    let best: { id: number; sab: SharedArrayBuffer } | null = null;
    for (const [id, s] of this.all)
      if (!s.lent && s.sab.byteLength >= n && (!best || s.sab.byteLength < best.sab.byteLength))
        best = { id, sab: s.sab };
    if (!best) {
      // Rounded up to a MiB, so the next job's slightly larger chunk still fits.
      const size = Math.ceil(n / (1 << 20)) * (1 << 20);
      if (this.bytes + size > SLOT_BYTES) return null;
      best = { id: this.next++, sab: new SharedArrayBuffer(size) };
      this.all.set(best.id, { sab: best.sab, lent: false, at: 0 });
      this.bytes += size;
    }
    this.all.get(best.id)!.lent = true;
    return best;
  }

  give(ids: number[]) {
    const now = Date.now();
    for (const id of ids) {
      const s = this.all.get(id);
      if (s) Object.assign(s, { lent: false, at: now });
    }
  }

  dropIdle(before: number) {
    for (const [id, s] of this.all) {
      if (s.lent || s.at >= before) continue;
      this.all.delete(id);
      this.bytes -= s.sab.byteLength;
    }
  }
}

const versions = new Map<string, Promise<ServedVersion>>();

/** One ColumnarCsv per version and header (it keeps the label bytes it has written). */
const scorers = new Map<string, ColumnarCsv | null>();
const slots = new Slots();
const scratch = new CsvScratch();
/** Chunks are scored one at a time, so the scratch arrays serve them all (the run itself is off this thread). */
let turn: Promise<void> = Promise.resolve();

setInterval(() => slots.dropIdle(Date.now() - IDLE_MS), 60_000).unref();

parentPort?.on('message', (m: ThreadMessage) => {
  if (m.op === 'load') return load(m);
  if (m.op === 'drop') return drop(m.key);
  if (m.op === 'free') return slots.give(m.slots);
  turn = turn.then(() => csv(m));
});

function drop(key: string) {
  const v = versions.get(key);
  versions.delete(key);
  for (const k of scorers.keys()) if (k.startsWith(`${key}\n`)) scorers.delete(k);
  void v?.then((sv) => sv.session.release()).catch(() => undefined);
}

function load(m: Extract<ThreadMessage, { op: 'load' }>) {
  // One intra-op thread: the pool has a thread per core, each with its own session.
  const sv = openServedSession(m.bytes, 1).then((session: Session): ServedVersion => ({ ...m.meta, session }));
  versions.set(m.key, sv);
  sv.then(
    () => parentPort!.postMessage({ loaded: m.key } satisfies ThreadReply),
    (e: unknown) => {
      versions.delete(m.key);
      parentPort!.postMessage({ loaded: m.key, error: String((e as Error)?.message ?? e) } satisfies ThreadReply);
    },
  );
}

async function csv(m: Extract<ThreadMessage, { op: 'csv' }>) {
  let slot: { id: number; sab: SharedArrayBuffer } | null = null;
  try {
    const v = versions.get(m.key);
    if (!v) throw new Error('no session for this version in the batch thread');
    const sv = await v;
    const sk = `${m.key}\n${m.opts.columns}\n${m.opts.idColumn ?? ''}\n${m.columns.join(',')}`;
    let scorer = scorers.get(sk);
    if (scorer === undefined) {
      scorer = ColumnarCsv.for(sv, m.columns, m.opts);
      scorers.set(sk, scorer);
    }
    // The part was cut at a line break, by bytes: its records are counted here, not on the worker's event loop.
    const input = new Uint8Array(m.input, 0, m.end);
    const rows = advanceRecords(input, m.from, Infinity).records;
    const alloc = (n: number) => {
      slot = slots.take(n);
      return slot ? new Uint8Array(slot.sab, 0, n) : Buffer.allocUnsafe(n);
    };
    const out = scorer ? await scorer.score(input, m.from, m.end, rows, { scratch, alloc }) : null;
    const lent = slot as { id: number; sab: SharedArrayBuffer } | null;
    if (lent && out?.buffer !== lent.sab) slots.give([lent.id]); // not written there (null, or it outgrew it)
    if (!out) return parentPort!.postMessage({ id: m.id, output: null } satisfies ThreadReply);
    if (lent && out.buffer === lent.sab)
      return parentPort!.postMessage({ id: m.id, rows, slot: lent.id, output: out } satisfies ThreadReply);
    // A buffer of its own moves to the worker, not a copy; a small one may sit in Node's shared pool.
    const output = out.buffer.byteLength > Buffer.poolSize ? out : new Uint8Array(out);
    parentPort!.postMessage({ id: m.id, rows, output } satisfies ThreadReply, [output.buffer as ArrayBuffer]);
  } catch (e) {
    // A buffer taken for a part that failed is free again (the worker never saw it).
    const lent = slot as { id: number; sab: SharedArrayBuffer } | null;
    if (lent) slots.give([lent.id]);
    parentPort!.postMessage({ id: m.id, error: String((e as Error)?.message ?? e) } satisfies ThreadReply);
  }
}
