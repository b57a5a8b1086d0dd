import { z } from 'zod';
import { ZModelVersionStatus } from './registry.js';
import { ZOipDatatype } from './signature.js';

/**
 * The prediction bodies and answers of the four request formats (PROTOCOLS.md), as the OpenAPI document
 * describes them. The api parses these bodies by hand, straight into tensors (the hot path), so these schemas
 * say what is accepted without being the parser: values are `unknown` where the model's signature decides.
 */
const ZRow = z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]);

/** Modelyard: rows as `{feature: value}` records, or as lists of values in the signature's order. */
export const ZPredictRequest = z.object({ payload: z.array(ZRow) }).meta({
  examples: [{ payload: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }] }],
});
export type TPredictRequest = z.infer<typeof ZPredictRequest>;

/** Classifiers answer labels, probabilities and classes; other models their first output per row. */
export const ZPredictResponse = z
  .object({
    predictions: z.array(z.unknown()),
    predictions_prob: z.array(z.array(z.number())).optional(),
    classes: z.array(z.union([z.string(), z.number()])).optional(),
    model: z.string(),
    version: z.number().int(),
  })
  .meta({
    examples: [
      { predictions: [0], predictions_prob: [[0.98, 0.02, 0]], classes: [0, 1, 2], model: 'iris', version: 1 },
    ],
  });
export type TPredictResponse = z.infer<typeof ZPredictResponse>;

const ZOipTensor = z.object({
  name: z.string(),
  shape: z.array(z.number().int()),
  datatype: ZOipDatatype,
  parameters: z.record(z.string(), z.unknown()).optional(),
  data: z.array(z.unknown()),
});

/** Open Inference Protocol v2 (KServe v2) inference request, JSON tensors. */
export const ZOipInferRequest = z
  .object({
    id: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    inputs: z.array(ZOipTensor),
    outputs: z
      .array(z.object({ name: z.string(), parameters: z.record(z.string(), z.unknown()).optional() }))
      .optional(),
  })
  .meta({
    examples: [
      {
        id: '42',
        inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
      },
    ],
  });
export type TOipInferRequest = z.infer<typeof ZOipInferRequest>;

export const ZOipInferResponse = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string(),
  outputs: z.array(ZOipTensor.omit({ parameters: true })),
});
export type TOipInferResponse = z.infer<typeof ZOipInferResponse>;

const ZOipTensorMetadata = z.object({ name: z.string(), datatype: ZOipDatatype, shape: z.array(z.number().int()) });
export const ZOipModelMetadata = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(ZOipTensorMetadata),
  outputs: z.array(ZOipTensorMetadata),
});
export const ZOipServerMetadata = z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) });
export const ZOipLive = z.object({ live: z.boolean() });
export const ZOipReady = z.object({ ready: z.boolean() });
export const ZOipModelReady = z.object({ name: z.string(), ready: z.boolean() });

/** TF Serving / KServe v1 / Vertex AI: `instances` (rows) or `inputs` (columns); the other keys are ignored. */
export const ZTfsPredictRequest = z
  .object({
    signature_name: z.string().optional(),
    instances: z.array(z.unknown()).optional(),
    inputs: z.unknown().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ examples: [{ instances: [[5.1, 3.5, 1.4, 0.2]] }] });
export type TTfsPredictRequest = z.infer<typeof ZTfsPredictRequest>;

/** `predictions` for `instances`, `outputs` for `inputs`. */
export const ZTfsPredictResponse = z.union([
  z.object({ predictions: z.array(z.unknown()) }),
  z.object({ outputs: z.unknown() }),
]);
export type TTfsPredictResponse = z.infer<typeof ZTfsPredictResponse>;

export const ZTfsModelMetadata = z.object({
  model_spec: z.object({ name: z.string(), signature_name: z.string(), version: z.string() }),
  metadata: z.object({ signature_def: z.record(z.string(), z.unknown()) }),
});

/** The serving status TF Serving and KServe v1 clients poll (label status; a predict-only key on a model). */
export const ZServingStatus = z.object({
  name: z.string(),
  ready: z.boolean(),
  model_version_status: z.array(ZModelVersionStatus),
});
export type TServingStatus = z.infer<typeof ZServingStatus>;

/** MLflow scoring (`/invocations`): exactly one of the four keys, plus `params` (ignored). Or `text/csv`. */
export const ZMlflowInvocationsRequest = z
  .object({
    dataframe_split: z
      .object({
        columns: z.array(z.string()),
        data: z.array(z.array(z.unknown())),
        index: z.array(z.unknown()).optional(),
      })
      .optional(),
    dataframe_records: z.array(z.record(z.string(), z.unknown())).optional(),
    instances: z.array(z.unknown()).optional(),
    inputs: z.unknown().optional(),
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({
    examples: [
      {
        dataframe_split: {
          columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
          data: [[5.1, 3.5, 1.4, 0.2]],
        },
      },
    ],
  });
export type TMlflowInvocationsRequest = z.infer<typeof ZMlflowInvocationsRequest>;
export const ZMlflowInvocationsResponse = z.object({ predictions: z.array(z.unknown()) });

/** Errors of the outside protocols, in their own shapes: OIP v2 and TF Serving, and MLflow. */
export const ZProtocolError = z.object({ error: z.string() });
export const ZMlflowError = z.object({ error_code: z.string(), message: z.string() });
