import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { JobName, Role } from '@modelyard/contracts';
import { testPrincipal } from '../auth/principal.test-support.js';
import { recordedEvents } from '../events/events.test-support.js';
import { AppError } from '../platform/errors.js';
import type { JobContext } from '../queue/job-handler.js';
import type { JobProducer } from '../queue/job-producer.js';
import type { RegistryRepository } from '../registry/registry.repository.js';
import type { ServingService } from '../serving/serving.service.js';
import type { StorageService } from '../storage/storage.service.js';
import type { BatchOptions } from './batch-options.js';
import type { JobsRepository } from './jobs.repository.js';
import { SchedulesService } from './schedules.service.js';
import type { ProjectQuotas } from '../projects/quotas.service.js';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const person = (role: Role, over: { modelAllowList?: string[] } = {}) =>
  testPrincipal({ id: `${role}-1`, name: role, role, ...over });
const NEXT = Date.UTC(2030, 0, 1, 6);
const CTX: JobContext = { jobId: 'q', attempt: 1, maxAttempts: 3, updateProgress: async () => {} };
const spec = (over: Record<string, unknown> = {}) => ({
  name: 'nightly',
  model: 'iris',
  cron: '0 6 * * *',
  inputPrefix: 's3://in/daily/',
  ...over,
});

type Schedule = {
  id: string;
  name: string;
  modelId: string;
  cron: string;
  inputPrefix: string;
  options: unknown;
  paused: boolean;
  lastRunAt: Date | null;
  createdByKind: string;
  createdById: string | null;
  createdByName: string | null;
};

/** Schedules, claims and jobs in memory; the batch queue's job schedulers as a map of id -> cron. */
function fakes() {
  const schedules = new Map<string, Schedule>();
  const claims = new Map<string, string>();
  const jobs: Record<string, unknown>[] = [];
  const schedulers = new Map<string, string>();
  const queued: { name: JobName; payload: unknown; id?: string }[] = [];
  const files: string[] = [];
  const failures = { badCron: false, redisDown: false };
  const models: Record<string, string> = { m1: 'iris', m2: 'wine' };
  const row = (s: Schedule) => ({ ...s, createdAt: new Date(0), model: { name: models[s.modelId]! } });
  const repo = {
    createSchedule: async (data: Omit<Schedule, 'paused' | 'lastRunAt'>) => {
      if ([...schedules.values()].some((s) => s.modelId === data.modelId && s.name === data.name))
        throw Object.assign(new Error('Unique constraint failed'), { code: 'P2002' });
      const s = { ...data, paused: false, lastRunAt: null };
      schedules.set(s.id, s);
      return row(s);
    },
    deleteSchedule: async (id: string) => void schedules.delete(id),
    findSchedule: async (id: string) => (schedules.has(id) ? row(schedules.get(id)!) : null),
    listSchedules: async () => [...schedules.values()].map(row),
    updateSchedule: async (id: string, data: Partial<Schedule>) => row(Object.assign(schedules.get(id)!, data)),
    scheduledInputs: async (id: string) =>
      new Set([...claims].filter(([, sid]) => sid === id).map(([uri]) => uri.split('|')[1]!)),
    claimInput: async (id: string, uri: string) => {
      if (claims.has(`${id}|${uri}`)) return false;
      claims.set(`${id}|${uri}`, id);
      return true;
    },
    create: async (data: Record<string, unknown>) => void jobs.push(data),
  } as unknown as JobsRepository;
  const registry = {
    findModel: async (name: string) => {
      const id = Object.keys(models).find((k) => models[k] === name);
      return id ? { id, name, projectId: 'p1' } : null;
    },
  } as unknown as RegistryRepository;
  const serving = { versionNumber: async () => 7 } as unknown as ServingService;
  const storage = {
    list: async (prefix: string) => {
      if (!prefix.startsWith('s3://')) throw new AppError('BAD_REQUEST', `Cannot read ${prefix}`);
      return files.filter((k) => k.startsWith(prefix)).map((uri) => ({ uri, key: uri.slice('s3://in/'.length) }));
    },
    backendOf: () => 's3',
    locate: (uri: string) => {
      if (!uri.startsWith('s3://')) throw new AppError('BAD_REQUEST', `Cannot read ${uri}`);
      return { backend: 's3', key: uri.replace(/^s3:\/\/[^/]+\//, '') };
    },
    importPrefixes: () => [],
  } as unknown as StorageService;
  const batch = {
    upsertJobScheduler: async (id: string, repeat: { pattern: string }, tpl: { name: string; data: unknown }) => {
      if (failures.badCron) throw new Error('Invalid cron expression');
      if (failures.redisDown)
        throw Object.assign(new Error('Reached the max retries per request limit'), {
          name: 'MaxRetriesPerRequestError',
        });
      assert.deepEqual(tpl, { name: 'schedule.run', data: { scheduleId: id.replace('schedule-', '') } });
      schedulers.set(id, repeat.pattern);
    },
    removeJobScheduler: async (id: string) => schedulers.delete(id),
    getJobScheduler: async (id: string) => (schedulers.has(id) ? { next: NEXT } : undefined),
  };
  const producer = {
    queue: (name: string) => {
      assert.equal(name, 'batch');
      return batch;
    },
    enqueue: async (name: JobName, payload: unknown, opts: { jobId?: string } = {}) =>
      void queued.push({ name, payload, id: opts.jobId }),
  } as unknown as JobProducer;
  return { schedules, claims, jobs, schedulers, queued, files, failures, repo, registry, serving, storage, producer };
}

const unlimited = {
  roomForVersion: async () => null,
  admitVersion: async () => {},
  admitJob: async () => {},
  checkJobRoom: async () => {},
  tryAdmitJob: async () => true,
} as unknown as ProjectQuotas;

describe(SchedulesService.name, () => {
  let f: ReturnType<typeof fakes>;
  let events: ReturnType<typeof recordedEvents>;
  let sut: SchedulesService;
  beforeEach(() => {
    f = fakes();
    events = recordedEvents();
    sut = new SchedulesService(
      f.repo,
      f.registry,
      f.serving,
      f.storage,
      f.producer,
      events,
      pino({ level: 'silent' }),
      unlimited,
    );
  });

  describe('create', () => {
    it('stores the schedule, arms its cron in the queue and records schedule.created', async () => {
      const s = await sut.create(person('scientist'), spec());
      assert.deepEqual(
        [s.name, s.model, s.cron, s.paused, s.createdBy, s.nextRunAt],
        ['nightly', 'iris', '0 6 * * *', false, 'scientist', new Date(NEXT).toISOString()],
      );
      assert.deepEqual([...f.schedulers], [[`schedule-${s.id}`, '0 6 * * *']]);
      assert.deepEqual(f.schedules.get(s.id)!.options, { output: { columns: 'all' }, store: undefined });
      assert.deepEqual(
        events.recorded.map((e) => [e.type, e.objectId, e.data]),
        [['schedule.created', s.id, { model: 'iris', cron: '0 6 * * *', inputPrefix: 's3://in/daily/' }]],
      );
    });

    it('refuses a model name holding a "/" (400): in the default project it would spell another project\'s model', async () => {
      const models = { 'm-a': 'team-a/iris' };
      const registry = {
        findModel: async (key: string) => (key === models['m-a'] ? { id: 'm-a', name: key } : null),
      } as unknown as RegistryRepository;
      const schedules = new SchedulesService(
        f.repo,
        registry,
        f.serving,
        f.storage,
        f.producer,
        events,
        pino({ level: 'silent' }),
        unlimited,
      );
      await assert.rejects(
        schedules.create(person('scientist'), spec({ model: 'team-a/iris' })),
        code('VALIDATION_FAILED'),
      );
      assert.equal(f.schedules.size, 0);
    });

    it('answers 409 for a second schedule of one name on a model, and 400 for a cron the queue refuses', async () => {
      await sut.create(person('scientist'), spec());
      await assert.rejects(sut.create(person('scientist'), spec()), code('CONFLICT'));
      f.failures.badCron = true;
      await assert.rejects(sut.create(person('scientist'), spec({ name: 'other', cron: '99 * * * *' })), (e) => {
        assert.ok(code('VALIDATION_FAILED')(e));
        assert.match((e as Error).message, /The cron expression "99 \* \* \* \*" is not valid/);
        return true;
      });
      // The refused schedule leaves no row behind.
      assert.deepEqual(
        [...f.schedules.values()].map((s) => s.name),
        ['nightly'],
      );
      assert.equal(events.recorded.length, 1);
    });

    it('answers 503 (not a 400 about the cron) when Redis is down while arming, and keeps no row', async () => {
      f.failures.redisDown = true;
      await assert.rejects(sut.create(person('scientist'), spec()), (e) => {
        assert.ok(code('NOT_READY')(e));
        assert.match((e as Error).message, /The queue \(Redis\) is unavailable/);
        return true;
      });
      assert.deepEqual([f.schedules.size, f.schedulers.size, events.recorded.length], [0, 0, 0]);
    });

    it('refuses a viewer (403), unknown model (404), bad spec or unreadable prefix (400); stores nothing', async () => {
      await assert.rejects(sut.create(person('viewer'), spec()), code('FORBIDDEN'));
      await assert.rejects(sut.create(person('scientist'), spec({ model: 'nope' })), code('NOT_FOUND'));
      await assert.rejects(sut.create(person('scientist'), spec({ cron: 'hourly' })), code('VALIDATION_FAILED'));
      await assert.rejects(sut.create(person('scientist'), spec({ inputPrefix: 'ftp://x/' })), code('BAD_REQUEST'));
      await assert.rejects(sut.create(person('scientist', { modelAllowList: ['wine'] }), spec()), code('FORBIDDEN'));
      assert.deepEqual([f.schedules.size, f.schedulers.size, events.recorded.length], [0, 0, 0]);
    });
  });

  describe('a run', () => {
    it('turns each new input file into one batch job on the current Production version; skips the rest', async () => {
      const s = await sut.create(person('scientist'), spec({ output: { columns: 'id', idColumn: 'id' } }));
      f.files.push(
        's3://in/daily/a.csv',
        's3://in/daily/b.JSONL',
        's3://in/daily/c.ndjson',
        's3://in/daily/readme.txt',
        's3://in/daily/a.0123abcd.predictions.csv',
        's3://in/daily/a.0123abcd.errors.csv',
        's3://in/other/d.csv',
      );
      const r = (await sut.handle({ scheduleId: s.id }, CTX)) as { jobs: string[] };
      assert.equal(r.jobs.length, 3);
      assert.deepEqual(
        f.jobs.map((j) => [j.inputUri, j.format, j.version, j.modelName, j.scheduleId, j.createdByName]),
        [
          ['s3://in/daily/a.csv', 'csv', 7, 'iris', s.id, 'scientist'],
          ['s3://in/daily/b.JSONL', 'jsonl', 7, 'iris', s.id, 'scientist'],
          ['s3://in/daily/c.ndjson', 'jsonl', 7, 'iris', s.id, 'scientist'],
        ],
      );
      // Outputs land beside the input, under names the next run recognises as outputs.
      const opts = f.jobs[0]!.options as BatchOptions;
      const tag = String(f.jobs[0]!.id).slice(0, 8);
      assert.deepEqual(
        [opts.outputKey, opts.errorsKey, opts.columns, opts.idColumn],
        [`daily/a.${tag}.predictions.csv`, `daily/a.${tag}.errors.csv`, 'id', 'id'],
      );
      assert.deepEqual(
        f.queued.map((q) => [q.name, q.payload, q.id]),
        f.jobs.map((j) => ['batch.score', { jobId: j.id }, `batch-${String(j.id)}-0`]),
      );
      assert.ok(f.schedules.get(s.id)!.lastRunAt instanceof Date);

      // The next tick scores only what is new.
      f.files.push('s3://in/daily/e.csv', `s3://in/daily/a.${tag}.predictions.csv`);
      const again = (await sut.handle({ scheduleId: s.id }, CTX)) as { jobs: string[] };
      assert.deepEqual(
        f.jobs.slice(3).map((j) => j.inputUri),
        ['s3://in/daily/e.csv'],
      );
      assert.equal(again.jobs.length, 1);
    });

    it("queues no more than the project's concurrent-jobs quota leaves; the other files wait for a later run", async () => {
      let room = 2;
      const asked: string[] = [];
      const quotas = {
        tryAdmitJob: async (projectId: string) => (asked.push(projectId), room-- > 0),
      } as unknown as ProjectQuotas;
      const limited = new SchedulesService(
        f.repo,
        f.registry,
        f.serving,
        f.storage,
        f.producer,
        events,
        pino({ level: 'silent' }),
        quotas,
      );
      const s = await limited.create(person('scientist'), spec());
      f.files.push('s3://in/daily/a.csv', 's3://in/daily/b.csv', 's3://in/daily/c.csv');
      const r = (await limited.handle({ scheduleId: s.id }, CTX)) as { jobs: string[]; waiting?: number };
      assert.equal(r.jobs.length, 2);
      assert.equal(r.waiting, 1);
      assert.deepEqual(
        f.jobs.map((j) => j.inputUri),
        ['s3://in/daily/a.csv', 's3://in/daily/b.csv'],
      );
      assert.ok(
        asked.every((p) => p === 'p1'),
        'asked about the model project',
      );

      room = 5; // a job ended: the next tick takes the file that waited, once
      const next = (await limited.handle({ scheduleId: s.id }, CTX)) as { jobs: string[] };
      assert.equal(next.jobs.length, 1);
      assert.equal(f.jobs[2]!.inputUri, 's3://in/daily/c.csv');
    });

    it('counts the quota and inserts each job in one transaction (concurrent ticks cannot both take the last room)', async () => {
      let open = 0;
      const seen: string[] = [];
      const tx = {
        ...events,
        transaction: async <T>(fn: () => Promise<T>) => {
          open++;
          seen.push('begin');
          try {
            return await fn();
          } finally {
            seen.push('commit');
            open--;
          }
        },
      } as typeof events;
      const quotas = {
        tryAdmitJob: async () => (seen.push(`admit in tx: ${open > 0}`), true),
      } as unknown as ProjectQuotas;
      const create = f.repo.create.bind(f.repo);
      f.repo.create = (async (data: Parameters<typeof create>[0]) => {
        seen.push(`insert in tx: ${open > 0}`);
        return create(data);
      }) as typeof create;
      const sut = new SchedulesService(
        f.repo,
        f.registry,
        f.serving,
        f.storage,
        f.producer,
        tx,
        pino({ level: 'silent' }),
        quotas,
      );
      const s = await sut.create(person('scientist'), spec());
      f.files.push('s3://in/daily/a.csv');
      await sut.handle({ scheduleId: s.id }, CTX);
      assert.deepEqual(seen.slice(-4), ['begin', 'admit in tx: true', 'insert in tx: true', 'commit']);
    });

    it('does not score a file that an overlapping run claimed first', async () => {
      const s = await sut.create(person('scientist'), spec());
      f.files.push('s3://in/daily/a.csv', 's3://in/daily/b.csv');
      const repo = f.repo as unknown as { scheduledInputs: (id: string) => Promise<Set<string>> };
      repo.scheduledInputs = async () => {
        // The other run claims a.csv after this one listed what it had seen.
        f.claims.set(`${s.id}|s3://in/daily/a.csv`, s.id);
        return new Set();
      };
      const r = (await sut.handle({ scheduleId: s.id }, CTX)) as { jobs: string[] };
      assert.deepEqual([r.jobs.length, f.jobs.map((j) => j.inputUri)], [1, ['s3://in/daily/b.csv']]);
    });

    it('does nothing for a paused or deleted schedule', async () => {
      const s = await sut.create(person('scientist'), spec());
      f.files.push('s3://in/daily/a.csv');
      await sut.setPaused(person('scientist'), s.id, true);
      assert.deepEqual(await sut.handle({ scheduleId: s.id }, CTX), { skipped: true });
      await sut.remove(person('scientist'), s.id);
      assert.deepEqual(await sut.handle({ scheduleId: s.id }, CTX), { skipped: true });
      assert.deepEqual([f.jobs, f.queued], [[], []]);
    });
  });

  it('pausing drops the queue’s scheduler and resuming re-arms it, each recorded', async () => {
    const s = await sut.create(person('scientist'), spec());
    const paused = await sut.setPaused(person('scientist'), s.id, true);
    assert.deepEqual([paused.paused, paused.nextRunAt, f.schedulers.size], [true, null, 0]);
    const resumed = await sut.setPaused(person('scientist'), s.id, false);
    assert.deepEqual([resumed.paused, resumed.nextRunAt], [false, new Date(NEXT).toISOString()]);
    assert.deepEqual([...f.schedulers.keys()], [`schedule-${s.id}`]);
    assert.deepEqual(
      events.recorded.slice(1).map((e) => [e.type, e.objectId, e.data]),
      [
        ['schedule.paused', s.id, { model: 'iris' }],
        ['schedule.resumed', s.id, { model: 'iris' }],
      ],
    );
  });

  it('deletes a schedule with its scheduler; 404 for an unknown id, 403 outside a key’s allow-list', async () => {
    const s = await sut.create(person('scientist'), spec());
    await assert.rejects(sut.remove(person('scientist', { modelAllowList: ['wine'] }), s.id), code('FORBIDDEN'));
    await assert.rejects(sut.remove(person('scientist'), 'not-an-id'), code('NOT_FOUND'));
    await assert.rejects(sut.remove(person('scientist'), '00000000-0000-4000-8000-000000000000'), code('NOT_FOUND'));
    assert.equal(f.schedules.size, 1);
    await sut.remove(person('scientist'), s.id);
    assert.deepEqual([f.schedules.size, f.schedulers.size], [0, 0]);
    assert.deepEqual(events.recorded.at(-1)!.type, 'schedule.deleted');
  });

  it('runs a schedule now through a one-off schedule.run job, recorded', async () => {
    const s = await sut.create(person('scientist'), spec());
    await sut.runNow(person('scientist'), s.id);
    assert.deepEqual(
      f.queued.map((q) => [q.name, q.payload]),
      [['schedule.run', { scheduleId: s.id }]],
    );
    assert.match(f.queued[0]!.id!, new RegExp(`^schedule-run-${s.id}-[0-9a-z]+$`));
    assert.equal(events.recorded.at(-1)!.type, 'schedule.run');
  });

  it('lists only the models a key may use', async () => {
    await sut.create(person('scientist'), spec());
    await sut.create(person('scientist'), spec({ model: 'wine' }));
    assert.equal((await sut.list(person('viewer'))).length, 2);
    assert.deepEqual(
      (await sut.list(person('viewer', { modelAllowList: ['wine'] }))).map((s) => s.model),
      ['wine'],
    );
  });

  it('re-arms the unpaused schedules whose scheduler Redis lost, and only those', async () => {
    const a = await sut.create(person('scientist'), spec());
    const b = await sut.create(person('scientist'), spec({ name: 'b' }));
    const c = await sut.create(person('scientist'), spec({ name: 'c' }));
    await sut.setPaused(person('scientist'), c.id, true);
    f.schedulers.delete(`schedule-${a.id}`);
    assert.deepEqual(await sut.rearmMissing(), [a.id]);
    assert.deepEqual([...f.schedulers.keys()].sort(), [`schedule-${a.id}`, `schedule-${b.id}`].sort());
  });
});
