import { Catch, Inject, UseFilters, type ArgumentsHost, type ExceptionFilter, type Type } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { LOGGER } from '@modelyard/server';
import { toErrorBody } from '../common/error.filter.js';
import { tagErrorCode } from './prediction-metrics.js';

/**
 * Outside protocols answer errors in their own shape (PROTOCOLS.md), with our status codes kept:
 * OIP v2 and TF Serving / KServe v1: `{"error": "<message>"}`; MLflow: `{"error_code": "...", "message": "..."}`.
 */
export type ErrorProtocol = 'oip-v2' | 'tfs' | 'mlflow';

/** MLflow's databricks error codes (mlflow/protos/databricks.proto) for our statuses. */
const MLFLOW_CODE: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'RESOURCE_DOES_NOT_EXIST',
  413: 'BAD_REQUEST',
  415: 'BAD_REQUEST',
  429: 'REQUEST_LIMIT_EXCEEDED',
  500: 'INTERNAL_ERROR',
  503: 'TEMPORARILY_UNAVAILABLE',
};

/**
 * Where a status alone says too little for MLflow's clients, our code or the error itself decides:
 * `mlflow.register_model` goes on to add a version only when creating the model answers RESOURCE_ALREADY_EXISTS,
 * and the MLflow-compatible registry (apps/api/src/mlflow) names INVALID_PARAMETER_VALUE or INVALID_STATE in an
 * AppError's `details.mlflowErrorCode`.
 */
function mlflowCode(status: number, code?: string, details?: unknown): string {
  const named = (details as { mlflowErrorCode?: unknown } | undefined)?.mlflowErrorCode;
  if (typeof named === 'string') return named;
  if (code === 'CONFLICT') return 'RESOURCE_ALREADY_EXISTS';
  return MLFLOW_CODE[status] ?? 'BAD_REQUEST';
}

export function protocolErrorBody(
  protocol: ErrorProtocol,
  status: number,
  message: string,
  code?: string,
  details?: unknown,
) {
  return protocol === 'mlflow' ? { error_code: mlflowCode(status, code, details), message } : { error: message };
}

/**
 * An error as a protocol answers it: the global ErrorFilter's mapping (status, code, Retry-After), in our
 * shape or the protocol's. The shapes have no errorId field: a 500 carries it in the message (it is also the
 * X-Request-Id header).
 */
export function errorAnswer(protocol: ErrorProtocol | null, e: unknown, requestId: string) {
  const { status, body, unexpected } = toErrorBody(e, requestId);
  const retry = (body.error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
  const message = unexpected ? `${body.error.message} (errorId ${requestId})` : body.error.message;
  return {
    status,
    code: body.error.code,
    unexpected,
    retryAfter: (status === 429 || status === 503) && retry ? String(retry) : undefined,
    body: protocol ? protocolErrorBody(protocol, status, message, body.error.code, body.error.details) : body,
  };
}

function sendProtocolError(protocol: ErrorProtocol, e: unknown, req: FastifyRequest, reply: FastifyReply, log: Logger) {
  const a = errorAnswer(protocol, e, String(req.id));
  tagErrorCode(req, a.code);
  if (a.unexpected) log.error({ err: e, errorId: req.id, method: req.method, url: req.url }, 'unhandled error');
  if (a.retryAfter) void reply.header('retry-after', a.retryAfter);
  void reply.status(a.status).header('content-type', 'application/json; charset=utf-8').send(a.body);
}

abstract class ProtocolErrorFilter implements ExceptionFilter {
  protected abstract readonly protocol: ErrorProtocol;
  constructor(@Inject(LOGGER) private readonly log: Logger) {}
  catch(e: unknown, host: ArgumentsHost) {
    const http = host.switchToHttp();
    sendProtocolError(this.protocol, e, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.log);
  }
}

@Catch()
export class OipErrorFilter extends ProtocolErrorFilter {
  protected readonly protocol = 'oip-v2';
}

@Catch()
export class TfsErrorFilter extends ProtocolErrorFilter {
  protected readonly protocol = 'tfs';
}

@Catch()
export class MlflowErrorFilter extends ProtocolErrorFilter {
  protected readonly protocol = 'mlflow';
}

const FILTERS: Record<ErrorProtocol, Type<ExceptionFilter>> = {
  'oip-v2': OipErrorFilter,
  tfs: TfsErrorFilter,
  mlflow: MlflowErrorFilter,
};

/**
 * Every route of the controller answers errors in `protocol`'s shape. The filter covers what Nest runs (guard,
 * pipes, handler). Errors Fastify raises before Nest sees the request (malformed JSON, a content type without
 * a parser, a body over the limit) never reach a controller's filter, so each route also carries the protocol in
 * its Fastify route config, and registerProtocolErrorHandlers gives such routes a matching error handler.
 */
export function ProtocolErrors(protocol: ErrorProtocol): ClassDecorator {
  return (target) => {
    UseFilters(FILTERS[protocol])(target);
    const proto = target.prototype as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, key)!;
      const isRoute =
        key !== 'constructor' &&
        typeof desc.value === 'function' &&
        Reflect.getMetadata(PATH_METADATA, desc.value) !== undefined;
      if (isRoute) RouteConfig({ errorProtocol: protocol })(proto, key, desc);
    }
  };
}

/** Call before the app is initialized (routes are added on init): see ProtocolErrors. */
export function registerProtocolErrorHandlers(fastify: FastifyInstance, log: Logger) {
  fastify.addHook('onRoute', (route) => {
    const protocol = (route.config as { errorProtocol?: ErrorProtocol } | undefined)?.errorProtocol;
    if (protocol) route.errorHandler = (e, req, reply) => sendProtocolError(protocol, e, req, reply, log);
  });
}
