import { Tensor, type Feeds, type Outputs } from './ort.js';
import { RUN_DROPPED } from './run-gate.js';
import type { ServedVersion } from './version-pool.js';

export interface MicroBatchConfig {
  maxBatchRows: number;
  maxWaitUs: number;
}

interface Pending {
  feeds: Feeds;
  rows: number;
  deadline: number;
  resolve: (o: Outputs) => void;
  reject: (e: unknown) => void;
}
/** Requests of one version and one input shape (the first one's feeds) waiting to be run together. */
interface Queue {
  shape: Feeds;
  items: Pending[];
  rows: number;
  cancel: (() => void) | null;
}

/** Any of the typed arrays a tensor holds, as far as concatenating them goes (each tensor has its batch's type). */
interface TypedArray extends ArrayLike<unknown> {
  set(values: ArrayLike<unknown>, offset: number): void;
}

/**
 * Whether a version's requests can be merged: every input and every output it returns has an open first (batch)
 * dimension in its signature. A fixed batch of one would fail every merged run (and each request be run again
 * alone); an output without a batch dimension could not be split among the callers.
 */
const batchable = new WeakMap<ServedVersion, boolean>();
function openBatchDim(sv: ServedVersion): boolean {
  let ok = batchable.get(sv);
  if (ok === undefined) {
    const outputs = sv.signature.outputs.filter((o) => sv.outputNames.includes(o.name));
    ok = [...sv.signature.inputs, ...outputs].every((t) => t.shape[0] === -1);
    batchable.set(sv, ok);
  }
  return ok;
}

function batchRows(feeds: Feeds): number {
  for (const n in feeds) return feeds[n]!.dims[0] ?? 0;
  return 0;
}

/**
 * Whether two requests' feeds have the same input names, types and non-batch dims: only those merge. Compared
 * field by field (a string key per request was a tenth of the batcher's cost at c=32).
 */
function sameShape(a: Feeds, b: Feeds): boolean {
  let inputs = 0;
  for (const n in a) {
    const x = a[n]!;
    const y = b[n];
    if (!y || x.type !== y.type || x.dims.length !== y.dims.length) return false;
    for (let d = 1; d < x.dims.length; d++) if (x.dims[d] !== y.dims[d]) return false;
    inputs++;
  }
  for (const _ in b) inputs--;
  return inputs === 0;
}

function concat(tensors: Tensor[], rows: number): Tensor {
  const first = tensors[0]!;
  const dims = [rows, ...first.dims.slice(1)];
  if (first.type === 'string')
    return new Tensor(
      'string',
      tensors.flatMap((t) => t.data as string[]),
      dims,
    );
  const total = tensors.reduce((a, t) => a + t.size, 0);
  const Ctor = (first.data as TypedArray).constructor as new (n: number) => TypedArray;
  const out = new Ctor(total);
  let offset = 0;
  for (const t of tensors) {
    out.set(t.data as ArrayLike<unknown>, offset);
    offset += t.size;
  }
  return new Tensor(first.type as 'float32', out as Float32Array, dims);
}

/**
 * One caller's rows of a merged output: a view of the batch's data, not a copy (the batch is at most maxBatchRows
 * rows, and the callers are answered in the same turn).
 */
function rowsOf(t: Tensor, start: number, rows: number, totalRows: number): Tensor {
  const width = t.size / totalRows;
  const dims = [rows, ...t.dims.slice(1)];
  if (t.type === 'string') {
    return new Tensor('string', (t.data as string[]).slice(start * width, (start + rows) * width), dims);
  }
  return new Tensor(
    t.type as 'float32',
    (t.data as Float32Array).subarray(start * width, (start + rows) * width),
    dims,
  );
}

/**
 * Dynamic micro-batching for one process: concurrent requests to the same version and input shape are
 * merged into one session run (up to maxBatchRows rows, waiting at most maxWaitUs for company: below a
 * millisecond, the requests of one event-loop turn), and each caller gets its own rows of every output back.
 * Versions without an open batch dimension (openBatchDim) are run one request at a time.
 */
export class MicroBatcher {
  /** Each version's open queues, one per input shape (nearly always one). */
  private readonly queues = new Map<ServedVersion, Queue[]>();

  /**
   * `run` gets the latest deadline of the callers it serves: past it, nobody waits for the answer. `merged` hears of
   * each run that serves more than one request (how many).
   */
  constructor(
    private readonly run: (sv: ServedVersion, feeds: Feeds, outputs: string[], deadline: number) => Promise<Outputs>,
    private readonly merged: (requests: number) => void = () => {},
  ) {}

  submit(sv: ServedVersion, feeds: Feeds, cfg: MicroBatchConfig, deadline = Infinity): Promise<Outputs> {
    const rows = batchRows(feeds);
    if (rows >= cfg.maxBatchRows || !openBatchDim(sv)) return this.run(sv, feeds, sv.outputNames, deadline);
    let open = this.queues.get(sv);
    if (!open) this.queues.set(sv, (open = []));
    let queue = open.find((q) => sameShape(q.shape, feeds));
    if (!queue) open.push((queue = { shape: feeds, items: [], rows: 0, cancel: null }));
    const q = queue;
    return new Promise<Outputs>((resolve, reject) => {
      q.items.push({ feeds, rows, deadline, resolve, reject });
      q.rows += rows;
      if (q.rows >= cfg.maxBatchRows) {
        this.flush(sv, q);
      } else if (!q.cancel) {
        // Below a millisecond, one turn of the event loop is the wait: it gathers what arrived together.
        if (cfg.maxWaitUs < 1000) {
          const t = setImmediate(() => this.flush(sv, q));
          q.cancel = () => clearImmediate(t);
        } else {
          const t = setTimeout(() => this.flush(sv, q), Math.round(cfg.maxWaitUs / 1000));
          q.cancel = () => clearTimeout(t);
        }
      }
    });
  }

  private flush(sv: ServedVersion, q: Queue) {
    q.cancel?.();
    const open = this.queues.get(sv)!;
    if (open.length === 1) this.queues.delete(sv);
    else open.splice(open.indexOf(q), 1);
    const items = q.items;
    if (items.length === 1) {
      this.run(sv, items[0]!.feeds, sv.outputNames, items[0]!.deadline).then(items[0]!.resolve, items[0]!.reject);
      return;
    }
    const total = q.rows;
    const merged: Feeds = {};
    for (const n in q.shape)
      merged[n] = concat(
        items.map((i) => i.feeds[n]!),
        total,
      );
    const deadline = items.reduce((d, i) => Math.max(d, i.deadline), -Infinity);
    this.merged(items.length);
    this.run(sv, merged, sv.outputNames, deadline).then(
      (out) => {
        const names = Object.keys(out);
        if (names.some((n) => out[n]!.dims[0] !== total)) {
          // An output without a batch dimension cannot be split: answer each request on its own.
          for (const i of items) this.run(sv, i.feeds, sv.outputNames, i.deadline).then(i.resolve, i.reject);
          return;
        }
        let start = 0;
        for (const i of items) {
          const mine: Outputs = {};
          for (const n of names) mine[n] = rowsOf(out[n]!, start, i.rows, total);
          i.resolve(mine);
          start += i.rows;
        }
      },
      (e: unknown) => {
        // Dropped unstarted (every caller's budget had passed): nobody to retry for.
        if (e === RUN_DROPPED) for (const i of items) i.reject(e);
        // One bad row fails the merged run: retry each request alone so only the culprit sees the error.
        else for (const i of items) this.run(sv, i.feeds, sv.outputNames, i.deadline).then(i.resolve, i.reject);
      },
    );
  }
}
