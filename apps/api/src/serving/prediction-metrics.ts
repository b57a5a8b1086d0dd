import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ERROR_CODES, type ErrorCode } from '@modelyard/contracts';
import type { PredictionLabels, RollupsService, ServingMetrics } from '@modelyard/server';

type Tagged = FastifyRequest & { prediction?: PredictionLabels; errorCode?: ErrorCode };

/**
 * Every format's controller calls this first; the response hook below then observes the request once, with
 * its final status, whatever path it took (success, 4xx from an adapter, 503 from the engine).
 */
export function tagPrediction(req: FastifyRequest, metrics: ServingMetrics, labels: PredictionLabels): PredictionLabels {
  (req as Tagged).prediction = labels;
  metrics.inFlight.inc();
  return labels;
}

/** For filters: the closed error code of a failed prediction, for the errors-by-code counter. */
export function tagErrorCode(req: FastifyRequest, code: ErrorCode) {
  (req as Tagged).errorCode = code;
}

const CODE_OF_STATUS = Object.fromEntries(Object.entries(ERROR_CODES).map(([code, status]) => [status, code])) as Record<number, ErrorCode>;

export function registerPredictionMetrics(fastify: FastifyInstance, metrics: ServingMetrics, rollups: RollupsService) {
  fastify.addHook('onResponse', async (req, reply) => {
    const l = (req as Tagged).prediction;
    if (!l) return;
    metrics.inFlight.dec();
    const status = reply.statusCode;
    metrics.requests.observe({ ...l, route: req.routeOptions.url ?? '', status: String(status) }, reply.elapsedTime / 1000);
    if (status >= 400) metrics.errors.inc({ code: (req as Tagged).errorCode ?? CODE_OF_STATUS[status] ?? 'INTERNAL', format: l.format });
    // Rollups are per served version: requests refused before a version was chosen (404, 401) are not in them.
    const version = Number(l.version);
    if (l.role && version > 0) rollups.observe(l.model, version, l.role, reply.elapsedTime, status >= 500 || status === 429);
  });
}

/** X-Routing-Key: lets an application keep one end user on one pilot/production version (sticky routing). */
export function routingKeyOf(req: FastifyRequest): string | undefined {
  const v = req.headers['x-routing-key'];
  return typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined;
}
