import {
  bufferFor,
  expected,
  type Feeds,
  InputError,
  makeTensor,
  type Outputs,
  preview,
  type ServedVersion,
  type ServingLimits,
  type Tensor,
} from '../../engine/index.js';
import { OIP_DATATYPE_OF_DTYPE, ZOipInferRequest, ZOipInferResponse, type TTensorSpec } from '@modelyard/contracts';
import { mediaTypeOf, MESSAGE_ERRORS, type PredictProtocol } from './protocol.js';
import sjson from 'secure-json-parse';
import { AppError } from '../../platform/errors.js';
import { elementBytes, tensorBytes, tensorDataFromBytes } from './oip-binary.js';
import { inputNames, isObject, jsonValues } from './row-format.format.js';
import { modelNameOf } from '../../tenancy/model-key.js';

/**
 * Open Inference Protocol v2 (KServe v2) REST, with the binary tensor extension (docs/ARCHITECTURE.md, Formats).
 *
 * Request: `{id?, parameters?, inputs: [{name, shape, datatype, parameters?, data}], outputs?: [{name}]}`. Every
 * input of the model must be given once, with the model's datatype, a shape that fits the model's (fixed dims
 * equal, batch dim at most MAX_ROWS_PER_REQUEST) and exactly shape-product values, flat or nested to the shape.
 * FP16 has no JSON form: it travels only as binary data.
 *
 * Binary tensor extension (as KServe and Triton define it): the body is a JSON header of
 * `Inference-Header-Content-Length` bytes followed by raw tensors (decodeOipBody). An input with
 * `parameters.binary_data_size` takes that many bytes of the tail instead of `data`, in input order (parseOip);
 * the sizes must add up to the tail exactly. `parameters.binary_data_output` (request) and per-output
 * `parameters.binary_data` ask for outputs the same way (renderOip): a JSON header whose binary outputs carry
 * `binary_data_size`, then their bytes. Other parameters are accepted and ignored.
 *
 * Precision policy for INT64/UINT64: JSON numbers are exact only up to 2^53. Inputs take JSON integers within
 * ±(2^53 - 1) or decimal strings for the full 64-bit range; a JSON number beyond 2^53 is refused (JSON.parse has
 * already rounded it). Outputs are numbers within ±(2^53 - 1) and decimal strings beyond, never rounded.
 */
export interface OipRequest {
  id: string | undefined;
  feeds: Feeds;
  /** The `outputs` filter; undefined = every output. */
  outputs: string[] | undefined;
  /** Whether an output is answered as raw bytes: its own `binary_data`, else the request's `binary_data_output`. */
  binaryOutput: (name: string) => boolean;
}

/** The extension's header: the byte length of the JSON part of a body (request or answer). */
export const INFERENCE_HEADER = 'inference-header-content-length';

export interface OipBody {
  /** The JSON part, parsed. */
  body: unknown;
  /** The raw tensor bytes after it; null when the body is all JSON (no Inference-Header-Content-Length). */
  tail: Buffer | null;
}

const JSON_PART = /^\d{1,15}$/;
const isMedia = (ct: string, mime: string) => ct === mime || ct.startsWith(`${mime};`);

/**
 * A raw infer body (a binary-extension request, or JSON sent as application/octet-stream or with no content type,
 * as Triton's client does) split into its JSON header and tensor tail. JSON is parsed as Fastify parses it:
 * `__proto__` and `constructor.prototype` keys are refused.
 */
export function decodeOipBody(
  raw: Buffer,
  contentType: string | undefined,
  headerLength: string | string[] | undefined,
): OipBody {
  const ct = contentType?.trim().toLowerCase();
  if (ct && !isMedia(ct, 'application/octet-stream') && !isMedia(ct, 'application/json')) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content type ${ct} is not taken here: send application/json, or application/octet-stream with the ` +
        'binary tensor extension',
    );
  }
  let n = raw.length;
  if (headerLength !== undefined) {
    const v = Array.isArray(headerLength) ? undefined : headerLength.trim();
    if (v === undefined || !JSON_PART.test(v)) {
      throw new InputError('Inference-Header-Content-Length must be one decimal byte count (the JSON part)');
    }
    n = Number(v);
    if (n === 0 || n > raw.length) {
      throw new InputError(
        `Inference-Header-Content-Length is ${n}, the body has ${raw.length} bytes: the JSON part must be within it`,
      );
    }
  }
  let body: unknown;
  try {
    body = sjson.parse(raw.toString('utf8', 0, n), null, { protoAction: 'error', constructorAction: 'error' });
  } catch (e) {
    // secure-json-parse throws a SyntaxError for a forbidden key too.
    const msg = e instanceof Error ? e.message : String(e);
    const why = /forbidden (prototype|constructor)/.test(msg) ? 'it has a __proto__ or constructor.prototype key' : msg;
    throw new InputError(`The JSON part of the body is not valid JSON (${why})`);
  }
  return { body, tail: headerLength === undefined ? null : raw.subarray(n) };
}

export const OIP_PLATFORM = 'onnx_onnxv1';
/** Bounds the recursion over nested data when a model does not declare its input rank. */
const MAX_RANK = 16;

/**
 * `tail`: the raw tensor bytes of a binary-extension body (decodeOipBody), which inputs with
 * `parameters.binary_data_size` read in order; null or absent for an all-JSON body.
 */
export function parseOip(
  body: unknown,
  sv: ServedVersion,
  limits: ServingLimits,
  tail: Buffer | null = null,
): OipRequest {
  if (!isObject(body)) throw new InputError('The body must be a JSON object with an "inputs" list');
  const { id, inputs, outputs, parameters } = body as {
    id?: unknown;
    inputs?: unknown;
    outputs?: unknown;
    parameters?: unknown;
  };
  if (id !== undefined && typeof id !== 'string') throw new InputError('"id" must be a string');
  const binaryDefault = flag(parameters, 'binary_data_output', '"parameters"') ?? false;
  if (!Array.isArray(inputs) || inputs.length === 0)
    throw new InputError('"inputs" must be a non-empty list of tensors');
  const sig = sv.signature;
  const feeds: Feeds = {};
  const cursor = { tail, at: 0 };
  for (let i = 0; i < inputs.length; i++) {
    const input: unknown = inputs[i];
    if (!isObject(input)) throw new InputError(`inputs[${i}] must be an object with name, shape, datatype and data`);
    const name = input.name;
    if (typeof name !== 'string') throw new InputError(`inputs[${i}].name must be a string`);
    const spec = sig.inputs.find((s) => s.name === name);
    if (!spec) throw new InputError(`Unknown input "${name}" (the model takes ${inputNames(sig)})`);
    if (feeds[name]) throw new InputError(`Input "${name}" is given twice`);
    feeds[name] = tensorOf(spec, input, limits, cursor);
  }
  for (const spec of sig.inputs) {
    if (!feeds[spec.name]) throw new InputError(`Input "${spec.name}" is missing (the model takes ${inputNames(sig)})`);
  }
  if (tail && cursor.at !== tail.length) {
    throw new InputError(
      `The binary part of the body has ${tail.length} bytes, the inputs' binary_data_size add up to ${cursor.at}`,
    );
  }
  const filter = outputFilter(outputs, sv, binaryDefault);
  return {
    id,
    feeds,
    outputs: filter.names,
    binaryOutput: (n) => filter.binary.get(n) ?? binaryDefault,
  };
}

/** A boolean in a `parameters` object, or undefined when absent; a `parameters` that is no object is refused. */
function flag(parameters: unknown, key: string, where: string): boolean | undefined {
  if (parameters === undefined) return undefined;
  if (!isObject(parameters)) throw new InputError(`${where} must be an object`);
  const v = parameters[key];
  if (v !== undefined && typeof v !== 'boolean') throw new InputError(`${where}.${key} must be true or false`);
  return v;
}

/** Where the next binary input starts in the tail. */
interface Cursor {
  tail: Buffer | null;
  at: number;
}

function tensorOf(spec: TTensorSpec, input: Record<string, unknown>, limits: ServingLimits, cursor: Cursor): Tensor {
  const { datatype, shape, data, parameters } = input;
  const want = OIP_DATATYPE_OF_DTYPE[spec.dtype];
  const what = `Input "${spec.name}"`;
  if (parameters !== undefined && !isObject(parameters)) throw new InputError(`${what}: parameters must be an object`);
  const binarySize = parameters?.binary_data_size;
  if ((datatype === 'FP16' || want === 'FP16') && binarySize === undefined)
    throw new InputError(`${what}: FP16 has no JSON form (send it as binary data, with binary_data_size)`);
  if (datatype !== want) throw new InputError(`${what} has datatype ${want}, got ${preview(datatype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new InputError(`Input "${spec.name}": shape must be a list of non-negative integers`);
  }
  const dims = shape as number[];
  if (dims.length > MAX_RANK)
    throw new InputError(`Input "${spec.name}": shape has ${dims.length} dims (at most ${MAX_RANK})`);
  const declared = spec.shape;
  if (declared.length && (dims.length !== declared.length || declared.some((d, k) => d >= 0 && d !== dims[k]))) {
    throw new InputError(
      `Input "${spec.name}": shape [${dims.join(', ')}] does not fit the model's [${declared.join(', ')}]`,
    );
  }
  if (dims.length && dims[0]! > limits.maxRows)
    throw new InputError(`Input "${spec.name}": ${dims[0]} rows (the limit is ${limits.maxRows} per request)`);
  if (dims.length && dims[0] === 0) throw new InputError(`Input "${spec.name}": no rows to predict`);
  const size = dims.reduce((a, b) => a * b, 1);
  if (binarySize !== undefined) return binaryTensor(spec, dims, size, binarySize, data, cursor);
  if (!Array.isArray(data)) throw new InputError(`Input "${spec.name}": data must be a list`);
  // Flat data is counted directly; nested data must follow the shape at every level. Either way the sizes
  // agree before anything is allocated, so a huge declared shape costs nothing.
  const flat = !Array.isArray(data[0]);
  if (flat ? data.length !== size : !fitsShape(data, dims, 0)) {
    throw new InputError(
      `Input "${spec.name}": shape [${dims.join(', ')}] needs ${size} values in data${flat ? `, got ${data.length}` : ' (nested to that shape, or flat)'}`,
    );
  }
  const buf = bufferFor(spec, size);
  let at = 0;
  const write = (values: unknown[], depth: number) => {
    for (const v of values) {
      if (!flat && depth < dims.length - 1) write(v as unknown[], depth + 1);
      else if (!buf.set(at++, v))
        throw new InputError(`Input "${spec.name}": element ${at - 1} must be ${expected(spec)}, got ${preview(v)}`);
    }
  };
  write(data, 0);
  return makeTensor(spec, buf.data, dims);
}

/** An input whose data is the next `binarySize` bytes of the tail: exactly shape x element size for fixed types. */
function binaryTensor(
  spec: TTensorSpec,
  dims: number[],
  size: number,
  binarySize: unknown,
  data: unknown,
  cursor: Cursor,
): Tensor {
  const what = `Input "${spec.name}"`;
  if (!Number.isSafeInteger(binarySize) || (binarySize as number) < 0)
    throw new InputError(`${what}: binary_data_size must be a non-negative integer, got ${preview(binarySize)}`);
  const n = binarySize as number;
  if (data !== undefined) throw new InputError(`${what}: give either data or binary_data_size, not both`);
  const tail = cursor.tail;
  if (!tail) {
    throw new InputError(
      `${what} has binary_data_size but the body has no binary part: send the Inference-Header-Content-Length ` +
        "header with the JSON part's length",
    );
  }
  const width = elementBytes(spec.dtype);
  if (width !== undefined && n !== size * width) {
    throw new InputError(
      `${what}: shape [${dims.join(', ')}] of ${OIP_DATATYPE_OF_DTYPE[spec.dtype]} needs ${size * width} bytes, ` +
        `binary_data_size is ${n}`,
    );
  }
  if (cursor.at + n > tail.length) {
    throw new InputError(
      `${what}: binary_data_size is ${n}, only ${tail.length - cursor.at} bytes of binary data left`,
    );
  }
  const bytes = tail.subarray(cursor.at, cursor.at + n);
  cursor.at += n;
  return makeTensor(spec, tensorDataFromBytes(spec.dtype, bytes, size, what), dims);
}

/** Nested data: a list of dims[depth] elements at every level, scalars below the last dim. */
function fitsShape(v: unknown[], dims: readonly number[], depth: number): boolean {
  if (v.length !== dims[depth]) return false;
  if (depth === dims.length - 1) return true;
  for (const x of v) if (!Array.isArray(x) || !fitsShape(x, dims, depth + 1)) return false;
  return true;
}

function outputFilter(outputs: unknown, sv: ServedVersion, binaryDefault: boolean) {
  const binary = new Map<string, boolean>();
  if (outputs === undefined) return { names: undefined, binary };
  if (!Array.isArray(outputs)) throw new InputError('"outputs" must be a list of {"name": ...} objects');
  if (outputs.length === 0) return { names: undefined, binary };
  const names: string[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const o: unknown = outputs[i];
    if (!isObject(o) || typeof o.name !== 'string')
      throw new InputError(`outputs[${i}] must be an object with a string "name"`);
    if (names.includes(o.name)) throw new InputError(`Output "${o.name}" is requested twice`);
    const own = flag(o.parameters, 'binary_data', `outputs[${i}].parameters`);
    if (own !== undefined) binary.set(o.name, own);
    // Unknown names are refused by the engine (PredictionService.run), with the list of known ones.
    if (sv.signature.outputs.find((s) => s.name === o.name)?.dtype === 'float16' && !(own ?? binaryDefault))
      throw new InputError(`Output "${o.name}" is FP16, which has no JSON form (ask for it with binary_data)`);
    names.push(o.name);
  }
  return { names, binary };
}

/** A binary-extension answer: the JSON header (`headerLength` bytes) followed by the binary outputs' bytes. */
export class OipBinaryAnswer {
  constructor(
    readonly bytes: Buffer,
    readonly headerLength: number,
  ) {}

  /** The HTTP headers that go with it. */
  headers(): Record<string, string> {
    return { 'content-type': 'application/octet-stream', [INFERENCE_HEADER]: String(this.headerLength) };
  }
}

/**
 * The infer answer. Without `binaryOutput` (or when it says no for every output) it is the JSON object; when
 * some output is asked for as binary, an OipBinaryAnswer whose header gives those outputs `binary_data_size`
 * instead of `data`, their bytes following in output order.
 */
export function renderOip(
  sv: ServedVersion,
  outputs: Outputs,
  names: readonly string[],
  id: string,
): ReturnType<typeof renderOipJson>;
export function renderOip(
  sv: ServedVersion,
  outputs: Outputs,
  names: readonly string[],
  id: string,
  binaryOutput: (name: string) => boolean,
): ReturnType<typeof renderOipJson> | OipBinaryAnswer;
export function renderOip(
  sv: ServedVersion,
  outputs: Outputs,
  names: readonly string[],
  id: string,
  binaryOutput?: (name: string) => boolean,
) {
  if (!binaryOutput || !names.some(binaryOutput)) return renderOipJson(sv, outputs, names, id);
  const raw: Buffer[] = [];
  const header = {
    model_name: modelNameOf(sv.model),
    model_version: String(sv.version),
    id,
    outputs: names.map((name) => {
      const t = outputs[name]!;
      const datatype = OIP_DATATYPE_OF_DTYPE[t.type as keyof typeof OIP_DATATYPE_OF_DTYPE];
      const head = { name, datatype, shape: t.dims };
      if (!binaryOutput(name)) return { ...head, data: jsonValues(t) };
      const bytes = tensorBytes(t);
      raw.push(bytes);
      return { ...head, parameters: { binary_data_size: bytes.length } };
    }),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return new OipBinaryAnswer(Buffer.concat([json, ...raw]), json.length);
}

function renderOipJson(sv: ServedVersion, outputs: Outputs, names: readonly string[], id: string) {
  return {
    model_name: modelNameOf(sv.model),
    model_version: String(sv.version),
    id,
    outputs: names.map((name) => {
      const t = outputs[name]!;
      return {
        name,
        datatype: OIP_DATATYPE_OF_DTYPE[t.type as keyof typeof OIP_DATATYPE_OF_DTYPE],
        shape: t.dims,
        data: jsonValues(t),
      };
    }),
  };
}

/** Model metadata: the servable inputs and outputs with OIP datatypes, -1 for open dims. */
export function renderOipMetadata(sv: ServedVersion, versions: readonly number[]) {
  const meta = (s: TTensorSpec) => ({ name: s.name, datatype: OIP_DATATYPE_OF_DTYPE[s.dtype], shape: s.shape });
  return {
    name: modelNameOf(sv.model),
    versions: versions.map(String),
    platform: OIP_PLATFORM,
    inputs: sv.signature.inputs.map(meta),
    outputs: sv.signature.outputs.filter((o) => sv.outputNames.includes(o.name)).map(meta),
  };
}

/** OIP v2 inference: `POST /v2/models/{name}[/versions/{v}]/infer`; errors `{"error": "..."}`. */
export const OIP_V2_PROTOCOL: PredictProtocol<'oip-v2'> = {
  name: 'oip-v2',
  formerNames: ['v2'],
  tag: { name: 'oip-v2', description: 'Open Inference Protocol v2 (KServe v2): health, metadata, inference' },
  routes: [
    {
      path: '/v2/models/{name}/infer',
      target: 'model',
      operationId: 'oipInfer',
      summary: 'OIP v2 inference (JSON or binary tensors)',
    },
    {
      path: '/v2/models/{name}/versions/{version}/infer',
      // OIP clients pass model_version as a string: `champion` names an alias as a number names a version.
      target: 'version-or-alias',
      operationId: 'oipInferVersion',
      summary: 'OIP v2 inference on one version, or on the version an alias points to',
    },
  ],
  request: ZOipInferRequest,
  response: ZOipInferResponse,
  mediaTypes: ['application/json', 'application/octet-stream'],
  /**
   * The binary tensor extension's bodies are read as bytes: `application/octet-stream` (KServe's client), no
   * Content-Type (Triton's), or any JSON part framed by Inference-Header-Content-Length; decodeOipBody splits them.
   */
  bodyKind: (contentType, headers) => {
    const media = mediaTypeOf(contentType);
    if (media === 'application/json' && headers?.[INFERENCE_HEADER] === undefined) return 'json';
    if (media === 'application/json' || media === 'application/octet-stream' || media === '') return 'bytes';
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content type ${media} is not taken here: send application/json, or application/octet-stream with the ` +
        'binary tensor extension',
    );
  },
  requestHeaders: [
    {
      name: 'Inference-Header-Content-Length',
      description: 'The binary tensor extension: the byte length of the JSON part; the raw tensors follow it',
    },
  ],
  errors: MESSAGE_ERRORS,
  prepare: (sv, req, limits) => {
    let { body } = req;
    let tail: Buffer | null = null;
    if (Buffer.isBuffer(body)) ({ body, tail } = decodeOipBody(body, req.contentType, req.headers?.[INFERENCE_HEADER]));
    const p = parseOip(body, sv, limits, tail);
    const names = p.outputs ?? sv.outputNames;
    const id = p.id ?? req.requestId;
    return {
      feeds: p.feeds,
      outputs: p.outputs,
      render: (out) => renderOip(sv, out, names, id),
      // Only when an output was asked for as raw bytes (binary_data_output, or its own binary_data).
      renderRaw: names.some(p.binaryOutput)
        ? (out) => {
            const a = renderOip(sv, out, names, id, p.binaryOutput);
            return a instanceof OipBinaryAnswer ? { bytes: a.bytes, headers: a.headers() } : null;
          }
        : undefined,
    };
  },
};
