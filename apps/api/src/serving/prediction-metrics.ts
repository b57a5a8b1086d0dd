import type { FastifyRequest } from 'fastify';
import { ERROR_CODES, type ErrorCode } from '@modelyard/contracts';
import type { PredictionLabels, RollupsService, ServingMetrics } from '@modelyard/server';

const CODE_OF_STATUS = Object.fromEntries(
  Object.entries(ERROR_CODES).map(([code, status]) => [status, code]),
) as Record<number, ErrorCode>;

/**
 * One prediction request, observed once with its final status (by the predict router): the request histogram,
 * errors by code, the in-flight gauge (incremented when the request became a prediction) and the per-minute
 * rollups.
 */
export function recordPrediction(
  metrics: ServingMetrics,
  rollups: RollupsService,
  l: PredictionLabels,
  route: string,
  status: number,
  errorCode: string | undefined,
  ms: number,
) {
  metrics.inFlightNow--;
  metrics.observeRequest(l, route, status, ms / 1000);
  if (status >= 400) metrics.errors.inc({ code: errorCode ?? CODE_OF_STATUS[status] ?? 'INTERNAL', format: l.format });
  // Rollups are per served version: requests refused before a version was chosen (404, 401) are not in them.
  const version = Number(l.version);
  if (l.role && version > 0) rollups.observe(l.model, version, l.role, ms, status >= 500 || status === 429);
}

/** X-Routing-Key: lets an application keep one end user on one pilot/production version (sticky routing). */
export function routingKeyOf(req: FastifyRequest): string | undefined {
  const v = req.headers['x-routing-key'];
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined;
}
