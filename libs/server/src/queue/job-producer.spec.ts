import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Queue } from 'bullmq';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { RedisService } from '../platform/redis.service.js';
import { JobProducer } from './job-producer.js';

/** A producer whose queues' upsertJobScheduler answers with the next of `outcomes` (an Error is thrown). */
function producer(outcomes: (Error | string)[]) {
  const calls: string[] = [];
  const sut = new JobProducer({} as CommonConfig, {} as RedisService, pino({ level: 'silent' }));
  sut.queue = () =>
    ({
      upsertJobScheduler: async (id: string) => {
        calls.push(id);
        const next = outcomes.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
    }) as unknown as Queue;
  return { sut, calls };
}

describe(JobProducer.name, () => {
  it('retries a job scheduler Redis was too slow to take at boot, then boots', async () => {
    const slow = () => new Error('Command timed out');
    const { sut, calls } = producer([slow(), slow(), 'scheduled']);
    assert.equal(await sut.schedule('registry-sweep', 'registry.sweep', {}, 60_000), 'scheduled');
    assert.deepEqual(calls, ['registry-sweep', 'registry-sweep', 'registry-sweep']);
  });

  it('does not retry what is not an unreachable Redis', async () => {
    const { sut, calls } = producer([new Error('ERR wrong number of arguments'), 'scheduled']);
    await assert.rejects(sut.schedule('registry-sweep', 'registry.sweep', {}, 60_000), /wrong number/);
    assert.equal(calls.length, 1);
  });
});
