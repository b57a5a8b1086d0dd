import { Inject, Injectable } from '@nestjs/common';
import type { CommonConfig } from '@modelyard/config';
import { randomUUID } from 'node:crypto';
import {
  ZReferenceDataset,
  type TExplanation,
  type TExplainResponse,
  type TOipExplainResponse,
  type TVersionImportance,
} from '@modelyard/contracts';
import { authorize, authorizeModel } from '../auth/principal.js';
import type { Principal } from '../auth/principal.js';
import { readBytes } from '../storage/read-bytes.js';
import { type Feeds, InputError, servedArtifact, type ServedVersion, verifiedArtifact } from '../engine/index.js';
import { AppError } from '../platform/errors.js';
import { COMMON_CONFIG } from '../platform/tokens.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { ARTIFACT_STORE, type ArtifactStore } from '../registry/ports.js';
import { parseModelyard } from '../serving/formats/modelyard.format.js';
import { parseOip } from '../serving/formats/oip-v2.format.js';
import { PredictionService } from '../serving/prediction.service.js';
import type { RateLimit } from '../serving/rate-limiter.js';
import { ServingService, type VersionSelector } from '../serving/serving.service.js';
import { PredictionLogRepository } from '../predictions/prediction-log.repository.js';
import { keyFor, modelNameOf } from '../tenancy/model-key.js';
import { readGraphModel } from './explain-graph.js';
import { sessionEvaluate, VersionExplainer, type ExplainedIO } from './explainer.js';

/**
 * Explanations of predictions: per row, each feature's contribution to each output, against the first
 * EXPLAIN_BACKGROUND_ROWS rows of the version's reference dataset. They never slow plain predictions: they run
 * on this service's own slots (EXPLAIN_MAX_CONCURRENCY, EXPLAIN_QUEUE waiting, then 429), never on the serving
 * path's run gate or micro-batcher, and yield the event loop between rows, so predictions keep being answered
 * while a long explanation computes.
 */
@Injectable()
export class ExplainService {
  /**
   * Per loaded version (graph, background rows, its session): kept as long as the version stays loaded, so an
   * unloaded and reloaded version never runs on a released session.
   */
  private readonly explainers = new WeakMap<ServedVersion, Promise<VersionExplainer>>();
  /** Global importance per loaded version: its reference rows do not change, so it is computed once. */
  private readonly importances = new WeakMap<ServedVersion, Promise<TVersionImportance>>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly predictions: PredictionService,
    private readonly registry: RegistryRepository,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @Inject(COMMON_CONFIG) private readonly cfg: CommonConfig,
    private readonly serving: ServingService,
    private readonly log: PredictionLogRepository,
  ) {}

  /**
   * `GET /v1/models/{name}/versions/{v}/importance`: mean |contribution| per feature (and output) over the first
   * EXPLAIN_IMPORTANCE_ROWS rows of the version's reference dataset, explained as `POST /explain` explains a row.
   * `source=log`: the newest EXPLAIN_IMPORTANCE_ROWS rows the version answered instead (the prediction log, which
   * the worker ingests every few seconds). A read of the model (`models.read`), not a prediction: any version of
   * the model, no rate limit; it takes an explanation slot like a request. The reference's is kept per loaded
   * version; the log's is computed at each call.
   */
  async importance(
    actor: Principal,
    model: string,
    version: number,
    source: TVersionImportance['source'] = 'reference',
  ): Promise<TVersionImportance> {
    authorize(actor, 'models.read');
    const key = keyFor(actor, model);
    authorizeModel(actor, key);
    const served = await this.serving.resolve(key, { version });
    if (source === 'log') return this.computeImportance(served, 'log');
    let p = this.importances.get(served);
    if (!p) {
      p = this.computeImportance(served, 'reference');
      this.importances.set(served, p);
      p.catch(() => this.importances.delete(served));
    }
    return p;
  }

  /** The newest logged rows of a version with every feature a finite number, in feature order, at most `max`. */
  private async loggedRows(served: ServedVersion, features: string[], max: number): Promise<Float32Array> {
    const out: number[] = [];
    let n = 0;
    for (const request of await this.log.recent(served.model, served.version, max)) {
      const rows = Array.isArray(request.features) ? request.features : [];
      for (const row of rows) {
        if (n >= max) break;
        const r = row as Record<string, unknown> | null;
        const values = features.map((f) => (r && typeof r === 'object' ? r[f] : undefined));
        if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) continue;
        out.push(...(values as number[]));
        n++;
      }
    }
    if (n === 0)
      throw new AppError(
        'CONFLICT',
        `No logged prediction of version ${served.version} of ${modelNameOf(served.model)} has every feature yet: ` +
          'the prediction log samples requests (PREDICTION_LOG_SAMPLE_RATE) and is ingested every few seconds',
      );
    return Float32Array.from(out);
  }

  private async computeImportance(
    served: ServedVersion,
    source: TVersionImportance['source'],
  ): Promise<TVersionImportance> {
    const io = explainedIO(served);
    const max = this.cfg.explain.importanceRows;
    const sample =
      source === 'log'
        ? await this.loggedRows(served, io.features, max)
        : backgroundRows(await this.referenceText(served), io.features, max);
    await this.take();
    try {
      const ex = await this.explainerFor(served, io);
      const m = io.features.length;
      const n = sample.length / m;
      const k = ex.io.outputs.length;
      const sum = Array.from({ length: m }, () => new Array<number>(k).fill(0));
      for (let r = 0; r < n; r++) {
        const row = await ex.explainRow(sample.subarray(r * m, (r + 1) * m));
        for (let j = 0; j < m; j++) for (let o = 0; o < k; o++) sum[j]![o]! += Math.abs(row.contributions[j]![o]!);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const importance = sum.map((per) => per.map((v) => v / n));
      return {
        model: modelNameOf(served.model),
        version: served.version,
        method: ex.method,
        exact: ex.method !== 'sampled',
        output: ex.io.output,
        outputs: ex.io.outputs,
        features: ex.io.features,
        source,
        rows: n,
        importance,
        overall: importance.map((per) => per.reduce((a, b) => a + b, 0) / Math.max(1, per.length)),
      };
    } finally {
      this.release();
    }
  }

  /** `POST /v1/models/{name}[/versions/{v}|/aliases/{a}]/explain`: the version a predict would use (pilots too). */
  async explain(
    actor: Principal,
    model: string,
    sel: VersionSelector & { routingKey?: string },
    body: unknown,
    limit?: RateLimit,
  ): Promise<TExplainResponse> {
    const { served } = await this.predictions.select(actor, model, sel, limit);
    const feeds = parseModelyard(body, served, { maxRows: this.cfg.explain.maxRows });
    return { model: served.model, version: served.version, ...(await this.explainFeeds(served, feeds)) };
  }

  /**
   * `POST /v2/models/{name}[/versions/{v}]/explain`: an OIP v2 inference request (JSON tensors) explained by the
   * same explainer, answered as an OIP inference response whose outputs are the explanation's tensors.
   */
  async explainOip(
    actor: Principal,
    model: string,
    sel: VersionSelector & { routingKey?: string },
    body: unknown,
    limit?: RateLimit,
  ): Promise<TOipExplainResponse> {
    const { served } = await this.predictions.select(actor, model, sel, limit);
    const req = parseOip(body, served, { maxRows: this.cfg.explain.maxRows });
    const ex = await this.explainFeeds(served, req.feeds);
    return renderOipExplanation(served, ex, req.id ?? randomUUID());
  }

  /** Explanations of rows already parsed for a version (also the Modelyard predict route's `?explain=true`). */
  async explainFeeds(served: ServedVersion, feeds: Feeds): Promise<TExplanation> {
    const io = explainedIO(served);
    const input = feeds[io.input]!;
    const n = input.dims[0] ?? 0;
    const { maxRows } = this.cfg.explain;
    if (n > maxRows)
      throw new InputError(`Too many rows to explain: ${n} (the limit is ${maxRows} per request, EXPLAIN_MAX_ROWS)`);
    await this.take();
    try {
      const ex = await this.explainerFor(served, io);
      const m = ex.io.features.length;
      const x = input.data as Float32Array;
      const rows = [];
      for (let r = 0; r < n; r++) {
        rows.push(await ex.explainRow(x.subarray(r * m, (r + 1) * m)));
        // One row of a large ensemble is milliseconds of JavaScript: let predictions through between rows.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return {
        method: ex.method,
        exact: ex.method !== 'sampled',
        output: ex.io.output,
        outputs: ex.io.outputs,
        features: ex.io.features,
        backgroundRows: ex.background.length / m,
        samples: ex.samples,
        rows,
      };
    } finally {
      this.release();
    }
  }

  /**
   * A batch job's rows (`output.contributions`, in the worker): every row of a chunk, without the per-request row
   * limit or the request slots (the worker's job concurrency bounds it), yielding between rows as requests do.
   */
  async explainBatch(served: ServedVersion, x: Float32Array, n: number): Promise<TExplanation['rows']> {
    const io = explainedIO(served);
    const ex = await this.explainerFor(served, io);
    const m = io.features.length;
    const rows = [];
    for (let r = 0; r < n; r++) {
      rows.push(await ex.explainRow(x.subarray(r * m, (r + 1) * m)));
      if (r % 16 === 15) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return rows;
  }

  /** A slot of EXPLAIN_MAX_CONCURRENCY, waiting behind at most EXPLAIN_QUEUE others; else 429. */
  private take(): Promise<void> {
    const { maxConcurrency, queue } = this.cfg.explain;
    if (this.running < maxConcurrency) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= queue)
      return Promise.reject(
        new AppError('RATE_LIMITED', 'Too many explanations are being computed right now: retry in a moment'),
      );
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release() {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private explainerFor(served: ServedVersion, io: ExplainedIO): Promise<VersionExplainer> {
    let p = this.explainers.get(served);
    if (!p) {
      p = this.build(served, io);
      this.explainers.set(served, p);
      // A failure (no reference yet, storage down) is not remembered: the next request tries again.
      p.catch(() => this.explainers.delete(served));
    }
    return p;
  }

  /** The version's reference dataset as text; 409 when it was registered without one. */
  private async referenceText(served: ServedVersion): Promise<string> {
    const v = await this.registry.findVersion(served.model, served.version);
    if (!v) throw new AppError('NOT_FOUND', `Model ${modelNameOf(served.model)} has no version ${served.version}`);
    if (!v.referenceUri)
      throw new AppError(
        'CONFLICT',
        `Version ${served.version} of ${modelNameOf(served.model)} was registered without a reference dataset: ` +
          'explanations are computed against its rows. Register a version with one.',
      );
    const limit = this.cfg.storage.maxUploadBytes;
    return (await readBytes(await this.store.get(v.referenceUri), limit, 'The reference dataset')).toString();
  }

  /** The version's graph (from the served artifact) and background rows (from its reference dataset). */
  private async build(served: ServedVersion, io: ExplainedIO): Promise<VersionExplainer> {
    const v = await this.registry.findVersion(served.model, served.version);
    if (!v) throw new AppError('NOT_FOUND', `Model ${served.model} has no version ${served.version}`);
    const limit = this.cfg.storage.maxUploadBytes;
    const text = await this.referenceText(served);
    const background = backgroundRows(text, io.features, this.cfg.explain.backgroundRows);
    const { uri, sha256 } = servedArtifact(v);
    const bytes = await verifiedArtifact(this.cfg.onnx.cacheDir, uri, sha256, async () =>
      readBytes(await this.store.get(uri), limit, 'The model'),
    );
    const m = io.features.length;
    const evaluate = sessionEvaluate(served.session, io);
    // The output's width: the model's own answer for one background row.
    const k = (await evaluate(background.subarray(0, m), 1)).length;
    const outputs = io.outputs.length === k ? io.outputs : Array.from({ length: k }, (_, i) => i);
    const graph = readGraphModel(bytes, m);
    const usable = graph && graph.output === io.output && graph.k === k ? graph : null;
    return new VersionExplainer({ ...io, outputs }, usable, background, evaluate, this.cfg.explain);
  }
}

/** An explanation as OIP v2 tensors: contributions [n, m, k], base_value and value [n, k], error_bound [n]. */
export function renderOipExplanation(served: ServedVersion, ex: TExplanation, id: string): TOipExplainResponse {
  const n = ex.rows.length;
  const m = ex.features.length;
  const k = ex.outputs.length;
  const tensor = (name: string, shape: number[], data: number[]) => ({ name, datatype: 'FP64' as const, shape, data });
  return {
    model_name: modelNameOf(served.model),
    model_version: String(served.version),
    id,
    parameters: {
      method: ex.method,
      exact: ex.exact,
      explained_output: ex.output,
      explained_outputs: ex.outputs,
      features: ex.features,
      background_rows: ex.backgroundRows,
      samples: ex.samples,
    },
    outputs: [
      tensor(
        'contributions',
        [n, m, k],
        ex.rows.flatMap((r) => r.contributions.flat()),
      ),
      tensor(
        'base_value',
        [n, k],
        ex.rows.flatMap((r) => r.base),
      ),
      tensor(
        'value',
        [n, k],
        ex.rows.flatMap((r) => r.value),
      ),
      tensor(
        'error_bound',
        [n],
        ex.rows.map((r) => r.errorBound),
      ),
    ],
  };
}

/**
 * Features a model may have to be explained: the sampled method costs samples x (features + 1) model rows of
 * that many values each, per explained row.
 */
export const MAX_EXPLAINED_FEATURES = 512;

/**
 * The model input and output explanations are defined for: one float32 input of shape [N, features] (its columns
 * are the feature names) and the probability output of a classifier, or else the first float output.
 */
export function explainedIO(
  served: Pick<ServedVersion, 'model' | 'version' | 'signature' | 'outputNames' | 'probabilityOutput'>,
): ExplainedIO {
  const sig = served.signature;
  const input = sig.inputs[0]!;
  const m = input.shape[1] ?? -1;
  if (sig.inputs.length !== 1 || input.dtype !== 'float32' || input.shape.length !== 2 || m < 1)
    throw new AppError(
      'BAD_REQUEST',
      `Explanations need a model with one float32 input of shape [N, features]; version ${served.version} of ` +
        `${served.model} takes ${sig.inputs.map((i) => `${i.name} ${i.dtype}[${i.shape.join(',')}]`).join(', ')}`,
    );
  if (m > MAX_EXPLAINED_FEATURES)
    throw new AppError(
      'BAD_REQUEST',
      `Explanations support models of at most ${MAX_EXPLAINED_FEATURES} features; this one takes ${m}`,
    );
  const floatOut = sig.outputs.find(
    (o) =>
      (o.dtype === 'float32' || o.dtype === 'float64') && o.shape.length <= 2 && served.outputNames.includes(o.name),
  );
  const output = served.probabilityOutput ?? floatOut?.name;
  if (!output)
    throw new AppError('BAD_REQUEST', `Version ${served.version} of ${served.model} has no numeric output to explain`);
  const features = input.columns?.length === m ? input.columns : Array.from({ length: m }, (_, i) => `x${i}`);
  const outputs = output === served.probabilityOutput && sig.classes ? sig.classes : [];
  return { input: input.name, output, features, outputs };
}

/**
 * The first `max` rows of a reference dataset (reference.json's shape) whose features are all numbers, in the
 * model's feature order, as float32.
 */
export function backgroundRows(text: string, features: string[], max: number): Float32Array {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('CONFLICT', 'The version’s reference dataset is not JSON');
  }
  const parsed = ZReferenceDataset.safeParse(json);
  if (!parsed.success)
    throw new AppError('CONFLICT', 'The version’s reference dataset is not shaped like reference.json');
  const at = features.map((f) => parsed.data.feature_names.indexOf(f));
  const missing = features.filter((_, i) => at[i] === -1);
  if (missing.length)
    throw new AppError(
      'CONFLICT',
      `The version’s reference dataset lacks feature(s) ${missing.slice(0, 5).join(', ')}`,
    );
  const out: number[] = [];
  let n = 0;
  for (const row of parsed.data.rows) {
    if (n >= max) break;
    const values = at.map((i) => row[i]);
    if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) continue;
    out.push(...(values as number[]));
    n++;
  }
  if (n === 0) throw new AppError('CONFLICT', 'The version’s reference dataset has no row with every feature set');
  return Float32Array.from(out);
}
