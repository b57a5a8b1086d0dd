import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiConfig } from '@modelyard/config';
import {
  mlflowBodyKind,
  parseMlflow,
  parseModelyard,
  parseOip,
  parseRowFormat,
  PredictionService,
  renderMlflow,
  renderModelyard,
  renderModelyardJson,
  renderOip,
  renderRowFormat,
  ServingMetrics,
  type Feeds,
  type Outputs,
  type PredictionLabels,
  type Principal,
  type Selection,
  type ServedVersion,
  type VersionSelector,
} from '@modelyard/server';
import { routingKeyOf, tagPrediction } from './prediction-metrics.js';

/** What a format needs from the request besides the version: the parsed body, its content type, the request id. */
export interface PredictRequest {
  body: unknown;
  contentType: string | undefined;
  requestId: string;
  /** OIP binary tensor extension: the raw tensor bytes after the JSON header (decodeOipBody). */
  tail?: Buffer | null;
}

interface Prepared {
  feeds: Feeds;
  /** The OIP `outputs` filter; undefined = every output (and micro-batching allowed). */
  outputs?: string[];
  render(out: Outputs): unknown;
  /** The same answer already as JSON text, where a format writes it faster than JSON.stringify. */
  renderJson?(out: Outputs): string;
}

/** One request format: its metrics label and how it turns a body into feeds and outputs into an answer. */
export interface PredictFormat {
  format: PredictionLabels['format'];
  /** Refusals that come before the version is picked (MLflow: 415 for a content type it does not take). */
  precheck?(req: PredictRequest): void;
  prepare(sv: ServedVersion, req: PredictRequest, limits: ApiConfig['serving']): Prepared;
}

export const MODELYARD_FORMAT: PredictFormat = {
  format: 'modelyard',
  prepare: (sv, req, limits) => ({
    feeds: parseModelyard(req.body, sv, limits),
    render: (out) => renderModelyard(sv, out),
    renderJson: (out) => renderModelyardJson(sv, out),
  }),
};

export const OIP_FORMAT: PredictFormat = {
  format: 'oip-v2',
  prepare: (sv, req, limits) => {
    const p = parseOip(req.body, sv, limits, req.tail);
    return {
      feeds: p.feeds,
      outputs: p.outputs,
      // An OipBinaryAnswer when some output is asked for as binary: its caller writes its bytes and headers.
      render: (out) => renderOip(sv, out, p.outputs ?? sv.outputNames, p.id ?? req.requestId, p.binaryOutput),
    };
  },
};

export const TFS_FORMAT: PredictFormat = {
  format: 'tfs',
  prepare: (sv, req, limits) => {
    const { feeds, columnar } = parseRowFormat(req.body, sv, limits);
    return { feeds, render: (out) => renderRowFormat(sv, out, columnar) };
  },
};

/** Every output is fetched (not just the labels): an outputs filter would take the request out of micro-batching. */
export const MLFLOW_FORMAT: PredictFormat = {
  format: 'mlflow',
  precheck: (req) => void mlflowBodyKind(req.contentType),
  prepare: (sv, req, limits) => ({
    feeds: parseMlflow(req.body, mlflowBodyKind(req.contentType), sv, limits),
    render: (out) => renderMlflow(sv, out),
  }),
};

export interface PredictOutcome {
  served: ServedVersion;
  role: string;
  prepared: Prepared;
  outputs: Outputs;
}

/**
 * One prediction, whichever path it came by (a controller or the fast lane): pick the version (rate limit,
 * pilots), parse the body for it, run within the budget. `labels` is filled in as the version is known, so a
 * failure later is still counted against the version that was chosen.
 */
export function predictCall(
  predictions: PredictionService,
  cfg: ApiConfig,
  fmt: PredictFormat,
  actor: Principal,
  name: string,
  sel: VersionSelector & { routingKey?: string },
  req: PredictRequest,
  labels: PredictionLabels,
): Promise<PredictOutcome> {
  // Not an async function: on the hot path the version is picked without a promise, and the run's promise is
  // the only one (an async wrapper added a promise and a microtask hop per request).
  const run = ({ served, role }: Selection): Promise<PredictOutcome> => {
    labels.version = String(served.version);
    labels.role = role;
    const prepared = fmt.prepare(served, req, cfg.serving);
    return predictions
      .run(served, prepared.feeds, {
        timeoutMs: cfg.serving.timeoutMs,
        outputs: prepared.outputs,
        logSampleRate: cfg.serving.predictionLogSampleRate,
        silentCap: cfg.serving.silentMaxConcurrency,
        role,
      })
      .then((outputs) => ({ served, role, prepared, outputs }));
  };
  try {
    const picked = predictions.select(actor, name, sel, cfg.serving.rateLimit);
    return picked instanceof Promise ? picked.then(run) : run(picked);
  } catch (e) {
    return Promise.reject(e);
  }
}

export interface FrameworkDeps {
  predictions: PredictionService;
  metrics: ServingMetrics;
  cfg: ApiConfig;
}

/** A controller's prediction route: tag the request for metrics, predict, say which version answered. */
export async function answerOnFramework(
  d: FrameworkDeps,
  fmt: PredictFormat,
  actor: Principal,
  name: string,
  sel: VersionSelector,
  req: FastifyRequest,
  reply: FastifyReply,
  tail?: Buffer | null,
) {
  const labels = tagPrediction(req, d.metrics, {
    model: name,
    version: sel.version ? String(sel.version) : '',
    format: fmt.format,
    role: '',
  });
  const call = { body: req.body, contentType: req.headers['content-type'], requestId: String(req.id), tail };
  fmt.precheck?.(call);
  const r = await predictCall(
    d.predictions,
    d.cfg,
    fmt,
    actor,
    name,
    { ...sel, routingKey: routingKeyOf(req) },
    call,
    labels,
  );
  void reply.header('x-model-version', String(r.served.version)).header('x-deployment-role', r.role);
  return r.prepared.render(r.outputs);
}
