import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

const env = e2eEnv();
const token = env.adminApiKey;
const rows = records(samples('iris_logreg'));
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

/**
 * Tracing on an api and a worker of their own (own Redis prefix, so their queue is theirs; the shared platform
 * runs without OTEL_* and is not touched), exporting OTLP/HTTP JSON to a receiver in this process.
 */
describe('OpenTelemetry tracing (an api and a worker started with OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  const otlp = new OtlpReceiver();
  const procs: AppProcess[] = [];
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'modelyard-otel-cache-'));
  let callbacks: Server;
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  let api = '';
  let model = '';
  let version = 0;

  before(async () => {
    ({ model, version } = await registerFixture(env.apiUrl, token, 'iris_logreg'));
    const otlpUrl = await otlp.start();
    callbacks = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => callbacks.listen(0, '127.0.0.1', r));
    const own = {
      REDIS_PREFIX: uniqueId('otel'),
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      // The callback receiver listens on loopback, which outbound requests refuse by default.
      OUTBOUND_ALLOW_HOSTS: '127.0.0.1',
    };
    const port = await freePort();
    const a = startApp('api-otel', 'api', { ...own, API_PORT: String(port) });
    procs.push(
      a,
      startApp('worker-otel', 'worker', {
        ...own,
        // An empty model cache: the worker must fetch the version from storage, inside the job's trace.
        MODEL_CACHE_DIR: cacheDir,
        RECONCILE_SECONDS: '3600',
      }),
    );
    api = `http://127.0.0.1:${port}`;
    // A loaded machine may take a while to boot an api; the tests themselves take seconds.
    await waitReady(`${api}/readyz`, a, 120_000);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    callbacks?.close();
    await otlp.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it("follows an async prediction in one trace from its HTTP request through the worker's job to its callback, whose request carries the traceparent", async () => {
    const requestId = uniqueId('otel-req');
    const r = await http(api, 'POST', `/v1/models/${model}/predict:async`, {
      token,
      body: { payload: rows.slice(0, 2) },
      headers: {
        'x-request-id': requestId,
        'x-callback-url': `http://127.0.0.1:${(callbacks.address() as AddressInfo).port}/hook`,
        'x-callback-secret': 'callback-secret-0123456789',
      },
    });
    assert.equal(r.status, 202, r.text);
    for (let i = 0; i < 300 && !received.length; i++) await new Promise((res) => setTimeout(res, 100));
    assert.equal(received.length, 1, `no callback came:\n${procs[1]!.tail()}`);
    assert.equal(JSON.parse(received[0]!.body).jobId, r.json.jobId);
    const traceparent = String(received[0]!.headers.traceparent);
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(traceparent);
    assert.ok(m, `the callback's traceparent header is W3C trace context: ${traceparent}`);
    const [, traceId, callerSpan] = m;

    // The callback job's span ends last (after its request's): once it is in, the whole trace is.
    await otlp.waitFor(
      (all) => all.some((s) => s.traceId === traceId && s.name === 'process predict.callback'),
      'the callback job span of that trace',
    );
    const spans = otlp.trace(traceId!);
    const one = (what: string, test: (s: ReceivedSpan) => boolean) => {
      const found = spans.filter(test);
      assert.equal(found.length, 1, `${what}: one span in the trace, got ${found.length} of\n${names(spans)}`);
      return found[0]!;
    };
    const request = one('the api request', (s) => s.kind === SERVER);
    assert.equal(request.service, 'modelyard-api');
    assert.match(request.name, /^POST \/v1\/models\/:name\/predict:+async$/);
    assert.equal(request.parentSpanId, '', 'the request starts the trace');
    assert.equal(request.attributes['modelyard.request_id'], requestId);
    assert.equal(request.attributes['modelyard.model'], model);
    assert.equal(request.attributes['modelyard.model_version'], version);
    assert.equal(request.attributes['http.response.status_code'], 202);

    const send = one('queueing the job', (s) => s.kind === PRODUCER && s.name === 'send predict.async');
    assert.equal(send.service, 'modelyard-api');
    assert.equal(send.parentSpanId, request.spanId);
    const job = one("the worker's job", (s) => s.kind === CONSUMER && s.name === 'process predict.async');
    assert.equal(job.service, 'modelyard-worker');
    assert.equal(job.parentSpanId, send.spanId);
    assert.equal(job.attributes['modelyard.model'], model);
    assert.equal(job.attributes['modelyard.model_version'], version);
    assert.equal(job.attributes['modelyard.job_id'], r.json.jobId);

    // The worker's empty cache: the version's bytes came from storage, within the job.
    const fetched = spans.find((s) => s.name === 'storage get');
    assert.ok(fetched, `a storage span in the trace:\n${names(spans)}`);
    assert.ok(descends(fetched, job, spans), 'the storage read belongs to the job');

    const sendCallback = one('queueing the callback', (s) => s.kind === PRODUCER && s.name === 'send predict.callback');
    assert.equal(sendCallback.parentSpanId, job.spanId);
    const callbackJob = one('the callback job', (s) => s.kind === CONSUMER && s.name === 'process predict.callback');
    assert.equal(callbackJob.parentSpanId, sendCallback.spanId);
    const post = one('the callback request', (s) => s.kind === CLIENT && s.name === 'POST');
    assert.equal(post.spanId, callerSpan, "the receiver's traceparent names the callback request's span");
    assert.equal(post.parentSpanId, callbackJob.spanId);
    assert.equal(post.attributes['http.response.status_code'], 204);
    assert.equal(post.attributes['server.address'], '127.0.0.1');
    assert.equal(otlp.refused, 0);
  });

  it("continues a caller's sampled trace on a prediction, with the request id, model and version, and records nothing of an unsampled one", async () => {
    const unsampled = randomBytes(16).toString('hex');
    const sampled = randomBytes(16).toString('hex');
    const parent = randomBytes(8).toString('hex');
    const predict = (traceparent: string, requestId: string) =>
      http(api, 'POST', `/v1/models/${model}/predict`, {
        token,
        body: { payload: rows.slice(0, 1) },
        headers: { traceparent, 'x-request-id': requestId },
      });
    assert.equal((await predict(`00-${unsampled}-${parent}-00`, uniqueId('otel-off'))).status, 200);
    const requestId = uniqueId('otel-sync');
    const r = await predict(`00-${sampled}-${parent}-01`, requestId);
    assert.equal(r.status, 200, r.text);

    await otlp.waitFor((all) => all.some((s) => s.traceId === sampled), 'the prediction span');
    const [span, ...more] = otlp.trace(sampled);
    assert.equal(more.length, 0);
    assert.equal(span!.kind, SERVER);
    assert.equal(span!.service, 'modelyard-api');
    assert.equal(span!.name, 'POST /v1/models/:name/predict');
    assert.equal(span!.parentSpanId, parent);
    assert.equal(span!.attributes['modelyard.request_id'], requestId);
    assert.equal(span!.attributes['modelyard.model'], model);
    assert.equal(span!.attributes['modelyard.model_version'], Number(r.headers.get('x-model-version')));
    assert.equal(span!.attributes['modelyard.deployment_role'], r.headers.get('x-deployment-role'));
    assert.equal(span!.attributes['http.response.status_code'], 200);
    // Spans are exported in the order they end: the unsampled request's, had it been recorded, came first.
    assert.deepEqual(otlp.trace(unsampled), []);
  });
});

function names(spans: ReceivedSpan[]) {
  return spans.map((s) => `  ${s.service} ${s.name} ${s.spanId} <- ${s.parentSpanId}`).join('\n');
}

function descends(span: ReceivedSpan, ancestor: ReceivedSpan, spans: ReceivedSpan[]): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (let s: ReceivedSpan | undefined = span; s; s = byId.get(s.parentSpanId)) if (s === ancestor) return true;
  return false;
}
