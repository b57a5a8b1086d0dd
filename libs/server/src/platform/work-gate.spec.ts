import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WorkGate } from './work-gate.js';

describe('WorkGate', () => {
  it('runs at most `limit` tasks at once, queues up to `maxQueue`, and refuses past that at once', async () => {
    const gate = new WorkGate(1, 2);
    let running = 0;
    let most = 0;
    const task = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return 'ok';
    };
    const full = () => new Error('full');
    const runs = [gate.run(task, full), gate.run(task, full)];
    assert.equal(gate.full, false);
    runs.push(gate.run(task, full));
    assert.equal(gate.full, true);
    await assert.rejects(gate.run(task, full), /full/);
    assert.deepEqual(await Promise.all(runs), ['ok', 'ok', 'ok']);
    assert.equal(most, 1);
    assert.deepEqual(gate.load, { active: 0, waiting: 0 });
  });

  it('frees the slot when a task fails', async () => {
    const gate = new WorkGate(1, 0);
    await assert.rejects(
      gate.run(
        async () => {
          throw new Error('boom');
        },
        () => new Error('full'),
      ),
      /boom/,
    );
    assert.equal(
      await gate.run(
        async () => 1,
        () => new Error('full'),
      ),
      1,
    );
  });
});
