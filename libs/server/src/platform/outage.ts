import { AppError } from './errors.js';

/** How long a client is told to wait when a dependency is down (Retry-After). */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

const PRISMA_UNREACHABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const NETWORK =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|EPIPE|Connection terminated|Connection is closed|connect ECONN|Can't reach database|server closed the connection/i;
const REDIS_DOWN =
  /Stream isn't writeable|enableOfflineQueue|Command timed out|MaxRetriesPerRequest|Reached the max retries|Redis is not connected/i;

/**
 * Which dependency an error says is unreachable: Postgres (Prisma or the pg driver), Redis (ioredis failing
 * fast, see redis.service.ts), or neither. Such a request is not the caller's fault nor our bug: it answers
 * 503 with Retry-After, so clients and load balancers back off and come back.
 */
export function unavailableDependency(e: unknown): 'database' | 'queue' | null {
  for (
    let err = e as { name?: string; code?: string; message?: string; cause?: unknown } | undefined, depth = 0;
    err && depth < 4;
    err = err.cause as typeof err, depth++
  ) {
    const name = err.name ?? '';
    const message = String(err.message ?? '');
    if (name === 'MaxRetriesPerRequestError' || REDIS_DOWN.test(message)) return 'queue';
    if (name.startsWith('Prisma') && (PRISMA_UNREACHABLE.has(err.code ?? '') || name.endsWith('InitializationError')))
      return 'database';
    if (name.includes('DriverAdapter') || name.startsWith('Prisma') || /database|postgres/i.test(message)) {
      if (NETWORK.test(message) || NETWORK.test(String(err.code ?? ''))) return 'database';
    }
    if (NETWORK.test(String(err.code ?? ''))) return name.includes('Redis') ? 'queue' : 'database';
  }
  return null;
}

/** The AppError a client sees for an unreachable dependency. */
export function outageError(which: 'database' | 'queue'): AppError {
  const what = which === 'database' ? 'The database' : 'The queue (Redis)';
  return new AppError('NOT_READY', `${what} is unavailable right now; retry in a few seconds`, {
    retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS,
  });
}
