/**
 * The process of one contained version (./contained-session.ts): one onnxruntime session, one run at a time, under
 * the memory cap its parent started it with. Its working directory is an empty read-only folder and its environment
 * is empty. Messages (Node IPC, advanced serialization: typed arrays cross as they are):
 *   { op: 'open', bytes, threads }  -> { inputNames, outputNames } or { error }
 *   { op: 'run', feeds, outputs }   -> { outputs } or { error }
 * It exits when its parent goes (the IPC channel closes).
 */
import { Tensor, type Session } from './ort.js';
import { openServedSession } from './session.js';
import type { WireTensor } from './side-runner.js';

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
  const feeds = Object.fromEntries(
    Object.entries(m.feeds).map(([k, t]) => [k, new Tensor(t.type as 'float32', t.data as Float32Array, t.dims)]),
  );
  const out = await session.run(feeds, m.outputs);
  const outputs: Record<string, WireTensor> = {};
  for (const [k, t] of Object.entries(out))
    outputs[k] = { type: t.type, data: t.data as WireTensor['data'], dims: t.dims };
  return { outputs };
}

process.on('message', (m: Message) => {
  handle(m).then(
    (reply) => process.send!(reply),
    (e: unknown) => process.send!({ error: String((e as Error)?.message ?? e) }),
  );
});
process.on('disconnect', () => process.exit(0));
