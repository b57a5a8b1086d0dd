import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ERROR_CODES, type ErrorCode } from '@modelyard/contracts';
import type { PredictionLabels, RollupsService, ServingMetrics } from '@modelyard/server';

type Tagged = FastifyRequest & { prediction?: PredictionLabels; errorCode?: ErrorCode };

/**
 * Every format's controller calls this first; the response hook below then observes the request once, with
 * its final status, whatever path it took (success, 4xx from an adapter, 503 from the engine).
 */
export function tagPrediction(
  req: FastifyRequest,
  metrics: ServingMetrics,
  labels: PredictionLabels,
): PredictionLabels {
  (req as Tagged).prediction = labels;
  metrics.inFlightNow++;
  return labels;
}

/** For filters: the closed error code of a failed prediction, for the errors-by-code counter. */
export function tagErrorCode(req: FastifyRequest, code: ErrorCode) {
  (req as Tagged).errorCode = code;
}

const CODE_OF_STATUS = Object.fromEntries(
  Object.entries(ERROR_CODES).map(([code, status]) => [status, code]),
) as Record<number, ErrorCode>;

/**
 * One prediction request, observed once with its final status, whichever way it came (framework or fast lane):
 * the request histogram, errors by code, the in-flight gauge (incremented when the request was tagged) and the
 * per-minute rollups.
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

export function registerPredictionMetrics(fastify: FastifyInstance, metrics: ServingMetrics, rollups: RollupsService) {
  fastify.addHook('onResponse', async (req, reply) => {
    const l = (req as Tagged).prediction;
    if (l)
      recordPrediction(
        metrics,
        rollups,
        l,
        req.routeOptions.url ?? '',
        reply.statusCode,
        (req as Tagged).errorCode,
        reply.elapsedTime,
      );
  });
}

/** X-Routing-Key: lets an application keep one end user on one pilot/production version (sticky routing). */
export function routingKeyOf(req: FastifyRequest): string | undefined {
  const v = req.headers['x-routing-key'];
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined;
}
