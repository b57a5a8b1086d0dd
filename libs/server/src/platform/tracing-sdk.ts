import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingHttpHeaders } from 'node:http';
import { hostname } from 'node:os';
import {
  defaultTextMapGetter,
  diag,
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type ContextManager,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Logger } from 'pino';
import type { TracingConfig } from '@modelyard/config';
import type { SpanKindName, TraceCarrier, TracingImpl } from './tracing.js';

// Loaded only by startTracing (a dynamic import) when OTEL_* turns tracing on: with tracing off none of this,
// the SDK or the exporters is in the process.

const KINDS: Record<SpanKindName, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

/**
 * OpenTelemetry's context manager on an AsyncLocalStorage that is switched on only while a scope is open (as
 * platform/scoped-context.ts does): the default one (NodeTracerProvider's) keeps it on for good, and on Node 20
 * an enabled AsyncLocalStorage hooks every promise of the process, predictions included (a quarter of the
 * serving bench). Scopes are opened by the worker around a traced job and by `traced` around a boundary whose
 * parent is known; the api's predict path never opens one and passes its parents explicitly.
 */
export class ScopedContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  private open = 0;

  active(): Context {
    return (this.open > 0 && this.storage.getStore()) || ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    this.open++;
    let r: ReturnType<F>;
    try {
      r = this.storage.run(ctx, () => fn.apply(thisArg, args));
    } catch (e) {
      this.close();
      throw e;
    }
    // A promise keeps the scope open until it settles; the caller gets one that settles the same way.
    if (r instanceof Promise) return r.finally(() => this.close()) as ReturnType<F>;
    this.close();
    return r;
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as (...a: unknown[]) => unknown;
    const with_ = this.with.bind(this);
    return function (this: unknown, ...args: unknown[]) {
      return with_(ctx, fn, this, ...args);
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.open = 0;
    this.storage.disable();
    return this;
  }

  private close() {
    if (--this.open === 0) this.storage.disable();
  }
}

function samplerOf(s: TracingConfig['sampler']): Sampler {
  const root =
    s.root === 'always_on'
      ? new AlwaysOnSampler()
      : s.root === 'always_off'
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(s.ratio);
  return s.parentBased ? new ParentBasedSampler({ root }) : root;
}

/** OpenTelemetry's own complaints (an export the collector refused, a full span queue) go to our log, once each. */
function diagnostics(log: Logger) {
  const said = new Set<string>();
  const once = (level: 'warn' | 'error') => (message: string) => {
    if (said.has(message)) return;
    if (said.size < 100) said.add(message);
    log[level]({ component: 'opentelemetry' }, message);
  };
  diag.setLogger(
    {
      error: once('error'),
      warn: once('warn'),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

export function createTracing(cfg: TracingConfig, service: 'api' | 'worker', log: Logger): TracingImpl {
  diagnostics(log);
  const exporterConfig = { url: cfg.url, headers: cfg.headers, timeoutMillis: cfg.timeoutMs };
  const exporter: SpanExporter =
    cfg.protocol === 'http/json' ? new OtlpJsonExporter(exporterConfig) : new OtlpProtoExporter(exporterConfig);
  const resource = resourceFromAttributes({
    ...cfg.resourceAttributes,
    'service.name': cfg.serviceName ?? `modelyard-${service}`,
    'service.namespace': cfg.resourceAttributes['service.namespace'] ?? 'modelyard',
    'service.instance.id': `${hostname()}:${process.pid}`,
    'modelyard.process': service,
  });
  const spanProcessors = [new BatchSpanProcessor(exporter, cfg.batch)];
  const provider = new NodeTracerProvider({ resource, sampler: samplerOf(cfg.sampler), spanProcessors });
  // Root spans of predictions whose sampling was decided before the SDK was asked (rootSpan below): the same
  // resource and processor, a sampler that keeps what it is given.
  const decided = new NodeTracerProvider({ resource, sampler: new AlwaysOnSampler(), spanProcessors });
  const contexts = new ScopedContextManager();
  const propagator = new W3CTraceContextPropagator();
  // Registered globally so that anything using @opentelemetry/api sees the same provider and contexts.
  provider.register({ contextManager: contexts, propagator });
  const t = provider.getTracer('modelyard');

  const start = (name: string, kind: SpanKind, attributes: Attributes, parent: Context) =>
    t.startSpan(name, { kind, attributes }, parent);
  const parentOf = (carrier: TraceCarrier | IncomingHttpHeaders | undefined) =>
    carrier ? propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter) : ROOT_CONTEXT;

  const { root, ratio } = cfg.sampler;
  const pre = decided.getTracer('modelyard');

  return {
    serverSpan: (name, headers, attrs) => start(name, SpanKind.SERVER, attrs, parentOf(headers)),
    predictionSpan(name, headers, attrs) {
      if (headers.traceparent !== undefined || root === 'always_on') return this.serverSpan(name, headers, attrs);
      // A new trace under a ratio: decided here, for a few ns, instead of the SDK making ids (about a microsecond)
      // and a span object for the 99 of 100 predictions it would then drop. The decision is a coin, not the
      // trace id's value: nobody else has seen this trace id to decide on it.
      if (root === 'always_off' || Math.random() >= ratio) return null;
      return pre.startSpan(name, { kind: SpanKind.SERVER, attributes: attrs }, ROOT_CONTEXT);
    },
    consumerSpan: (name, carrier, attrs) => start(name, SpanKind.CONSUMER, attrs, parentOf(carrier)),
    childSpan(name, kind, attrs, parent) {
      const ctx = parent ?? contexts.active();
      // A boundary continues a trace and never begins one: an upload outside any request makes no lone span.
      if (!trace.getSpan(ctx)) return null;
      return start(name, KINDS[kind], attrs, ctx);
    },
    contextOf: (span) => trace.setSpan(ROOT_CONTEXT, span),
    run: (ctx, fn) => contexts.with(ctx, fn),
    activeSpan: () => trace.getSpan(contexts.active()),
    carrierOf(span) {
      const c = span.spanContext();
      const flags = `0${(c.traceFlags & 0xff).toString(16)}`.slice(-2);
      const state = c.traceState?.serialize();
      return { traceparent: `00-${c.traceId}-${c.spanId}-${flags}`, ...(state && { tracestate: state }) };
    },
    endHttp(span, status, side = 'server', end = true) {
      span.setAttribute('http.response.status_code', status);
      if (status >= (side === 'server' ? 500 : 400)) {
        span.setAttribute('error.type', String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      if (end) span.end();
    },
    fail(span, err) {
      if (typeof err === 'string') {
        span.setAttribute('error.type', err);
        span.setStatus({ code: SpanStatusCode.ERROR, message: err });
        return;
      }
      const e = err instanceof Error ? err : null;
      span.setAttribute('error.type', e?.name ?? typeof err);
      span.setStatus({ code: SpanStatusCode.ERROR, message: e?.message.slice(0, 500) });
    },
    async shutdown() {
      await Promise.all([provider.shutdown(), decided.shutdown()]);
      contexts.disable();
    },
  };
}
