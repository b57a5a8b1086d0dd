/**
 * A batch pool thread (./batch-pool.ts): scores CSV chunks of a batch job with a session of its own, off the
 * worker's event loop. Messages, in order:
 *   { op: 'load', key, bytes, meta }  opens a session of the version (the verified artifact the worker loaded)
 *                                      -> { loaded: key } or { loaded: key, error }
 *   { op: 'drop', key }  releases the version's session
 *   { op: 'csv', id, key, input, from, end, rows, columns, opts }  parses records [from, end) of `input` (the
 *     job's whole file, shared with the worker), runs them, writes their output lines
 *     -> { id, output } (transferred), { id, output: null } (the chunk needs the row path) or { id, error }
 */
import { parentPort } from 'node:worker_threads';
import type { Session } from '../engine/ort.js';
import { openServedSession } from '../engine/session.js';
import type { ServedVersion } from '../engine/version-pool.js';
import { ColumnarCsv } from './batch-columnar.js';

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
      rows: number;
      columns: string[];
      opts: CsvChunkOptions;
    };

export type ThreadReply =
  | { loaded: string; error?: string }
  | { id: number; output: Uint8Array | null; error?: undefined }
  | { id: number; error: string };

const versions = new Map<string, Promise<ServedVersion>>();

/** One ColumnarCsv per version and header (it keeps the label bytes it has written). */
const scorers = new Map<string, ColumnarCsv | null>();

parentPort?.on('message', (m: ThreadMessage) => {
  if (m.op === 'load') return load(m);
  if (m.op === 'drop') return drop(m.key);
  void csv(m);
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
    const out = scorer ? await scorer.score(new Uint8Array(m.input), m.from, m.end, m.rows) : null;
    if (!out) return parentPort!.postMessage({ id: m.id, output: null } satisfies ThreadReply);
    // The output's own ArrayBuffer moves to the worker, not a copy; a small one may sit in Node's shared pool.
    const output = out.buffer.byteLength > Buffer.poolSize ? out : new Uint8Array(out);
    parentPort!.postMessage({ id: m.id, output } satisfies ThreadReply, [output.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: String((e as Error)?.message ?? e) } satisfies ThreadReply);
  }
}
