import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { pino } from 'pino';
import type { TracingConfig } from '@modelyard/config';
import { createTracing, ScopedContextManager } from './tracing-sdk.js';
import { traced, tracing } from './tracing.js';

const tick = () => new Promise((r) => setImmediate(r));
const KEY = createContextKey('test');

describe(ScopedContextManager.name, () => {
  it('gives each scope its own context across awaits, even when scopes overlap', async () => {
    const m = new ScopedContextManager();
    const seen: string[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map((v) =>
        m.with(ROOT_CONTEXT.setValue(KEY, v), async () => {
          await tick();
          seen.push(`${v}=${String(m.active().getValue(KEY))}`);
          await tick();
          seen.push(`${v}=${String(m.active().getValue(KEY))}`);
        }),
      ),
    );
    assert.deepEqual(seen.sort(), ['a=a', 'a=a', 'b=b', 'b=b', 'c=c', 'c=c']);
  });

  it('has no context outside a scope, after one ended or failed, nor in work a scope left behind', async () => {
    const m = new ScopedContextManager();
    assert.equal(m.active(), ROOT_CONTEXT);
    let leftBehind: Promise<unknown> = Promise.resolve();
    await m.with(ROOT_CONTEXT.setValue(KEY, 1), async () => {
      leftBehind = new Promise((r) => setTimeout(r, 20)).then(() => m.active());
    });
    assert.equal(m.active(), ROOT_CONTEXT);
    assert.equal(await leftBehind, ROOT_CONTEXT, 'the storage is switched off once no scope is open');
    await assert.rejects(
      m.with(ROOT_CONTEXT.setValue(KEY, 2), async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(m.active(), ROOT_CONTEXT);
    assert.equal(
      m.with(ROOT_CONTEXT.setValue(KEY, 3), () => m.active().getValue(KEY)),
      3,
    );
    assert.equal(m.active(), ROOT_CONTEXT);
  });
});

describe('tracing while it is off', () => {
  it('runs the work alone, with no span', async () => {
    assert.equal(tracing.on, false);
    assert.equal(await traced('storage get', 'client', {}, async (span) => span), null);
  });
});

/** A local OTLP/HTTP collector: every export's content type and body. */
class Collector {
  readonly exports: { type: string; tenant: string; body: Buffer }[] = [];
  private server: Server | null = null;
  url = '';

  async start() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.exports.push({
          type: String(req.headers['content-type']),
          tenant: String(req.headers['x-tenant']),
          body: Buffer.concat(chunks),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  stop() {
    this.server?.closeAllConnections();
    this.server?.close();
  }
}

const config = (url: string, protocol: TracingConfig['protocol']): TracingConfig => ({
  url,
  protocol,
  headers: { 'x-tenant': 't1' },
  timeoutMs: 5000,
  sampler: { root: 'always_on', parentBased: true, ratio: 1 },
  serviceName: null,
  resourceAttributes: {},
  batch: { scheduledDelayMillis: 10_000, maxQueueSize: 100, maxExportBatchSize: 100 },
});

describe(createTracing.name, () => {
  const collector = new Collector();
  before(() => collector.start());
  after(() => collector.stop());

  it("continues a caller's trace, hands W3C context on, and begins none at a boundary without one", async () => {
    const t = createTracing(config(collector.url, 'http/json'), 'worker', pino({ level: 'silent' }));
    const traceId = 'a'.repeat(32);
    const server = t.serverSpan('POST /x', { traceparent: `00-${traceId}-${'b'.repeat(16)}-01` }, { a: 1 });
    assert.equal(server.spanContext().traceId, traceId);
    assert.equal(t.childSpan('storage get', 'client', {}), null, 'no active trace, no span');
    const child = t.run(t.contextOf(server), () => t.childSpan('storage get', 'client', {}));
    assert.ok(child);
    assert.deepEqual(t.carrierOf(child), { traceparent: `00-${traceId}-${child.spanContext().spanId}-01` });
    const job = t.consumerSpan('process x', t.carrierOf(child), {});
    assert.equal(job.spanContext().traceId, traceId);
    for (const s of [job, child, server]) s.end();
    // An unsampled caller: the context goes on, marked unsampled, and nothing is recorded.
    const quiet = t.serverSpan('POST /y', { traceparent: `00-${'c'.repeat(32)}-${'d'.repeat(16)}-00` }, {});
    assert.equal(quiet.isRecording(), false);
    assert.match(t.carrierOf(quiet).traceparent, /-00$/);
    quiet.end();
    await t.shutdown();

    assert.equal(collector.exports.length, 1, 'one batch, flushed at shutdown');
    const { type, body } = collector.exports[0]!;
    assert.match(type, /application\/json/);
    const sent = JSON.parse(body.toString()) as {
      resourceSpans: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] };
        scopeSpans: { spans: { name: string; traceId: string }[] }[];
      }[];
    };
    const spans = sent.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    assert.deepEqual(spans.map((s) => s.name).sort(), ['POST /x', 'process x', 'storage get']);
    assert.ok(spans.every((s) => s.traceId === traceId));
    const resource = sent.resourceSpans[0]!.resource.attributes;
    assert.equal(resource.find((a) => a.key === 'service.name')?.value.stringValue, 'modelyard-worker');
  });

  it("decides a new prediction trace's sampling before making any span, and follows a caller's sampled flag", async () => {
    const never = createTracing(
      { ...config(collector.url, 'http/json'), sampler: { root: 'traceidratio', parentBased: true, ratio: 0 } },
      'api',
      pino({ level: 'silent' }),
    );
    assert.equal(never.predictionSpan('POST /p', {}, {}), null);
    const caller = never.predictionSpan('POST /p', { traceparent: `00-${'e'.repeat(32)}-${'f'.repeat(16)}-01` }, {});
    assert.equal(caller?.isRecording(), true);
    assert.equal(caller?.spanContext().traceId, 'e'.repeat(32));
    caller?.end();
    await never.shutdown();
    const always = createTracing(
      { ...config(collector.url, 'http/json'), sampler: { root: 'traceidratio', parentBased: true, ratio: 1 } },
      'api',
      pino({ level: 'silent' }),
    );
    const root = always.predictionSpan('POST /p', {}, {});
    assert.equal(root?.isRecording(), true);
    root?.end();
    await always.shutdown();
  });

  it('exports protobuf for http/protobuf (the default), with the configured headers', async () => {
    collector.exports.length = 0;
    const t = createTracing(config(collector.url, 'http/protobuf'), 'api', pino({ level: 'silent' }));
    t.serverSpan('POST /z', {}, {}).end();
    await t.shutdown();
    assert.equal(collector.exports.length, 1);
    assert.equal(collector.exports[0]!.type, 'application/x-protobuf');
    assert.equal(collector.exports[0]!.tenant, 't1');
    assert.ok(collector.exports[0]!.body.includes(Buffer.from('POST /z')));
  });
});
