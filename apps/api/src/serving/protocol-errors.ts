import { Catch, Inject, UseFilters, type ArgumentsHost, type ExceptionFilter, type Type } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { LOGGER, protocolNamed, type PredictProtocol, type ProtocolErrors as ErrorShape } from '@modelyard/server';
import { toErrorBody } from '../common/error.filter.js';

/**
 * An error as a protocol answers it (PROTOCOLS.md): the global ErrorFilter's mapping (status, code,
 * Retry-After), in our shape or the protocol's (`errors`, from its PredictProtocol). The outside shapes have no
 * errorId field: a 500 carries it in the message (it is also the X-Request-Id header).
 */
export function errorAnswer(errors: ErrorShape | null, e: unknown, requestId: string) {
  const { status, body, unexpected } = toErrorBody(e, requestId);
  const retry = (body.error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
  const message = unexpected ? `${body.error.message} (errorId ${requestId})` : body.error.message;
  return {
    status,
    code: body.error.code,
    unexpected,
    retryAfter: (status === 429 || status === 503) && retry ? String(retry) : undefined,
    body: errors ? errors.body(status, body.error.code, message, body.error.details) : body,
  };
}

function sendProtocolError(errors: ErrorShape, e: unknown, req: FastifyRequest, reply: FastifyReply, log: Logger) {
  const a = errorAnswer(errors, e, String(req.id));
  if (a.unexpected) log.error({ err: e, errorId: req.id, method: req.method, url: req.url }, 'unhandled error');
  if (a.retryAfter) void reply.header('retry-after', a.retryAfter);
  void reply.status(a.status).header('content-type', 'application/json; charset=utf-8').send(a.body);
}

const filters = new Map<string, Type<ExceptionFilter>>();

/** The exception filter of one protocol's error shape (one class per protocol, so Nest can inject its logger). */
function filterFor(protocol: PredictProtocol): Type<ExceptionFilter> {
  let filter = filters.get(protocol.name);
  if (!filter) {
    const errors = protocol.errors!;
    @Catch()
    class ProtocolErrorFilter implements ExceptionFilter {
      constructor(@Inject(LOGGER) private readonly log: Logger) {}
      catch(e: unknown, host: ArgumentsHost) {
        const http = host.switchToHttp();
        sendProtocolError(errors, e, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.log);
      }
    }
    filter = ProtocolErrorFilter;
    filters.set(protocol.name, filter);
  }
  return filter;
}

/**
 * Every route of the controller answers errors in `protocol`'s shape: its management routes beside the predict
 * routes the predict router serves (OIP v2 metadata and readiness, TF Serving label status). The filter covers what
 * Nest runs (guard, pipes, handler). Errors Fastify raises before Nest sees the request (malformed JSON, a body
 * over the limit) never reach a controller's filter, so each route also carries the protocol's name in its
 * Fastify route config, and registerProtocolErrorHandlers gives such routes a matching error handler.
 */
export function ProtocolErrors(protocol: PredictProtocol): ClassDecorator {
  if (!protocol.errors) throw new Error(`${protocol.name} answers errors in our own shape`);
  return (target) => {
    UseFilters(filterFor(protocol))(target);
    const proto = target.prototype as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, key)!;
      const isRoute =
        key !== 'constructor' &&
        typeof desc.value === 'function' &&
        Reflect.getMetadata(PATH_METADATA, desc.value) !== undefined;
      if (isRoute) RouteConfig({ errorProtocol: protocol.name })(proto, key, desc);
    }
  };
}

/** The protocol a route's errors are answered in (ProtocolErrors), or null for ours. */
export function errorProtocolOf(routeConfig: unknown): PredictProtocol | null {
  const name = (routeConfig as { errorProtocol?: string } | undefined)?.errorProtocol;
  return name ? (protocolNamed(name) ?? null) : null;
}

/** Call before the app is initialized (routes are added on init): see ProtocolErrors. */
export function registerProtocolErrorHandlers(fastify: FastifyInstance, log: Logger) {
  fastify.addHook('onRoute', (route) => {
    const errors = errorProtocolOf(route.config)?.errors;
    if (errors) route.errorHandler = (e, req, reply) => sendProtocolError(errors, e, req, reply, log);
  });
}
