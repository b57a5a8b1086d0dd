import { Catch, HttpException, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ERROR_CODES, type ErrorCode, type TErrorResponse } from '@modelyard/contracts';
import { AppError, LOGGER, outageError, unavailableDependency } from '@modelyard/server';

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'NOT_READY',
};

/** Fastify's own errors (body parsing, limits) carry a 4xx statusCode and a message safe to show. */
function fastifyClientError(e: unknown): { status: number; message: string } | null {
  const err = e as { statusCode?: number; code?: string; message?: string };
  if (
    typeof err?.statusCode === 'number' &&
    err.statusCode >= 400 &&
    err.statusCode < 500 &&
    typeof err.code === 'string' &&
    err.code.startsWith('FST_')
  ) {
    return { status: err.statusCode, message: err.message ?? 'Bad request' };
  }
  return null;
}

export function toErrorBody(
  e: unknown,
  errorId: string,
): { status: number; body: TErrorResponse; unexpected: boolean } {
  const down = e instanceof AppError ? null : unavailableDependency(e);
  if (down) e = outageError(down);
  if (e instanceof AppError) {
    return {
      status: e.status,
      body: {
        error: {
          code: e.code,
          message: e.message,
          errorId,
          ...(e.details !== undefined ? { details: e.details } : {}),
        },
      },
      unexpected: false,
    };
  }
  if (e instanceof HttpException && e.getStatus() < 500) {
    const status = e.getStatus();
    const code = BY_STATUS[status] ?? 'BAD_REQUEST';
    const message = status === 404 ? 'No such route' : e.message;
    return {
      status: ERROR_CODES[code] === status ? status : ERROR_CODES[code],
      body: { error: { code, message, errorId } },
      unexpected: false,
    };
  }
  const fe = fastifyClientError(e);
  if (fe) {
    const code = BY_STATUS[fe.status] ?? 'BAD_REQUEST';
    return { status: fe.status, body: { error: { code, message: fe.message, errorId } }, unexpected: false };
  }
  // Anything else is our bug: log it with the id, show the client only the id.
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'Internal error; quote the errorId when reporting it', errorId } },
    unexpected: true,
  };
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly log: Logger) {}

  catch(e: unknown, host: ArgumentsHost) {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { status, body, unexpected } = toErrorBody(e, String(req.id));
    (req as FastifyRequest & { errorCode?: string }).errorCode = body.error.code;
    if (unexpected) this.log.error({ err: e, errorId: req.id, method: req.method, url: req.url }, 'unhandled error');
    const retry = (body.error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
    if ((status === 429 || status === 503) && retry) void reply.header('retry-after', String(retry));
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
