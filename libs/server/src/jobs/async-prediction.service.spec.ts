import { before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { JobName } from '@modelyard/contracts';
import { createSession, type ServedVersion } from '../engine/index.js';
import { sharedModel } from '../onnx/onnx.test-support.js';
import type { OutboundHttp, OutboundRequest, OutboundResult } from '../outbound/outbound-http.js';
import { AppError } from '../platform/errors.js';
import type { JobContext } from '../queue/job-handler.js';
import type { JobProducer } from '../queue/job-producer.js';
import { irisSignature, served } from '../serving/formats/formats.test-support.js';
import type { ServingService } from '../serving/serving.service.js';
import { SecretBox } from '../webhooks/secret-box.js';
import { AsyncPredictionService, PredictionCallbackService } from './async-prediction.service.js';
import type { JobsRepository } from './jobs.repository.js';

const JOB = '11111111-1111-4111-8111-111111111111';
const KEY = 'k'.repeat(64);
const iris = sharedModel('iris_logreg');
const ROWS = iris.samples.records!.slice(0, 2);
const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const ctx = (attempt = 1, maxAttempts = 3): JobContext => ({
  jobId: 'q',
  attempt,
  maxAttempts,
  updateProgress: async () => {},
});

type Status = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
type Job = Record<string, unknown> & { status: Status };

/** One async prediction job in memory; `transition` only from the listed states, like the repository. */
function fakeJob(over: Partial<Job> = {}) {
  const job: Job = {
    id: JOB,
    status: 'queued',
    modelName: 'iris',
    version: 2,
    format: 'modelyard',
    request: { body: { payload: ROWS }, csv: false },
    callbackUrl: null,
    callbackSecret: null,
    callbackStatus: null,
    attempts: 0,
    result: null,
    error: null,
    ...over,
  };
  const repo = {
    find: async (id: string) => (id === JOB ? { ...job } : null),
    transition: async (id: string, from: Status[], data: Record<string, unknown>) => {
      if (id !== JOB || !from.includes(job.status)) return false;
      for (const [k, v] of Object.entries(data))
        job[k] = v && typeof v === 'object' && 'increment' in v ? (job[k] as number) + 1 : v;
      return true;
    },
    update: async (_id: string, data: Record<string, unknown>) => void Object.assign(job, data),
  } as unknown as JobsRepository;
  return { job, repo };
}

describe(AsyncPredictionService.name, () => {
  let sv: ServedVersion;
  before(async () => {
    sv = served(irisSignature(), { model: 'iris', version: 2, session: await createSession(iris.bytes) });
  });
  let queued: { name: JobName; payload: unknown; id?: string }[];
  let f: ReturnType<typeof fakeJob>;
  let resolveError: Error | null;
  const sut = () => {
    const serving = {
      resolve: async (_m: string, sel: { version?: number }) => {
        if (resolveError) throw resolveError;
        assert.equal(sel.version, 2);
        return sv;
      },
    } as unknown as ServingService;
    const producer = {
      enqueue: async (name: JobName, payload: unknown, opts: { jobId?: string } = {}) =>
        void queued.push({ name, payload, id: opts.jobId }),
    } as unknown as JobProducer;
    const cfg = { jobs: { resultTtlHours: 24 } } as unknown as CommonConfig;
    return new AsyncPredictionService(f.repo, serving, producer, cfg, pino({ level: 'silent' }));
  };
  beforeEach(() => {
    queued = [];
    resolveError = null;
  });

  it('answers the stored request with the job’s version in its format; keeps the result for the TTL', async () => {
    f = fakeJob();
    assert.deepEqual(await sut().handle({ jobId: JOB }, ctx()), { version: 2 });
    const { job } = f;
    assert.deepEqual([job.status, job.progress, job.error, job.attempts], ['succeeded', 100, null, 1]);
    const result = job.result as { predictions: number[]; model: string; version: number };
    assert.deepEqual(
      [result.predictions, result.model, result.version],
      [iris.samples.expected.label!.slice(0, 2), 'iris', 2],
    );
    const ttl = (job.expiresAt as Date).getTime() - Date.now();
    assert.ok(ttl > 23.9 * 3600_000 && ttl <= 24 * 3600_000, String(ttl));
    assert.deepEqual(queued, []);
  });

  it('queues the callback once the result is stored, when the caller gave a URL', async () => {
    f = fakeJob({ callbackUrl: 'https://hooks.example/cb' });
    await sut().handle({ jobId: JOB }, ctx());
    assert.deepEqual(
      queued.map((q) => [q.name, q.payload]),
      [['predict.callback', { jobId: JOB }]],
    );
  });

  it('fails at once on a request the model cannot take (400), and still calls back', async () => {
    f = fakeJob({ request: { body: { payload: [{ sepal_length: 1 }] }, csv: false }, callbackUrl: 'https://h/cb' });
    await assert.rejects(sut().handle({ jobId: JOB }, ctx(1, 3)), code('BAD_REQUEST'));
    assert.equal(f.job.status, 'failed');
    assert.match(String(f.job.error), /sepal_width/);
    assert.deepEqual(
      queued.map((q) => q.name),
      ['predict.callback'],
    );
  });

  it('puts the job back in the queue after a passing failure, and fails it on the last attempt', async () => {
    f = fakeJob();
    resolveError = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' });
    await assert.rejects(sut().handle({ jobId: JOB }, ctx(1, 2)), /ECONNREFUSED/);
    assert.deepEqual([f.job.status, f.job.error], ['queued', null]);
    await assert.rejects(sut().handle({ jobId: JOB }, ctx(2, 2)), /ECONNREFUSED/);
    assert.equal(f.job.status, 'failed');
    assert.doesNotMatch(String(f.job.error), /10\.1\.2\.3/);
  });

  it('skips a job that was cancelled, already finished or deleted', async () => {
    for (const status of ['cancelled', 'succeeded', 'failed'] as const) {
      f = fakeJob({ status });
      assert.deepEqual(await sut().handle({ jobId: JOB }, ctx()), { skipped: status });
      assert.equal(f.job.status, status);
    }
    assert.deepEqual(await sut().handle({ jobId: '22222222-2222-4222-8222-222222222222' }, ctx()), {
      skipped: 'missing',
    });
  });
});

describe(PredictionCallbackService.name, () => {
  const box = new SecretBox(KEY);
  let f: ReturnType<typeof fakeJob>;
  let posted: { url: string; req: OutboundRequest }[];
  let answer: OutboundResult;
  const sut = () => {
    const outbound = {
      post: async (url: string, req: OutboundRequest) => {
        posted.push({ url, req });
        return answer;
      },
    } as unknown as OutboundHttp;
    return new PredictionCallbackService(f.repo, KEY, outbound);
  };
  const finished = (over: Partial<Job> = {}) =>
    fakeJob({
      status: 'succeeded',
      result: { predictions: [0] },
      callbackUrl: 'https://hooks.example/cb',
      callbackSecret: box.seal('shh'),
      ...over,
    });
  beforeEach(() => {
    posted = [];
    answer = { outcome: 'answered', status: 204 };
  });

  it('posts the result signed with the caller’s secret, and marks the callback delivered', async () => {
    f = finished();
    assert.deepEqual(await sut().handle({ jobId: JOB }, ctx()), { delivered: true });
    const [{ url, req }] = posted as [{ url: string; req: OutboundRequest }];
    assert.equal(url, 'https://hooks.example/cb');
    const body = String(req.body);
    assert.deepEqual(JSON.parse(body), {
      jobId: JOB,
      status: 'succeeded',
      model: 'iris',
      version: 2,
      result: { predictions: [0] },
    });
    const h = req.headers as Record<string, string>;
    const mac = createHmac('sha256', 'shh').update(`${h['x-modelyard-timestamp']}.${body}`).digest('hex');
    assert.equal(h['x-modelyard-signature'], `sha256=${mac}`);
    // Standard Webhooks too: a secret without `whsec_` keys the HMAC with its own bytes (a verifier's raw key).
    const v1 = createHmac('sha256', 'shh').update(`${JOB}.${h['webhook-timestamp']}.${body}`).digest('base64');
    assert.deepEqual([h['webhook-id'], h['webhook-signature']], [JOB, `v1,${v1}`]);
    assert.deepEqual([h['x-modelyard-event'], h['x-modelyard-job']], ['prediction.completed', JOB]);
    assert.equal(f.job.callbackStatus, 'delivered');
    // Delivered once: a retried callback job does not post again.
    assert.deepEqual(await sut().handle({ jobId: JOB }, ctx()), { skipped: true });
    assert.equal(posted.length, 1);
  });

  it('sends the error of a failed job instead of a result', async () => {
    f = finished({ status: 'failed', result: null, error: 'bad input' });
    await sut().handle({ jobId: JOB }, ctx());
    const sent = JSON.parse(String(posted[0]!.req.body)) as Record<string, unknown>;
    assert.deepEqual([sent.status, sent.error, 'result' in sent], ['failed', 'bad input', false]);
  });

  it('throws on a non-2xx answer so the queue retries, saying which attempt gave up', async () => {
    f = finished();
    answer = { outcome: 'answered', status: 502 };
    await assert.rejects(sut().handle({ jobId: JOB }, ctx(1, 8)), /receiver answered HTTP 502/);
    assert.equal(f.job.callbackStatus, 'retrying: receiver answered HTTP 502');
    answer = { outcome: 'failed', reason: 'timed out' };
    await assert.rejects(sut().handle({ jobId: JOB }, ctx(8, 8)), /timed out/);
    assert.equal(f.job.callbackStatus, 'failed: timed out');
  });

  it('gives up for good on a target the address policy refuses, and never posts to it again', async () => {
    f = finished();
    answer = { outcome: 'refused', reason: 'the address is not allowed' };
    assert.deepEqual(await sut().handle({ jobId: JOB }, ctx()), { delivered: false, refused: true });
    assert.equal(f.job.callbackStatus, 'refused: the address is not allowed');
    assert.deepEqual(await sut().handle({ jobId: JOB }, ctx()), { skipped: true });
    assert.equal(posted.length, 1);
  });
});
