import { z } from 'zod';

/**
 * Explanations (issue 18): per row, each feature's contribution to each output (class probability or regression
 * value) against a background of the version's reference rows, with base + sum of contributions = the output.
 */
export const EXPLAIN_METHODS = ['linear', 'tree', 'exact', 'sampled'] as const;
export const ZExplainMethod = z.enum(EXPLAIN_METHODS).meta({
  description:
    'linear: closed form on linear scores; tree: interventional TreeSHAP; exact: every coalition enumerated; ' +
    'sampled: permutation sampling with an error bound',
});

export const ZRowExplanation = z.object({
  /** The mean output over the background rows, per output. */
  base: z.array(z.number()),
  /** The model's output for the row, per output. */
  value: z.array(z.number()),
  /** contributions[feature][output], features and outputs in the order of `features` and `outputs`. */
  contributions: z.array(z.array(z.number())),
  /** Sampled: half-width of the 99.7 % interval (3 standard errors) of the least certain contribution; else 0. */
  errorBound: z.number(),
});
export type TRowExplanation = z.infer<typeof ZRowExplanation>;

export const ZExplanation = z.object({
  method: ZExplainMethod,
  /** True for the exact methods (linear, tree, exact); the sampled method is within errorBound. */
  exact: z.boolean(),
  /** The model output explained, and the label of each of its columns (classes, or the output's index). */
  output: z.string(),
  outputs: z.array(z.union([z.string(), z.number()])),
  features: z.array(z.string()),
  backgroundRows: z.number().int(),
  /** Sampled method: feature orders drawn per row; null for the exact methods. */
  samples: z.number().int().nullable(),
  rows: z.array(ZRowExplanation),
});
export type TExplanation = z.infer<typeof ZExplanation>;

/** `POST /v1/models/{name}/explain`: the Modelyard predict body. */
export const ZExplainRequest = z
  .object({ payload: z.array(z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())])).min(1) })
  .meta({
    examples: [{ payload: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }] }],
  });
export type TExplainRequest = z.infer<typeof ZExplainRequest>;

export const ZExplainResponse = ZExplanation.extend({ model: z.string(), version: z.number().int() });
export type TExplainResponse = z.infer<typeof ZExplainResponse>;

/**
 * Open Inference Protocol v2 explain (`POST /v2/models/{name}[/versions/{v}]/explain`, the form KServe-compatible
 * servers such as TorchServe's KServe wrapper give it): an OIP inference request in, an OIP inference response out
 * whose output tensors are the explanation, and whose `parameters` say how it was computed.
 */
export const ZOipExplainResponse = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string(),
  parameters: z.object({
    method: ZExplainMethod,
    exact: z.boolean(),
    /** The model output explained, the labels of its k columns, and the m features, in tensor order. */
    explained_output: z.string(),
    explained_outputs: z.array(z.union([z.string(), z.number()])),
    features: z.array(z.string()),
    background_rows: z.number().int(),
    samples: z.number().int().nullable(),
  }),
  /**
   * `contributions` FP64 [n, m, k]; `base_value` FP64 [n, k]; `value` FP64 [n, k] (base + contributions);
   * `error_bound` FP64 [n] (0 for the exact methods).
   */
  outputs: z.array(
    z.object({
      name: z.string(),
      datatype: z.literal('FP64'),
      shape: z.array(z.number().int()),
      data: z.array(z.number()),
    }),
  ),
});
export type TOipExplainResponse = z.infer<typeof ZOipExplainResponse>;

/**
 * Global importance of a version (`GET /v1/models/{name}/versions/{v}/importance?source=`): the mean absolute
 * contribution of each feature over a sample of rows, per output and averaged over the outputs. `reference`: the
 * first rows of the version's reference dataset; `log`: the newest rows the version answered (the prediction log).
 */
export const IMPORTANCE_SOURCES = ['reference', 'log'] as const;
export const ZImportanceQuery = z.object({ source: z.enum(IMPORTANCE_SOURCES).default('reference') });
export type TImportanceQuery = z.input<typeof ZImportanceQuery>;

export const ZVersionImportance = z.object({
  model: z.string(),
  version: z.number().int(),
  method: ZExplainMethod,
  exact: z.boolean(),
  output: z.string(),
  outputs: z.array(z.union([z.string(), z.number()])),
  features: z.array(z.string()),
  /** Where the rows come from, and how many were explained. */
  source: z.enum(IMPORTANCE_SOURCES),
  rows: z.number().int(),
  /** importance[feature][output] = mean over the rows of |contribution|. */
  importance: z.array(z.array(z.number())),
  /** Per feature, the mean of importance[feature] over the outputs. */
  overall: z.array(z.number()),
});
export type TVersionImportance = z.infer<typeof ZVersionImportance>;
