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
