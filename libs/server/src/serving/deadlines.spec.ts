import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Deadlines } from './deadlines.js';

describe('Deadlines', () => {
  it('passes through work that finishes within its budget, and stops its timer when idle', async () => {
    const d = new Deadlines();
    assert.equal(
      await d.guard(
        sleep(5).then(() => 'done'),
        200,
        () => new Error('late'),
      ),
      'done',
    );
    await assert.rejects(
      d.guard(Promise.reject(new Error('model failed')), 200, () => new Error('late')),
      /model failed/,
    );
    assert.equal(d.size, 0);
  });

  it('rejects work past its budget, and ignores its late outcome', async () => {
    const d = new Deadlines();
    const started = performance.now();
    let settle!: (v: string) => void;
    const slow = new Promise<string>((r) => {
      settle = r;
    });
    await assert.rejects(
      d.guard(slow, 20, () => new Error('over budget')),
      /over budget/,
    );
    const took = performance.now() - started;
    // The work never settles on its own: any rejection proves the budget fired. The upper bound only catches a
    // timer that never fired; a loaded machine (CI, parallel test files) may run timers tens of ms late.
    assert.ok(took >= 19 && took < 2000, `rejected after ${took} ms`);
    settle('too late');
    await sleep(1);
    assert.equal(d.size, 0);
  });

  it('keeps each request on its own budget', async () => {
    const d = new Deadlines();
    const order: string[] = [];
    const never = new Promise<string>(() => undefined);
    await Promise.allSettled([
      d
        .guard(never, 40, () => new Error('b'))
        .catch((e: Error) => {
          order.push(e.message);
        }),
      d
        .guard(never, 10, () => new Error('a'))
        .catch((e: Error) => {
          order.push(e.message);
        }),
      d.guard(
        sleep(20).then(() => order.push('c')),
        100,
        () => new Error('c late'),
      ),
    ]);
    assert.deepEqual(order, ['a', 'c', 'b']);
  });
});

describe('Deadlines mapping', () => {
  it('maps the outcome inside the one promise, runs ok even after the budget expired, and maps errors', async () => {
    const d = new Deadlines();
    assert.equal(
      await d.guard(
        Promise.resolve(2),
        100,
        () => new Error('late'),
        (v) => v * 10,
      ),
      20,
    );
    await assert.rejects(
      d.guard(
        Promise.reject(new Error('raw')),
        100,
        () => new Error('late'),
        undefined,
        (e) => new Error(`mapped ${(e as Error).message}`),
      ),
      /mapped raw/,
    );
    await assert.rejects(
      d.guard(
        Promise.resolve(1),
        100,
        () => new Error('late'),
        () => {
          throw new Error('ok threw');
        },
      ),
      /ok threw/,
    );
    let seen = 0;
    await assert.rejects(
      d.guard(
        sleep(30).then(() => 7),
        5,
        () => new Error('late'),
        (v) => {
          seen = v;
          return v;
        },
      ),
      /late/,
    );
    await sleep(40);
    assert.equal(seen, 7);
  });
});
