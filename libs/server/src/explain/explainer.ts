import type { ExplainConfig } from '@modelyard/config';
import type { TExplanation } from '@modelyard/contracts';
import { InputError, Tensor, type Session } from '../engine/index.js';
import type { GraphModel } from './explain-graph.js';
import { additiveShapley, columnMeans, linearEvaluate, linearShapley, treeShapley } from './graph-shapley.js';
import { exactShapley, sampledShapley, type Evaluate, type RowExplanation } from './shapley.js';

/** The limits an explainer works within (ExplainConfig without the request and concurrency limits). */
export type ExplainerLimits = Pick<ExplainConfig, 'exactMaxFeatures' | 'maxEvaluations' | 'samples'>;

/** One model input of shape [N, m] (float32) and one output of shape [N, k]: what explanations are defined for. */
export interface ExplainedIO {
  input: string;
  output: string;
  features: string[];
  outputs: (string | number)[];
}

/** onnxruntime as an Evaluate: the served session itself, the output read as float64. */
export function sessionEvaluate(session: Session, io: ExplainedIO): Evaluate {
  const m = io.features.length;
  return async (rows, n) => {
    const out = await session.run({ [io.input]: new Tensor('float32', rows, [n, m]) }, [io.output]);
    const data = out[io.output]!.data as Float32Array | Float64Array;
    return Float64Array.from(data);
  };
}

/**
 * How one version is explained: chosen once per version from its graph, its feature count and the limits.
 * linear (closed form) and tree (TreeSHAP) compute from the graph; exact enumerates coalitions on the graph's
 * own function (a linear model's probabilities) or on the model; sampled draws feature orders on the model.
 */
export class VersionExplainer {
  readonly method: TExplanation['method'];
  private readonly evaluate: Evaluate;
  private readonly mean: Float64Array;

  constructor(
    readonly io: ExplainedIO,
    private readonly graph: GraphModel | null,
    /** Background rows, row-major, already float32 as the model sees them. */
    readonly background: Float32Array,
    modelEvaluate: Evaluate,
    private readonly limits: ExplainerLimits,
  ) {
    const m = io.features.length;
    const nb = background.length / m;
    this.mean = columnMeans(background, m);
    const enumerable = m <= limits.exactMaxFeatures && 2 ** m * nb <= limits.maxEvaluations;
    if (graph?.kind === 'tree') this.method = 'tree';
    else if ((graph?.kind === 'linear' && graph.link === 'none') || graph?.kind === 'additive') this.method = 'linear';
    else this.method = enumerable ? 'exact' : 'sampled';
    if (graph?.kind === 'linear') this.evaluate = linearEvaluate(graph);
    else if (graph?.kind === 'function') {
      const f = graph.evaluate;
      this.evaluate = async (rows, n) => f(rows, n);
    } else this.evaluate = modelEvaluate;
  }

  /** Sampled: the feature orders drawn per row (EXPLAIN_SAMPLES rounded up to a multiple of the background). */
  get samples(): number | null {
    if (this.method !== 'sampled') return null;
    const nb = this.background.length / this.io.features.length;
    return Math.max(nb, Math.ceil(this.limits.samples / nb) * nb);
  }

  /** One row's explanation; `x` is the row as the model sees it (float32). Refuses values that are not finite. */
  async explainRow(x: Float32Array): Promise<RowExplanation> {
    const at = x.findIndex((v) => !Number.isFinite(v));
    if (at !== -1)
      throw new InputError(`Feature ${this.io.features[at]} is ${x[at]}: explanations need a finite value for each`);
    const m = this.io.features.length;
    const k = this.io.outputs.length;
    switch (this.method) {
      case 'tree':
        return treeShapley(this.graph as Extract<GraphModel, { kind: 'tree' }>, x, this.background);
      case 'linear':
        if (this.graph?.kind === 'additive') return additiveShapley(this.graph, x, this.background);
        return linearShapley(this.graph as Extract<GraphModel, { kind: 'linear' }>, x, this.mean);
      case 'exact':
        return exactShapley(x, this.background, m, k, this.evaluate);
      case 'sampled':
        return sampledShapley(x, this.background, m, k, this.evaluate, this.limits.samples);
    }
  }
}
