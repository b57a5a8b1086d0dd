import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export interface AppProcess {
  name: string;
  child: ChildProcess;
  /** The last lines it printed, for failure messages. */
  tail(): string;
  /** Every line it printed that is still kept (the last 1,000). */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net
      .createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
  });
}

/**
 * Starts one of the built apps (api or worker) as its own process, with the e2e platform's environment (same
 * Postgres, Redis and storage as the running apps) plus `env`. Tests that kill or add processes use these, never
 * the shared ones the other tests rely on.
 */
export function startApp(name: string, app: 'api' | 'worker', env: Record<string, string>): AppProcess {
  return startProcess(name, [path.resolve(`apps/${app}/dist/main.js`)], {
    env: {
      LOG_LEVEL: 'warn',
      LOG_FILE: '',
      API_PROCESSES: '1',
      WORKER_METRICS_PORT: '0',
      WORKER_NICE: '0',
      SILENT_THREAD_NICE: '0',
      ...env,
    },
  });
}

/** Any node script as a child process with the test's environment plus `env`, its output kept for failure reports. */
export function startProcess(
  name: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): AppProcess {
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (b: Buffer) => {
    lines.push(...b.toString().split('\n').filter(Boolean));
    if (lines.length > 1000) lines.splice(0, lines.length - 1000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    name,
    child,
    tail: () => lines.slice(-30).join('\n'),
    output: () => lines.join('\n'),
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export async function waitReady(url: string, proc: AppProcess, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited before ${url} answered:\n${proc.tail()}`);
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${proc.tail()}`);
}
