import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { AppError } from '../platform/errors.js';
import type { Feeds, Outputs, Session } from './ort.js';
import { RUN_DROPPED } from './run-gate.js';
import { cappedNode, OUT_OF_MEMORY } from './sandbox.js';
import { emptyExternalDataDir } from './session.js';
import { fromWire, toWire, type WireTensor } from './wire-tensor.js';

/** What the process of a contained version may use: memory, and wall time per run (and to open the model). */
export interface ContainmentLimits {
  memoryMb: number;
  runSeconds: number;
}

const CHILD = fileURLToPath(new URL('./contained-child.js', import.meta.url));
/** Runs queued for one contained version past this many are refused at once rather than queued. */
const MAX_WAITING = 64;
const STDERR_KEEP = 4096;

type Reply = { inputNames?: string[]; outputNames?: string[]; outputs?: Record<string, WireTensor>; error?: string };

const memoryError = (l: ContainmentLimits) =>
  new AppError(
    'BAD_REQUEST',
    `The model needed more than the ${l.memoryMb} MB of memory a model may use, on this input.`,
  );

/** The process of one contained version, and the one message it has in hand. */
class Child {
  private exited = false;
  private readonly proc: ChildProcess;
  private waiter: { resolve: (m: Reply) => void; reject: (e: Error) => void } | null = null;
  private stoppedFor: Error | null = null;
  private stderr = '';

  constructor(private readonly limits: ContainmentLimits) {
    const [cmd, args] = cappedNode(limits.memoryMb, [CHILD]);
    // Nothing of the parent's environment (secrets, database URL) reaches the model; its folder is empty.
    this.proc = spawn(cmd, args, {
      cwd: emptyExternalDataDir(),
      env: { PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    this.proc.stderr!.on('data', (c: Buffer) => {
      if (this.stderr.length < STDERR_KEEP) this.stderr += c.toString('utf8');
    });
    this.proc.on('message', (m: Reply) => this.settle((w) => w.resolve(m)));
    this.proc.on('error', (e) => {
      // A process that never started sends no exit: what it had in hand fails here.
      if (this.proc.pid !== undefined) return this.stop(e);
      this.exited = true;
      this.settle((w) => w.reject(new AppError('NOT_READY', `The model's process could not start: ${e.message}`)));
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = true;
      const why =
        this.stoppedFor ??
        (OUT_OF_MEMORY.test(this.stderr)
          ? memoryError(this.limits)
          : new AppError(
              'NOT_READY',
              `The model's process stopped (${signal ?? `exit code ${code}`}) while running it.`,
            ));
      this.settle((w) => w.reject(why));
    });
    // An idle contained version must not keep its owner alive at shutdown; one with a message in hand does (ask).
    this.proc.unref();
    this.proc.channel?.unref();
    (this.proc.stderr as Socket).unref();
  }

  /** Sends `msg` and resolves with the reply; past `ms` the process is killed and this rejects with `tooLong`. */
  ask(msg: object, ms: number, tooLong: () => AppError): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => this.stop(tooLong()), ms);
      const done = () => clearTimeout(timer);
      this.proc.ref();
      this.waiter = { resolve: (m) => (done(), resolve(m)), reject: (e) => (done(), reject(e)) };
      this.proc.send(msg, (e) => e && this.stop(e));
    });
  }

  /** Neither stopped nor gone: it can take the next message. */
  get alive(): boolean {
    return !this.exited && !this.stoppedFor;
  }

  stop(why: Error) {
    if (this.stoppedFor || this.exited) return;
    this.stoppedFor = why;
    this.proc.kill('SIGKILL');
  }

  private settle(f: (w: NonNullable<Child['waiter']>) => void) {
    const w = this.waiter;
    this.waiter = null;
    this.proc.unref();
    if (w) f(w);
  }
}

/** Starts a process for `bytes` and opens the model there. */
async function start(
  bytes: Uint8Array,
  threads: number,
  limits: ContainmentLimits,
): Promise<{ child: Child; names: Reply }> {
  const child = new Child(limits);
  const names = await child.ask(
    { op: 'open', bytes, threads },
    limits.runSeconds * 1000,
    () => new AppError('NOT_READY', `The model did not open within ${limits.runSeconds} s in its process.`),
  );
  if (names.error !== undefined) {
    child.stop(new Error('open failed'));
    throw new AppError('NOT_READY', `onnxruntime could not open the model in its process: ${names.error}`);
  }
  return { child, names };
}

/**
 * A version served from a process of its own, for a model whose work the values of a request can grow without
 * bound (../onnx/onnx-work.ts: a Loop counted by an input, ConstantOfShape of an input). A run of onnxruntime on
 * an api's event loop cannot be interrupted: one request of `[[1e15]]` to such a model would stop every project's
 * predictions in that process, and a 40 GB allocation would take the box's memory. Here the run happens in a
 * child with the memory cap of validation (prlimit) and no secrets; a run past `runSeconds` kills the child and
 * fails with NOT_READY, a run past the memory cap fails with BAD_REQUEST, and the next run starts a new child.
 * Runs go one at a time, in order (the child has one session and one thread); at most MAX_WAITING wait, and one
 * whose deadline passed while it waited is dropped unstarted (RUN_DROPPED), as the api's run gate drops its own.
 */
export class ContainedSession implements Session {
  private busy = false;
  private released = false;
  private readonly waiting: {
    msg: object;
    deadline: number;
    resolve: (o: Outputs) => void;
    reject: (e: Error) => void;
  }[] = [];

  private constructor(
    private readonly bytes: Uint8Array,
    private readonly threads: number,
    private readonly limits: ContainmentLimits,
    private child: Child,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    readonly why: string,
  ) {}

  /**
   * Starts the version's process and opens the model in it; NOT_READY when onnxruntime refuses it there. `why`: the
   * reason the version is contained, for logs.
   */
  static async open(
    bytes: Uint8Array,
    threads: number,
    limits: ContainmentLimits,
    why: string,
  ): Promise<ContainedSession> {
    const { child, names } = await start(bytes, threads, limits);
    return new ContainedSession(bytes, threads, limits, child, names.inputNames ?? [], names.outputNames ?? [], why);
  }

  /** A run; dropped unstarted (RUN_DROPPED) if it is still waiting at `deadline` (performance.now() ms). */
  run(feeds: Feeds, fetches: readonly string[], deadline = Infinity): Promise<Outputs> {
    if (this.released) return Promise.reject(new AppError('NOT_READY', 'This version was unloaded.'));
    if (this.waiting.length >= MAX_WAITING)
      return Promise.reject(new AppError('NOT_READY', `The model has ${MAX_WAITING} runs waiting; try again later.`));
    return new Promise<Outputs>((resolve, reject) => {
      const msg = { op: 'run', feeds: toWire(feeds), outputs: [...fetches] };
      this.waiting.push({ msg, deadline, resolve, reject });
      this.next();
    });
  }

  release(): Promise<void> {
    this.released = true;
    for (const w of this.waiting.splice(0)) w.reject(new AppError('NOT_READY', 'This version was unloaded.'));
    this.child.stop(new AppError('NOT_READY', 'This version was unloaded.'));
    return Promise.resolve();
  }

  private next() {
    if (this.busy) return;
    let job = this.waiting.shift();
    for (const now = performance.now(); job && job.deadline <= now; job = this.waiting.shift()) job.reject(RUN_DROPPED);
    if (!job) return;
    this.busy = true;
    this.runNow(job.msg)
      .then(job.resolve, job.reject)
      .finally(() => {
        this.busy = false;
        this.next();
      });
  }

  /** One run in the live child (a new one if need be), within the time limit. */
  private async runNow(msg: object): Promise<Outputs> {
    const child = await this.ready();
    const seconds = this.limits.runSeconds;
    const reply = await child.ask(
      msg,
      seconds * 1000,
      () => new AppError('NOT_READY', `The model ran longer than ${seconds} s on this input and was stopped.`),
    );
    if (reply.error === undefined) return fromWire(reply.outputs ?? {});
    // onnxruntime's own refusal (shapes, types) is the input's, as on the event loop. After an allocation past the
    // cap its arena refuses even small ones, so the process is replaced.
    if (!OUT_OF_MEMORY.test(reply.error)) throw new Error(reply.error);
    const tooMuch = memoryError(this.limits);
    child.stop(tooMuch);
    throw tooMuch;
  }

  /** The live child, or a new one after the last was stopped or died. */
  private async ready(): Promise<Child> {
    if (this.released) throw new AppError('NOT_READY', 'This version was unloaded.');
    if (this.child.alive) return this.child;
    this.child = (await start(this.bytes, this.threads, this.limits)).child;
    return this.child;
  }
}
