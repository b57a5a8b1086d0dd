import protobuf from 'protobufjs';

/**
 * The ONNX protobuf schema, written out from `onnx-ml.proto` of ONNX 1.12 (IR version 8), comments dropped.
 * We keep it here instead of loading a .proto file so nothing has to be copied next to the compiled code.
 *
 * Fields added by later ONNX versions (NodeProto.overload, the per-node/graph metadata_props, ...) are not declared:
 * decoding skips them, and every edit we make works on the raw bytes (./onnx-wire.ts), so they survive untouched.
 */
const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; SPARSE_TENSOR = 11; TYPE_PROTO = 13;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10; SPARSE_TENSORS = 12; TYPE_PROTOS = 14;
  }
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  optional SparseTensorProto sparse_tensor = 22;
  optional TypeProto tp = 14;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  repeated SparseTensorProto sparse_tensors = 23;
  repeated TypeProto type_protos = 15;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message TrainingInfoProto {
  optional GraphProto initialization = 1;
  optional GraphProto algorithm = 2;
  repeated StringStringEntryProto initialization_binding = 3;
  repeated StringStringEntryProto update_binding = 4;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
  repeated TrainingInfoProto training_info = 20;
  repeated FunctionProto functions = 25;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message TensorAnnotation {
  optional string tensor_name = 1;
  repeated StringStringEntryProto quant_parameter_tensor_names = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  repeated SparseTensorProto sparse_initializer = 15;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
  repeated TensorAnnotation quantization_annotation = 14;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0; FLOAT = 1; UINT8 = 2; INT8 = 3; UINT16 = 4; INT16 = 5; INT32 = 6; INT64 = 7; STRING = 8;
    BOOL = 9; FLOAT16 = 10; DOUBLE = 11; UINT32 = 12; UINT64 = 13; COMPLEX64 = 14; COMPLEX128 = 15; BFLOAT16 = 16;
  }
  message Segment {
    optional int64 begin = 1;
    optional int64 end = 2;
  }
  enum DataLocation {
    DEFAULT = 0; EXTERNAL = 1;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional Segment segment = 3;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  optional DataLocation data_location = 14;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
}

message SparseTensorProto {
  optional TensorProto values = 1;
  optional TensorProto indices = 2;
  repeated int64 dims = 3;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  message Sequence {
    optional TypeProto elem_type = 1;
  }
  message Map {
    optional int32 key_type = 1;
    optional TypeProto value_type = 2;
  }
  message Optional {
    optional TypeProto elem_type = 1;
  }
  message SparseTensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  message Opaque {
    optional string domain = 1;
    optional string name = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
    Sequence sequence_type = 4;
    Map map_type = 5;
    Optional optional_type = 9;
    SparseTensor sparse_tensor_type = 8;
    Opaque opaque_type = 7;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message FunctionProto {
  optional string name = 1;
  repeated string input = 4;
  repeated string output = 5;
  repeated string attribute = 6;
  repeated NodeProto node = 7;
  optional string doc_string = 8;
  repeated OperatorSetIdProto opset_import = 9;
  optional string domain = 10;
}
`;

// keepCase: field names stay as in onnx.proto (dim_param, op_type), so the ONNX docs read the same as this code.
const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;

/**
 * The schema for reading uploaded models: TensorProto without its data fields. Protobufjs skips fields a schema
 * does not declare without decoding them, so weights (and a crafted packed int64 field of 100 MB, which would
 * otherwise become ~13 million Long objects) are never materialised; reading a model needs only tensor names.
 */
const DATA_FIELDS =
  /^ {2}(?:repeated (?:float|int32|bytes|int64|double|uint64) \w+_data|optional bytes raw_data) = \d+.*$/gm;
/**
 * Likewise what reading never looks at: attribute tensors, subgraphs, float lists and types (readOnnxModel needs an
 * attribute's name and its ints or strings: class labels), training info and functions.
 */
const UNREAD_FIELDS = new RegExp(
  [
    String.raw`^ {2}(?:optional|repeated) (?:TensorProto|GraphProto|SparseTensorProto|TypeProto) (?:t|g|sparse_tensor|tp|tensors|graphs|sparse_tensors|type_protos) = \d+;$`,
    String.raw`^ {2}repeated float floats = 7;$`,
    String.raw`^ {2}repeated (?:TrainingInfoProto training_info|FunctionProto functions) = \d+;$`,
  ].join('|'),
  'gm',
);
const readRoot = protobuf.parse(ONNX_PROTO.replace(DATA_FIELDS, '').replace(UNREAD_FIELDS, ''), {
  keepCase: true,
}).root;

export const OnnxTypes = {
  ModelProto: root.lookupType('onnx.ModelProto'),
  GraphProto: root.lookupType('onnx.GraphProto'),
  NodeProto: root.lookupType('onnx.NodeProto'),
  ValueInfoProto: root.lookupType('onnx.ValueInfoProto'),
  StringStringEntryProto: root.lookupType('onnx.StringStringEntryProto'),
  OperatorSetIdProto: root.lookupType('onnx.OperatorSetIdProto'),
  TypeProto: root.lookupType('onnx.TypeProto'),
  TensorProto: root.lookupType('onnx.TensorProto'),
  AttributeProto: root.lookupType('onnx.AttributeProto'),
} as const;

/** ModelProto for reading only (see readRoot); never re-encode what it decodes, the weights are not in it. */
export const OnnxReadModelProto = readRoot.lookupType('onnx.ModelProto');

/** Field numbers the byte-level editor needs (onnx.proto). */
export const FIELD = {
  model: { graph: 7, opsetImport: 8, metadataProps: 14 },
  graph: { node: 1, output: 12, valueInfo: 13 },
} as const;

/** int64 fields decode to a `Long` (protobufjs uses the `long` package when it is installed) or a number. */
export interface Int64Like {
  toNumber(): number;
  toString(): string;
}
export type Int64 = number | Int64Like;

/** `TensorProto.DataType`. */
export const ONNX_ELEMENT_TYPE = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
} as const;

// The decoded shapes we read. protobufjs gives absent message fields as null, absent scalars as their default and
// absent repeated fields as []; `Object.hasOwn` tells whether an optional scalar was actually present.
export interface OnnxDimension {
  dim_value?: Int64;
  dim_param?: string;
  denotation?: string;
}
export interface OnnxTensorShape {
  dim: OnnxDimension[];
}
export interface OnnxTypeProto {
  tensor_type?: { elem_type: number; shape?: OnnxTensorShape | null } | null;
  sequence_type?: { elem_type?: OnnxTypeProto | null } | null;
  map_type?: { key_type: number; value_type?: OnnxTypeProto | null } | null;
  optional_type?: { elem_type?: OnnxTypeProto | null } | null;
  sparse_tensor_type?: { elem_type: number; shape?: OnnxTensorShape | null } | null;
  opaque_type?: { domain: string; name: string } | null;
  denotation?: string;
}
export interface OnnxValueInfo {
  name: string;
  type?: OnnxTypeProto | null;
  doc_string?: string;
}
export interface OnnxAttribute {
  name: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
}
export interface OnnxNode {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  domain: string;
  attribute: OnnxAttribute[];
  doc_string?: string;
}
export interface OnnxGraph {
  node: OnnxNode[];
  name: string;
  initializer: { name: string }[];
  sparse_initializer: { values?: { name: string } | null }[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  value_info: OnnxValueInfo[];
}
export interface OnnxOpsetId {
  domain: string;
  version: Int64;
}
export interface OnnxModelProto {
  ir_version: Int64;
  opset_import: OnnxOpsetId[];
  producer_name: string;
  producer_version: string;
  domain: string;
  model_version: Int64;
  doc_string: string;
  graph: OnnxGraph | null;
  metadata_props: { key: string; value: string }[];
}

export function int64ToNumber(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** An int64 as a JS number when it is exactly representable, else as its decimal string. */
export function int64ToValue(v: Int64): number | string {
  const n = int64ToNumber(v);
  return Number.isSafeInteger(n) ? n : v.toString();
}

export function has(obj: object | null | undefined, field: string): boolean {
  return !!obj && Object.hasOwn(obj, field);
}
