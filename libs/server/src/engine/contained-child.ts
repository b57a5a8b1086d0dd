/**
 * The process of one contained version (./contained-session.ts): one onnxruntime session, one run at a time, under
 * the memory cap its parent started it with. Its working directory is an empty read-only folder and its environment
 * is empty. Messages (Node IPC, advanced serialization: typed arrays cross as they are):
 *   { op: 'open', bytes, threads }  -> { inputNames, outputNames } or { error }
 *   { op: 'run', feeds, outputs }   -> { outputs } or { error }
 * It exits when its parent goes (the IPC channel closes).
 */
import type { Session } from './ort.js';
import { openServedSession } from './session.js';
import { fromWire, toWire, type WireTensor } from './wire-tensor.js';

type Message =
  | { op: 'open'; bytes: Uint8Array; threads: number }
  | { op: 'run'; feeds: Record<string, WireTensor>; outputs: string[] };

let session: Session | null = null;

async function handle(m: Message): Promise<object> {
  if (m.op === 'open') {
    session = await openServedSession(m.bytes, m.threads);
    return { inputNames: session.inputNames, outputNames: session.outputNames };
  }
  if (!session) throw new Error('no session is open');
  return { outputs: toWire(await session.run(fromWire(m.feeds), m.outputs)) };
}

process.on('message', (m: Message) => {
  handle(m).then(
    (reply) => process.send!(reply),
    (e: unknown) => process.send!({ error: String((e as Error)?.message ?? e) }),
  );
});
process.on('disconnect', () => process.exit(0));
