import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The supervisor `npm start` runs the apps under (scripts/platform.mjs `launch` with `restart`): a crashed or
 * SIGKILLed child is started again with backoff, and only stop() (Ctrl-C) ends it for good.
 */
interface Supervised {
  readonly child: import('node:child_process').ChildProcess;
  readonly restarts: number;
  exited: Promise<number>;
  stop(timeoutMs?: number): Promise<void>;
}
type Launch = (name: string, args: string[], opts: { quiet?: boolean; restart?: boolean }) => Supervised;

const { launch } = (await import(pathToFileURL(path.resolve('scripts/platform.mjs')).href)) as { launch: Launch };

async function until(what: string, ok: () => boolean, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const alive = (pid: number | undefined) => {
  try {
    process.kill(pid!, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the platform supervisor', () => {
  it('starts a SIGKILLed app again, as a new process, and stops it for good on stop()', async () => {
    const p = launch('sleeper', [process.execPath, '-e', 'setInterval(() => {}, 1000)'], {
      quiet: true,
      restart: true,
    });
    const first = p.child.pid;
    await until('the first process', () => alive(first));
    p.child.kill('SIGKILL');
    await until('a restart', () => p.restarts === 1 && p.child.pid !== first && alive(p.child.pid));
    assert.equal(alive(first), false);
    const second = p.child.pid;
    await p.stop();
    assert.equal(await p.exited, 128, 'stopped by signal');
    await until('the second process to end', () => !alive(second));
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(p.restarts, 1, 'no restart after stop()');
  });

  it('backs off between restarts of an app that keeps crashing: 500 ms, then 1,000 ms', async () => {
    const p = launch('crasher', [process.execPath, '-e', 'process.exit(3)'], { quiet: true, restart: true });
    const starts: number[] = [Date.now()];
    let pid = p.child.pid;
    await until('two restarts', () => {
      if (p.child.pid !== pid) {
        pid = p.child.pid;
        starts.push(Date.now());
      }
      return starts.length >= 3;
    });
    await p.stop();
    assert.ok(starts[1]! - starts[0]! >= 500, `first restart after ${starts[1]! - starts[0]!} ms`);
    assert.ok(starts[2]! - starts[1]! >= 1000, `second restart after ${starts[2]! - starts[1]!} ms`);
  });

  it('without restart, reports the exit code of a one-shot child', async () => {
    const p = launch('once', [process.execPath, '-e', 'process.exit(7)'], { quiet: true });
    assert.equal(await p.exited, 7);
    assert.equal(p.restarts, 0);
  });
});
