import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { JobName } from '@modelyard/contracts';
import type { RedisService } from '../platform/redis.service.js';
import type { JobProducer } from '../queue/job-producer.js';
import type { WorkerMetrics } from '../queue/worker-metrics.js';
import type { RegistryRepository } from '../registry/registry.repository.js';
import type { WebhooksRepository } from '../webhooks/webhooks.repository.js';
import type { JobsRepository } from './jobs.repository.js';
import type { SchedulesService } from './schedules.service.js';
import { RECONCILE_GRACE_MS, ReconcilerService } from './reconciler.service.js';

const T0 = 1_700_000_000_000;
const HASH = 'my:reconciler:missing-since';

/**
 * Postgres rows (unfinished jobs, pending versions and deliveries), the queues' live entries by queue name, and a
 * Redis holding hashes, all in memory and shared by every reconciler made with `make()`, as workers share them.
 */
function fakes() {
  const rows = {
    jobs: [] as { id: string; type: string }[],
    versions: [] as { id: string }[],
    deliveries: [] as { id: string }[],
  };
  const live: Record<string, Record<string, unknown>[]> = { predict: [], batch: [], registry: [], webhooks: [] };
  const asked: { queue: string; states: string[] }[] = [];
  const queued: { name: JobName; payload: unknown; opts: Record<string, unknown> }[] = [];
  const hashes = new Map<string, Record<string, string>>();
  const rearmable: string[] = [];
  const counted: Record<string, number> = {};
  const warnings: unknown[] = [];
  const jobs = { unfinished: async () => rows.jobs } as unknown as JobsRepository;
  const registry = { pendingVersionIds: async () => rows.versions } as unknown as RegistryRepository;
  const webhooks = { pendingDeliveryIds: async () => rows.deliveries } as unknown as WebhooksRepository;
  const producer = {
    queue: (name: string) => ({
      getJobs: async (states: string[], start: number, end: number) => {
        assert.deepEqual([start, end], [0, -1]);
        asked.push({ queue: name, states });
        return live[name]!.map((data) => ({ data }));
      },
    }),
    enqueue: async (name: JobName, payload: unknown, opts: Record<string, unknown>) =>
      void queued.push({ name, payload, opts }),
  } as unknown as JobProducer;
  const redis = {
    key: (...parts: string[]) => ['my', ...parts].join(':'),
    client: {
      hgetall: async (k: string) => ({ ...(hashes.get(k) ?? {}) }),
      hset: async (k: string, values: Record<string, string>) =>
        void hashes.set(k, { ...(hashes.get(k) ?? {}), ...values }),
      hdel: async (k: string, ...fields: string[]) => {
        const h = hashes.get(k) ?? {};
        for (const f of fields) delete h[f];
      },
    },
  } as unknown as RedisService;
  const schedules = { rearmMissing: async () => rearmable.splice(0) } as unknown as SchedulesService;
  const metrics = {
    reconciled: { inc: (l: { kind: string }, n: number) => void (counted[l.kind] = (counted[l.kind] ?? 0) + n) },
  } as unknown as WorkerMetrics;
  const log = Object.assign(pino({ level: 'silent' }), { warn: (o: unknown) => void warnings.push(o) });
  const make = () => new ReconcilerService(jobs, registry, webhooks, producer, redis, schedules, metrics, log);
  return { rows, live, asked, queued, hashes, rearmable, counted, warnings, make };
}

describe(ReconcilerService.name, () => {
  let f: ReturnType<typeof fakes>;
  let sut: ReconcilerService;
  beforeEach(() => {
    f = fakes();
    sut = f.make();
  });

  it('only notes work first seen missing (a suspect) and queues nothing until the grace period has passed', async () => {
    f.rows.jobs.push({ id: 'j1', type: 'async_predict' });
    f.rows.versions.push({ id: 'v1' });
    f.rows.deliveries.push({ id: 'd1' });
    const first = await sut.reconcile(T0);
    assert.deepEqual(first, {
      requeuedJobs: [],
      requeuedValidations: [],
      requeuedDeliveries: [],
      rearmedSchedules: [],
      suspects: 3,
    });
    assert.deepEqual(f.hashes.get(HASH), { 'job:j1': String(T0), 'version:v1': String(T0), 'delivery:d1': String(T0) });
    // Still missing, but a moment short of the grace period: a row between its insert and its enqueue looks so.
    const early = await sut.reconcile(T0 + RECONCILE_GRACE_MS - 1);
    assert.equal(early.suspects, 3);
    assert.deepEqual(f.queued, []);
    assert.deepEqual(f.warnings, []);
  });

  it('puts back each kind of work missing for the grace period, with queue ids from when it was first missed', async () => {
    f.rows.jobs.push({ id: 'j1', type: 'async_predict' }, { id: 'j2', type: 'batch_score' });
    f.rows.versions.push({ id: 'v1' });
    f.rows.deliveries.push({ id: 'd1' });
    await sut.reconcile(T0);
    const r = await sut.reconcile(T0 + RECONCILE_GRACE_MS);
    assert.deepEqual(r, {
      requeuedJobs: ['j1', 'j2'],
      requeuedValidations: ['v1'],
      requeuedDeliveries: ['d1'],
      rearmedSchedules: [],
      suspects: 0,
    });
    assert.deepEqual(f.queued, [
      { name: 'predict.async', payload: { jobId: 'j1' }, opts: { jobId: `reconciled-j1-${T0}`, attempts: 3 } },
      { name: 'batch.score', payload: { jobId: 'j2' }, opts: { jobId: `reconciled-j2-${T0}` } },
      {
        name: 'registry.validate',
        payload: { versionId: 'v1' },
        opts: { jobId: `validate-v1-reconciled-${T0}`, attempts: 3 },
      },
      {
        name: 'webhook.deliver',
        payload: { deliveryId: 'd1' },
        opts: { jobId: `webhook-d1-reconciled-${T0}`, attempts: 8, backoff: { type: 'exponential', delay: 2000 } },
      },
    ]);
    // Put back, the work is forgotten: should it go missing again, its grace period starts afresh.
    assert.deepEqual(f.hashes.get(HASH), {});
    assert.deepEqual([f.counted.job, f.counted.validation, f.counted.delivery], [2, 1, 1]);
    assert.equal(f.warnings.length, 1);
  });

  it('leaves alone work some live queue entry still carries, looking in every queue in every live state', async () => {
    f.rows.jobs.push({ id: 'j1', type: 'async_predict' }, { id: 'j2', type: 'batch_score' });
    f.rows.versions.push({ id: 'v1' });
    f.rows.deliveries.push({ id: 'd1' });
    f.live.predict!.push({ jobId: 'j1' });
    f.live.batch!.push({ jobId: 'j2', chunk: 3 });
    f.live.registry!.push({ versionId: 'v1' });
    f.live.webhooks!.push({ deliveryId: 'd1' });
    await sut.reconcile(T0);
    const r = await sut.reconcile(T0 + RECONCILE_GRACE_MS);
    assert.equal(r.suspects, 0);
    assert.deepEqual(f.queued, []);
    assert.deepEqual(f.hashes.get(HASH) ?? {}, {});
    const states = ['active', 'wait', 'delayed', 'prioritized', 'waiting-children'];
    assert.deepEqual(
      f.asked.slice(0, 4),
      ['predict', 'batch', 'registry', 'webhooks'].map((queue) => ({ queue, states })),
    );
  });

  it('forgets work that turned up again, so a later loss waits a full grace period', async () => {
    f.rows.jobs.push({ id: 'j1', type: 'async_predict' });
    await sut.reconcile(T0);
    f.live.predict!.push({ jobId: 'j1' });
    await sut.reconcile(T0 + 1000);
    assert.deepEqual(f.hashes.get(HASH), {});
    f.live.predict!.length = 0;
    const later = T0 + 2 * RECONCILE_GRACE_MS;
    assert.equal((await sut.reconcile(later)).suspects, 1);
    assert.equal(f.queued.length, 0);
    const r = await sut.reconcile(later + RECONCILE_GRACE_MS);
    assert.deepEqual(r.requeuedJobs, ['j1']);
    assert.equal(f.queued[0]!.opts.jobId, `reconciled-j1-${later}`);
  });

  it('gives two workers reconciling the same loss one queue id, so the queue holds one job, not two', async () => {
    const other = f.make();
    f.rows.jobs.push({ id: 'j1', type: 'async_predict' });
    await sut.reconcile(T0);
    await other.reconcile(T0 + 500);
    // Both saw the loss; both put it back, under the one id BullMQ keeps once.
    await Promise.all([sut.reconcile(T0 + RECONCILE_GRACE_MS), other.reconcile(T0 + RECONCILE_GRACE_MS + 1)]);
    assert.deepEqual(
      f.queued.map((q) => q.opts.jobId),
      [`reconciled-j1-${T0}`, `reconciled-j1-${T0}`],
    );
  });

  it('re-arms the job schedulers of unpaused schedules the queue lost, counts them and says so in the log', async () => {
    f.rearmable.push('s1', 's2');
    const r = await sut.reconcile(T0);
    assert.deepEqual(r.rearmedSchedules, ['s1', 's2']);
    assert.equal(f.counted.schedule, 2);
    assert.deepEqual(f.warnings, [r]);
  });

  it('is the jobs.reconcile handler and logs nothing when nothing was lost', async () => {
    assert.equal(sut.job, 'jobs.reconcile');
    const r = await sut.handle({}, { jobId: 'q', attempt: 1, maxAttempts: 1, updateProgress: async () => {} });
    assert.deepEqual(r, {
      requeuedJobs: [],
      requeuedValidations: [],
      requeuedDeliveries: [],
      rearmedSchedules: [],
      suspects: 0,
    });
    assert.deepEqual(f.warnings, []);
    assert.deepEqual(f.counted, { job: 0, validation: 0, schedule: 0, delivery: 0 });
  });
});
