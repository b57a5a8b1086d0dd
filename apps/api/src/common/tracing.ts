import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { tracer, type TraceParent, type TraceSpan as Span } from '@modelyard/server';

// The api's spans. It keeps no ambient trace context (an AsyncLocalStorage would tax every prediction on Node 20):
// a request's span lives beside its raw request, and code that hands the trace on (a job it queues) asks for it.
// Everything here runs only while tracing is on: callers check `tracing.on` first.

const spans = new WeakMap<IncomingMessage, Span>();

/**
 * A predict router request's span, ended when its response closes. The attributes come from what the router
 * already has: the request id, the model from the path, the version and deployment role from the answer's
 * headers, so the router's own path is unchanged (and untouched when the span is not sampled).
 */
export function tracePrediction(
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  requestId: string,
  format: string,
  model: () => string,
) {
  const span = tracer().predictionSpan(`POST ${route}`, req.headers, {
    'http.request.method': 'POST',
    'http.route': route,
    'modelyard.request_id': requestId,
    'modelyard.format': format,
  });
  // The sampler said no: the span (if any) records nothing, so nothing more is spent on it.
  if (!span?.isRecording()) return;
  // The router hands its headers to writeHead in one object, which getHeader cannot read back: this response's
  // writeHead (only a recorded one's) keeps them.
  let sent: Record<string, unknown> = {};
  const writeHead = res.writeHead as (...args: unknown[]) => ServerResponse;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    const headers = args.find((a) => typeof a === 'object' && a !== null && !Array.isArray(a));
    if (headers) sent = headers as Record<string, unknown>;
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
  res.once('close', () => {
    const version = sent['x-model-version'];
    const role = sent['x-deployment-role'];
    if (model()) span.setAttribute('modelyard.model', model());
    if (version !== undefined) span.setAttribute('modelyard.model_version', Number(version));
    if (role !== undefined) span.setAttribute('modelyard.deployment_role', String(role));
    tracer().endHttp(span, res.statusCode);
  });
}

/**
 * A span for every request Fastify serves (registered only when tracing is on): named by its route once it is
 * known, with the request id, and the model and version for routes that have them (`:name`, `X-Model-Version`).
 */
export function traceFramework(fastify: FastifyInstance) {
  fastify.addHook('onRequest', async (request) => {
    const span = tracer().serverSpan(request.method, request.headers, {
      'http.request.method': request.method,
      'modelyard.request_id': String(request.id),
    });
    spans.set(request.raw, span);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request.raw);
    if (!span) return;
    spans.delete(request.raw);
    // Fastify writes a literal colon as '::' (predict::async); the route as a client calls it has one.
    const route = request.routeOptions.url?.replace(/::/g, ':');
    if (route) {
      span.updateName(`${request.method} ${route}`);
      span.setAttribute('http.route', route);
    }
    const name = (request.params as Record<string, unknown> | undefined)?.name;
    if (typeof name === 'string') span.setAttribute('modelyard.model', name);
    const version = reply.getHeader('x-model-version');
    if (version !== undefined) span.setAttribute('modelyard.model_version', Number(version));
    tracer().endHttp(span, reply.statusCode);
  });
  // A client gone before the answer: onResponse never runs, the span still ends.
  fastify.addHook('onRequestAbort', async (request) => {
    const span = spans.get(request.raw);
    if (!span) return;
    spans.delete(request.raw);
    span.setAttribute('error.type', 'aborted');
    span.end();
  });
}

/** The request's span as a parent for work it hands on (a queued job), when tracing is on and it has one. */
export function traceOf(request: FastifyRequest): TraceParent | undefined {
  const span = spans.get(request.raw);
  return span && tracer().contextOf(span);
}
