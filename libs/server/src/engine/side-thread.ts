/**
 * The side runner's thread (./side-runner.ts): onnxruntime sessions of its own, run off the event loop that
 * serves requests, at a lower CPU priority than the rest of the process. Messages, in order:
 *   { op: 'load', key, bytes }  opens a session -> { loaded: key } or { loaded: key, error } (a run names it by key)
 *   { op: 'run', id, key, feeds, outputs }  -> { id, outputs, ms } (ms: the session run alone) or { id, error }
 * Sessions unused for IDLE_MS are released (the api unloads versions on its own schedule; this follows lazily).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from '../platform/priority.js';
import { openServedSession } from './session.js';
import type { Session } from './ort.js';
import { fromWire, toWire, type WireTensor } from './wire-tensor.js';

const { nice, threads } = workerData as { nice: number; threads: number };
lowerThreadPriority(nice);

const IDLE_MS = 10 * 60_000;
const sessions = new Map<string, { session: Promise<Session>; used: number }>();

type Message =
  | { op: 'load'; key: string; bytes: Uint8Array }
  | { op: 'run'; id: number; key: string; feeds: Record<string, WireTensor>; outputs: string[] };

parentPort!.on('message', (m: Message) => {
  if (m.op === 'load') {
    const session = openServedSession(m.bytes, threads);
    sessions.set(m.key, { session, used: Date.now() });
    session.then(
      () => parentPort!.postMessage({ loaded: m.key }),
      (e: unknown) => parentPort!.postMessage({ loaded: m.key, error: String((e as Error)?.message ?? e) }),
    );
    return;
  }
  void run(m);
});

async function run(m: Extract<Message, { op: 'run' }>) {
  try {
    const s = sessions.get(m.key);
    if (!s) throw new Error('no session for this version in the side runner');
    s.used = Date.now();
    const session = await s.session;
    const started = performance.now();
    const out = await session.run(fromWire(m.feeds), m.outputs);
    const ms = performance.now() - started;
    const transfer: ArrayBuffer[] = [];
    for (const t of Object.values(out)) if (ArrayBuffer.isView(t.data)) transfer.push(t.data.buffer as ArrayBuffer);
    parentPort!.postMessage({ id: m.id, outputs: toWire(out), ms }, transfer);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: String((e as Error)?.message ?? e) });
  }
}

setInterval(() => {
  const now = Date.now();
  for (const [k, s] of sessions)
    if (now - s.used > IDLE_MS) {
      sessions.delete(k);
      void s.session.then((x) => x.release()).catch(() => undefined);
    }
}, 60_000).unref();
