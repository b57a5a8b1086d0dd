import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PRIORITY = fileURLToPath(new URL('./priority.js', import.meta.url));

/** Runs `code` in a fresh Node process (a lowered priority cannot be given back without privilege). */
function inChild(code: string): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('CPU priority (WORKER_NICE, SILENT_THREAD_NICE)', { skip: process.platform !== 'linux' }, () => {
  it('lowers every thread a process already has, and the threads it starts later inherit it', () => {
    const out = inChild(`
      import os from 'node:os';
      import { readdirSync } from 'node:fs';
      import { Worker } from 'node:worker_threads';
      const { lowerProcessPriority } = await import(${JSON.stringify(PRIORITY)});
      const changed = lowerProcessPriority(10);
      const w = new Worker('setTimeout(() => {}, 200)', { eval: true });
      await new Promise((r) => w.on('online', r));
      const nices = readdirSync('/proc/self/task').map((t) => os.getPriority(Number(t)));
      console.log(JSON.stringify({ changed, nices }));
      await w.terminate();
    `);
    const { changed, nices } = JSON.parse(out) as { changed: number; nices: number[] };
    assert.ok(changed >= 2, `threads changed: ${changed}`);
    assert.deepEqual([...new Set(nices)], [10], `thread priorities: ${nices.join(', ')}`);
  });

  it("lowers only the calling thread's priority from a worker thread, never the event loop's", () => {
    const out = inChild(`
      import os from 'node:os';
      import { Worker } from 'node:worker_threads';
      const w = new Worker(
        'import("node:worker_threads").then(({ parentPort }) => import(' +
          JSON.stringify(${JSON.stringify(PRIORITY)}) +
          ').then((m) => parentPort.postMessage(m.lowerThreadPriority(19))));',
        { eval: true },
      );
      const lowered = await new Promise((r) => w.on('message', r));
      console.log(JSON.stringify({ lowered, main: os.getPriority(process.pid) }));
      await w.terminate();
    `);
    assert.deepEqual(JSON.parse(out), { lowered: true, main: 0 });
  });
});
