import type { IncomingHttpHeaders } from 'node:http';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { TracingConfig } from '@modelyard/config';

/**
 * OpenTelemetry tracing, opt-in by the standard OTEL_* variables (libs/config `tracing`). Off, nothing of it is
 * loaded: this module has only type imports, the SDK (`tracing-sdk.ts`) is imported at boot by `startTracing` when
 * the config asks for it, and every traced boundary starts with one check of `tracing.on`, so the predict path
 * pays a boolean test and creates no span object. Spans are made by hand at a few boundaries (the api's requests,
 * enqueueing and running a job, storage, outbound HTTP); nothing is monkey-patched.
 */
export const tracing = { on: false };

/** W3C trace context as a job carries it in its data, so the worker's span continues the request's trace. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** The key of the carrier in a BullMQ job's data (outside the payload, which the worker parses without it). */
export const TRACE_KEY = '_trace';

/** An explicit parent (the api has no ambient context, see tracing-sdk.ts). */
export type TraceParent = Context;
export type TraceSpan = Span;

export type SpanKindName = 'server' | 'client' | 'producer' | 'consumer' | 'internal';

/** What tracing-sdk.ts provides once loaded; only called while `tracing.on`. */
export interface TracingImpl {
  /** A server span for an incoming request: a child of its `traceparent` header, else a new trace. */
  serverSpan(name: string, headers: IncomingHttpHeaders, attrs: Attributes): Span;
  /**
   * The same for a prediction, which hands its context to nothing: null, and no span object made, when a new
   * trace would not be sampled.
   */
  predictionSpan(name: string, headers: IncomingHttpHeaders, attrs: Attributes): Span | null;
  /** A span for work a job carries the context of (or a new trace without one). */
  consumerSpan(name: string, carrier: TraceCarrier | undefined, attrs: Attributes): Span;
  /** A child of `parent`, else of the active context; null when there is no trace to continue. */
  childSpan(name: string, kind: SpanKindName, attrs: Attributes, parent?: Context): Span | null;
  /** The context in which `span` is the current span (to pass as a parent, or to run in). */
  contextOf(span: Span): Context;
  /** Runs `fn` with `ctx` active (AsyncLocalStorage switched on only while such a scope is open). */
  run<R>(ctx: Context, fn: () => R): R;
  activeSpan(): Span | undefined;
  carrierOf(span: Span): TraceCarrier;
  /**
   * Records an HTTP answer's status and, unless `end` is false, ends the span. A server span fails on 5xx (a 4xx
   * is the caller's doing); a client span on any 4xx or 5xx.
   */
  endHttp(span: Span, status: number, side?: 'server' | 'client', end?: boolean): void;
  /** Marks a span failed: an error's class and message (never its stack or cause), or a reason of ours. */
  fail(span: Span, err: unknown): void;
  shutdown(): Promise<void>;
}

let impl: TracingImpl | null = null;

/** The SDK's functions; only valid while `tracing.on` (every caller checks it first). */
export function tracer(): TracingImpl {
  return impl!;
}

/** Loads the SDK and switches tracing on, when the config asks for it (else nothing is imported). */
export async function startTracing(cfg: TracingConfig | null, service: 'api' | 'worker', log: Logger): Promise<void> {
  if (!cfg || impl) return;
  const { createTracing } = await import('./tracing-sdk.js');
  impl = createTracing(cfg, service, log);
  tracing.on = true;
  log.info(
    { exporter: cfg.protocol, sampler: `${cfg.sampler.parentBased ? 'parentbased_' : ''}${cfg.sampler.root}` },
    'tracing on',
  );
}

/** Exports what is buffered and stops (at shutdown). */
export async function stopTracing(): Promise<void> {
  const i = impl;
  if (!i) return;
  tracing.on = false;
  impl = null;
  await i.shutdown();
}

/**
 * Runs `fn` in a child span of the trace at hand: `parent` when given, else the active context (the worker's job).
 * Without tracing, or with no trace to continue (a boundary never starts one), `fn` runs alone.
 */
export function traced<R>(
  name: string,
  kind: SpanKindName,
  attrs: Attributes,
  fn: (span: Span | null) => Promise<R>,
  parent?: TraceParent,
): Promise<R> {
  if (!tracing.on) return fn(null);
  const t = impl!;
  const span = t.childSpan(name, kind, attrs, parent);
  if (!span) return fn(null);
  return t
    .run(t.contextOf(span), () => fn(span))
    .then(
      (r) => {
        span.end();
        return r;
      },
      (e: unknown) => {
        t.fail(span, e);
        span.end();
        throw e;
      },
    );
}

/** Adds attributes to the active span (the worker's job), when there is one. */
export function annotateSpan(attrs: Attributes): void {
  if (tracing.on) impl!.activeSpan()?.setAttributes(attrs);
}
