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
interface Queue {
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
  return Object.values(feeds)[0]?.dims[0] ?? 0;
}

/** Input names, types and non-batch dims: requests merge only with requests of the same shape. */
function shapeKey(feeds: Feeds): string {
  return Object.entries(feeds)
    .map(([n, t]) => `${n}:${t.type}:${t.dims.slice(1).join('x')}`)
    .join('|');
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

function slice(t: Tensor, start: number, rows: number, totalRows: number): Tensor {
  const width = t.size / totalRows;
  const dims = [rows, ...t.dims.slice(1)];
  if (t.type === 'string') {
    return new Tensor('string', (t.data as string[]).slice(start * width, (start + rows) * width), dims);
  }
  // A copy, so one caller's result does not pin the whole batch's buffer.
  return new Tensor(t.type as 'float32', (t.data as Float32Array).slice(start * width, (start + rows) * width), dims);
}

/**
 * Dynamic micro-batching for one process: concurrent requests to the same version and input shape are
 * merged into one session run (up to maxBatchRows rows, waiting at most maxWaitUs for company: below a
 * millisecond, the requests of one event-loop turn), and each caller gets its own rows of every output back.
 * Versions without an open batch dimension (openBatchDim) are run one request at a time.
 */
export class MicroBatcher {
  private readonly queues = new Map<string, Queue>();

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
    const key = `${sv.model}@${sv.version}|${shapeKey(feeds)}`;
    let q = this.queues.get(key);
    if (!q) {
      q = { items: [], rows: 0, cancel: null };
      this.queues.set(key, q);
    }
    const queue = q;
    return new Promise<Outputs>((resolve, reject) => {
      queue.items.push({ feeds, rows, deadline, resolve, reject });
      queue.rows += rows;
      if (queue.rows >= cfg.maxBatchRows) {
        this.flush(key, queue, sv);
      } else if (!queue.cancel) {
        // Below a millisecond, one turn of the event loop is the wait: it gathers what arrived together.
        if (cfg.maxWaitUs < 1000) {
          const t = setImmediate(() => this.flush(key, queue, sv));
          queue.cancel = () => clearImmediate(t);
        } else {
          const t = setTimeout(() => this.flush(key, queue, sv), Math.round(cfg.maxWaitUs / 1000));
          queue.cancel = () => clearTimeout(t);
        }
      }
    });
  }

  private flush(key: string, q: Queue, sv: ServedVersion) {
    q.cancel?.();
    this.queues.delete(key);
    const items = q.items;
    if (items.length === 1) {
      this.run(sv, items[0]!.feeds, sv.outputNames, items[0]!.deadline).then(items[0]!.resolve, items[0]!.reject);
      return;
    }
    const total = q.rows;
    const names = Object.keys(items[0]!.feeds);
    const merged = Object.fromEntries(
      names.map((n) => [
        n,
        concat(
          items.map((i) => i.feeds[n]!),
          total,
        ),
      ]),
    );
    const deadline = items.reduce((d, i) => Math.max(d, i.deadline), -Infinity);
    this.merged(items.length);
    this.run(sv, merged, sv.outputNames, deadline).then(
      (out) => {
        if (Object.values(out).some((t) => t.dims[0] !== total)) {
          // An output without a batch dimension cannot be split: answer each request on its own.
          for (const i of items) this.run(sv, i.feeds, sv.outputNames, i.deadline).then(i.resolve, i.reject);
          return;
        }
        let start = 0;
        for (const i of items) {
          i.resolve(Object.fromEntries(Object.entries(out).map(([n, t]) => [n, slice(t, start, i.rows, total)])));
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
