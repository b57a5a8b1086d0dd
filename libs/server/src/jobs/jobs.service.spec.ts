import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { Role, Scope } from '@modelyard/contracts';
import { JobsService } from './jobs.service.js';
import type { JobsRepository } from './jobs.repository.js';
import { recordedEvents } from '../events/events.test-support.js';
import { testPrincipal } from '../auth/principal.test-support.js';
import { AppError } from '../platform/errors.js';
import type { JobProducer } from '../queue/job-producer.js';
import type { RegistryRepository } from '../registry/registry.repository.js';
import type { ServingService } from '../serving/serving.service.js';
import type { StorageService } from '../storage/storage.service.js';
import type { ProjectQuotas } from '../projects/quotas.service.js';

const ALICE = '00000000-0000-4000-8000-00000000000a';
const BOB = '00000000-0000-4000-8000-00000000000b';

const caller = (id: string, role: Role, scopes: Scope[] | null) =>
  testPrincipal({
    id,
    name: id,
    email: null,
    role,
    via: scopes ? 'apiKey' : 'session',
    apiKeyId: scopes ? 'k1' : null,
    scopes,
  });
const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

type Status = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
/** Jobs kept in memory; `transition` moves one only from the listed states, like the repository's conditional update. */
function fakeJobs() {
  const jobs = new Map<string, { id: string; type: string; status: Status; createdById: string; modelName: string }>();
  const row = (j: { id: string; type: string; status: Status; createdById: string; modelName: string }) => ({
    ...j,
    version: 1,
    progress: 0,
    rowsIn: 0,
    rowsOut: 0,
    rowsFailed: 0,
    inputUri: 'file:///in.csv',
    outputUri: null,
    errorsUri: null,
    error: null,
    format: 'csv',
    attempts: 0,
    scheduleId: null,
    createdByName: j.createdById,
    submittedAt: new Date(0),
    startedAt: null,
    finishedAt: null,
    expiresAt: null,
    callbackUrl: null,
    callbackStatus: null,
    workers: [],
    result: null,
  });
  const repo = {
    find: async (id: string) => (jobs.has(id) ? row(jobs.get(id)!) : null),
    status: async (id: string) => jobs.get(id)?.status ?? null,
    transition: async (id: string, from: Status[], data: { status?: Status }) => {
      const j = jobs.get(id);
      if (!j || !from.includes(j.status)) return false;
      if (data.status) j.status = data.status;
      return true;
    },
  } as unknown as JobsRepository;
  const add = (id: string, status: Status, createdById = ALICE, type = 'batch_score') =>
    jobs.set(id, { id, type, status, createdById, modelName: 'iris' });
  return { repo, jobs, add };
}

describe(JobsService.name, () => {
  let f: ReturnType<typeof fakeJobs>;
  let events: ReturnType<typeof recordedEvents>;
  let sut: JobsService;
  const J1 = '11111111-1111-4111-8111-111111111111';
  const J2 = '22222222-2222-4222-8222-222222222222';
  beforeEach(() => {
    f = fakeJobs();
    events = recordedEvents();
    const registry = { findModel: async () => null } as unknown as RegistryRepository;
    const cfg = { jobs: { resultTtlHours: 24, maxInputBytes: 1024 } } as unknown as CommonConfig;
    sut = new JobsService(
      f.repo,
      registry,
      {} as ServingService,
      {} as StorageService,
      {} as JobProducer,
      events,
      cfg,
      'k'.repeat(64),
      {
        roomForVersion: async () => null,
        admitVersion: async () => {},
        admitJob: async () => {},
        checkJobRoom: async () => {},
        tryAdmitJob: async () => true,
      } as unknown as ProjectQuotas,
      pino({ level: 'silent' }),
    );
  });

  describe('visibility', () => {
    it("hides other callers' jobs from a predict-only key (404), and shows them to a key with the jobs scope", async () => {
      f.add(J1, 'running', ALICE);
      await assert.rejects(sut.get(caller(BOB, 'scientist', ['predict']), J1), code('NOT_FOUND'));
      assert.equal((await sut.get(caller(ALICE, 'scientist', ['predict']), J1)).id, J1);
      assert.equal((await sut.get(caller(BOB, 'scientist', ['jobs']), J1)).id, J1);
    });

    it('answers 404, not 400, for an id that is not a job id', async () => {
      await assert.rejects(sut.get(caller(ALICE, 'admin', null), 'not-a-uuid'), code('NOT_FOUND'));
    });
  });

  describe('cancel', () => {
    it('cancels a running job and records job.cancelled', async () => {
      f.add(J1, 'running');
      const j = await sut.cancel(caller(ALICE, 'scientist', null), J1);
      assert.equal(j.status, 'cancelled');
      assert.deepEqual(
        events.recorded.map((e) => [e.type, e.objectId]),
        [['job.cancelled', J1]],
      );
    });

    it('refuses to cancel a finished job (409) and records nothing', async () => {
      f.add(J1, 'succeeded');
      await assert.rejects(sut.cancel(caller(ALICE, 'scientist', null), J1), code('CONFLICT'));
      assert.deepEqual(events.recorded, []);
    });
  });

  describe('retry', () => {
    it('queues a failed job again through job.retried, with a run id that makes a new queue entry', async () => {
      f.add(J1, 'failed');
      f.add(J2, 'cancelled', ALICE, 'predict_async');
      await sut.retry(caller(ALICE, 'scientist', null), J1);
      await sut.retry(caller(ALICE, 'scientist', null), J2);
      assert.deepEqual(
        events.recorded.map((e) => [e.type, e.objectId, (e.data as { type: string }).type]),
        [
          ['job.retried', J1, 'batch_score'],
          ['job.retried', J2, 'predict_async'],
        ],
      );
      assert.ok(events.recorded.every((e) => typeof (e.data as { run?: unknown }).run === 'string'));
      assert.equal(f.jobs.get(J1)!.status, 'queued');
    });

    it('refuses to retry a job that is queued or running (409)', async () => {
      f.add(J1, 'queued');
      await assert.rejects(sut.retry(caller(ALICE, 'scientist', null), J1), code('CONFLICT'));
    });

    it('needs the jobs scope on a key to change a job (403)', async () => {
      f.add(J1, 'failed');
      await assert.rejects(sut.retry(caller(ALICE, 'scientist', ['predict']), J1), code('FORBIDDEN'));
    });
  });

  describe('submitBatch', () => {
    it('refuses a spec with both a file and inputUri, or neither (400), before touching storage', async () => {
      const admin = caller(ALICE, 'admin', null);
      const upload = { stream: (await import('node:stream')).Readable.from(['id\n1\n']), filename: 'in.csv' };
      await assert.rejects(
        sut.submitBatch(admin, { model: 'iris', inputUri: 'file:///x.csv' }, upload),
        code('VALIDATION_FAILED'),
      );
      await assert.rejects(sut.submitBatch(admin, { model: 'iris' }, null), code('VALIDATION_FAILED'));
      await assert.rejects(
        sut.submitBatch(admin, { model: 'iris', version: 1, alias: 'a' }, null),
        code('VALIDATION_FAILED'),
      );
    });

    it('refuses a model name holding a "/" (400): in the default project it would spell another project\'s model', async () => {
      const looked: string[] = [];
      const registry = {
        findModel: async (key: string) => (looked.push(key), { id: 'm-a', name: key }),
      } as unknown as RegistryRepository;
      const cfg = { jobs: { resultTtlHours: 24, maxInputBytes: 1024 } } as unknown as CommonConfig;
      const jobs = new JobsService(
        f.repo,
        registry,
        {} as ServingService,
        {} as StorageService,
        {} as JobProducer,
        events,
        cfg,
        'k'.repeat(64),
        {} as ProjectQuotas,
        pino({ level: 'silent' }),
      );
      const scientist = caller(ALICE, 'scientist', null);
      await assert.rejects(
        jobs.submitBatch(scientist, { model: 'team-a/iris', inputUri: 'file:///in.csv' }, null),
        code('VALIDATION_FAILED'),
      );
      assert.deepEqual(looked, []);
    });
  });
});
