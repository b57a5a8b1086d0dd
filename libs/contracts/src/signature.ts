import { z } from 'zod';

/**
 * Tensor element types, spelled as onnxruntime-node spells them (`Tensor.Type`), because the serving engine builds
 * its typed arrays from these names. ONNX types that onnxruntime-node cannot hand to JavaScript (bfloat16, complex,
 * float8, 4-bit) have no entry: a model that needs them is refused at registration.
 */
export const TENSOR_DTYPES = [
  'float32',
  'float64',
  'int64',
  'int32',
  'int8',
  'int16',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'string',
  'float16',
] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];
export const ZTensorDtype = z.enum(TENSOR_DTYPES);

/** Open Inference Protocol v2 datatypes we can serve (BF16 is a Triton-only extension with no onnxruntime-node type). */
export const OIP_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type OipDatatype = (typeof OIP_DATATYPES)[number];
export const ZOipDatatype = z.enum(OIP_DATATYPES);

/** dtype -> OIP datatype (the table in PROTOCOLS.md). */
export const OIP_DATATYPE_OF_DTYPE = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
} as const satisfies Record<TensorDtype, OipDatatype>;

/** OIP datatype -> dtype (the inverse of OIP_DATATYPE_OF_DTYPE). */
export const DTYPE_OF_OIP_DATATYPE = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
} as const satisfies Record<OipDatatype, TensorDtype>;

/** One graph input or output. Shape dims are -1 where the model leaves them open (the batch dim, usually). */
export const ZTensorSpec = z.object({
  name: z.string().min(1),
  dtype: ZTensorDtype,
  shape: z.array(z.number().int().min(-1)),
  /** Feature names of this input, in the order of its last dimension (records are turned into rows with them). */
  columns: z.array(z.string().min(1)).optional(),
});
export type TTensorSpec = z.infer<typeof ZTensorSpec>;

export const MODEL_TASKS = ['classification', 'regression', 'other'] as const;
export const ZModelTask = z.enum(MODEL_TASKS);
export type ModelTask = (typeof MODEL_TASKS)[number];

/**
 * What a model version takes and returns, read from the ONNX file at registration (and overridable there).
 * For classifiers, `classes` is the label of each column of `probabilityOutput`, in order; `classNames` are
 * display names for the same classes; `labelOutput` names the output holding the predicted label.
 */
export const ZSignature = z.object({
  inputs: z.array(ZTensorSpec).min(1),
  outputs: z.array(ZTensorSpec).min(1),
  classes: z.array(z.union([z.number(), z.string()])).optional(),
  classNames: z.array(z.string()).optional(),
  task: ZModelTask.optional(),
  labelOutput: z.string().optional(),
  probabilityOutput: z.string().optional(),
});
export type TSignature = z.infer<typeof ZSignature>;
