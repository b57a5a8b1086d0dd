import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, type ErrorCode } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';

/** What the validation child may use: memory (RSS, and the data segment where prlimit exists) and wall time. */
export interface SandboxLimits {
  memoryMb: number;
  timeoutSeconds: number;
}
export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = { memoryMb: 1024, timeoutSeconds: 60 };
export const SANDBOX_LIMITS = Symbol('SANDBOX_LIMITS');

export type SandboxRequest =
  /** Inspect, prepare (ZipMap), load and warm the model, then run the sample rows. */
  | { task: 'validate'; override?: Record<string, unknown>; rows?: unknown[] }
  /** Run rows through a model that already passed validation (drift profiles). */
  | { task: 'run'; signature: Record<string, unknown>; rows: unknown[] };

export type SandboxResult =
  | {
      ok: true;
      signature?: Record<string, unknown>;
      warnings?: string[];
      servingFile?: string;
      sampleOutput?: unknown;
      outputs?: unknown;
    }
  | { ok: false; code: string; message: string };

const CHILD = fileURLToPath(new URL('./sandbox-child.js', import.meta.url));
/** util-linux's prlimit caps the child's data segment, so a native allocation past the cap fails at once. */
const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));
const WATCH_MS = 50;
const STDERR_KEEP = 16 * 1024;

const fail = (message: string) => new AppError('VALIDATION_FAILED', message);
const memoryReason = (l: SandboxLimits) =>
  `Validation used more than ${l.memoryMb} MB of memory: the model (or its sample rows) needs more memory than a model may use here.`;
/** How an allocation that hit the cap reads, in V8's and onnxruntime's words. */
export const OUT_OF_MEMORY =
  /heap out of memory|allocation failed|bad_alloc|failed to allocate|out of memory|cannot allocate/i;

/**
 * The command and arguments that run Node with `args` within `memoryMb`: V8's heap limit, and where prlimit exists
 * a cap on the data segment, so a native allocation (onnxruntime's) past it fails at once. No core dumps.
 */
export function cappedNode(memoryMb: number, args: string[]): [string, string[]] {
  const node = [`--max-old-space-size=${memoryMb}`, ...args];
  return PRLIMIT
    ? [PRLIMIT, [`--data=${memoryMb * 1024 * 1024}`, '--core=0', '--', process.execPath, ...node]]
    : [process.execPath, node];
}

/** Resident set size of a process in kB, from /proc (Linux); undefined where there is no /proc. */
async function rssKb(pid: number): Promise<number | undefined> {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs one request about an uploaded model in a child process: its own empty folder as working directory (the
 * model sits alone in a subfolder, so a relative external-data path finds nothing), an empty environment, a memory
 * cap (prlimit on the data segment, V8's heap limit, and a watchdog on its RSS) and a wall-clock limit. Whatever
 * the model does, this returns the child's answer or throws VALIDATION_FAILED with a reason a user understands:
 * too much memory, too long, or onnxruntime crashed (and the signal). The calling process lives on.
 */
export async function runInSandbox(
  bytes: Buffer,
  req: SandboxRequest,
  limits: SandboxLimits = DEFAULT_SANDBOX_LIMITS,
): Promise<{ result: SandboxResult & { ok: true }; servingBytes?: Buffer }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'modelyard-validate-'));
  try {
    await mkdir(path.join(dir, 'model'));
    await writeFile(path.join(dir, 'model', 'model.onnx'), bytes);
    await writeFile(path.join(dir, 'request.json'), JSON.stringify(req));
    const [cmd, args] = cappedNode(limits.memoryMb, [CHILD, dir]);
    // Nothing of the parent's environment (secrets, database URL) reaches the child; both paths are absolute.
    const child = spawn(cmd, args, { cwd: dir, env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < STDERR_KEEP) stderr += c.toString('utf8');
    });
    let killedFor: string | undefined;
    const kill = (why: string) => {
      if (killedFor || child.exitCode !== null) return;
      killedFor = why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () =>
        kill(
          `Validation took longer than ${limits.timeoutSeconds} s: the model (or its sample rows) runs too long (a loop that never ends?).`,
        ),
      limits.timeoutSeconds * 1000,
    );
    let watching = false;
    const watchdog = setInterval(() => {
      if (watching || child.pid === undefined) return;
      watching = true;
      void rssKb(child.pid)
        .then((kb) => {
          if (kb !== undefined && kb > limits.memoryMb * 1024) kill(memoryReason(limits));
        })
        .finally(() => {
          watching = false;
        });
    }, WATCH_MS);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal }));
    }).finally(() => {
      clearTimeout(timer);
      clearInterval(watchdog);
    });

    if (killedFor) throw fail(killedFor);
    const resultFile = path.join(dir, 'result.json');
    if (!existsSync(resultFile)) {
      if (OUT_OF_MEMORY.test(stderr)) throw fail(memoryReason(limits));
      if (exit.signal) throw fail(`onnxruntime crashed while loading or running the model (signal ${exit.signal}).`);
      throw fail(`Validation crashed (exit code ${exit.code}) while loading or running the model.`);
    }
    const result = JSON.parse(await readFile(resultFile, 'utf8')) as SandboxResult;
    if (!result.ok) {
      if (OUT_OF_MEMORY.test(result.message)) throw fail(memoryReason(limits));
      throw new AppError(result.code in ERROR_CODES ? (result.code as ErrorCode) : 'VALIDATION_FAILED', result.message);
    }
    const servingBytes = result.servingFile ? await readFile(path.join(dir, 'serving.onnx')) : undefined;
    return { result, servingBytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
