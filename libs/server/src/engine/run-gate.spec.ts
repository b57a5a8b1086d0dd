import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RUN_DROPPED, RunGate } from './run-gate.js';

describe('RunGate', () => {
  it('lets `max` runs go at once and hands each freed slot to the next waiter in order', async () => {
    const gate = new RunGate(2);
    assert.equal(gate.tryTake(), true);
    assert.equal(gate.tryTake(), true);
    assert.equal(gate.tryTake(), false);
    const order: number[] = [];
    const far = performance.now() + 60_000;
    const a = gate.wait(far).then(() => order.push(1));
    const b = gate.wait(far).then(() => order.push(2));
    assert.deepEqual(gate.load, { running: 2, waiting: 2 });
    gate.release();
    await a;
    assert.deepEqual(order, [1]);
    gate.release();
    await b;
    assert.deepEqual(order, [1, 2]);
    gate.release();
    gate.release();
    assert.deepEqual(gate.load, { running: 0, waiting: 0 });
    assert.equal(gate.tryTake(), true);
  });

  it('drops waiters whose deadline passed, unstarted, and counts them', async () => {
    let dropped = 0;
    const gate = new RunGate(1, () => dropped++);
    assert.equal(gate.tryTake(), true);
    const soon = gate.wait(performance.now() + 5);
    const later = gate.wait(performance.now() + 60_000);
    await new Promise((r) => setTimeout(r, 20));
    gate.release();
    await assert.rejects(soon, (e) => e === RUN_DROPPED);
    await later; // got the slot
    assert.equal(dropped, 1);
    await assert.rejects(gate.wait(performance.now() - 1), (e) => e === RUN_DROPPED);
    assert.equal(dropped, 2);
    gate.release();
    assert.deepEqual(gate.load, { running: 0, waiting: 0 });
  });
});
