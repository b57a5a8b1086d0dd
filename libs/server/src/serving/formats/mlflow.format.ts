import {
  bufferFor,
  expected,
  type Feeds,
  feedsFromNamedArrays,
  feedsFromRowArrays,
  InputError,
  makeTensor,
  nest,
  type Outputs,
  preview,
  type ServedVersion,
  type ServingLimits,
  type Tensor,
} from '../../engine/index.js';
import {
  ZMlflowError,
  ZMlflowInvocationsRequest,
  ZMlflowInvocationsResponse,
  type ErrorCode,
  type TSignature,
  type TTensorSpec,
} from '@modelyard/contracts';
import type { PredictProtocol, ProtocolErrors } from './protocol.js';
import { AppError } from '../../platform/errors.js';
import { classifierView } from './modelyard.format.js';
import {
  checkRowCount,
  feedsFromColumns,
  feedsFromInstances,
  inputNames,
  isObject,
  jsonValues,
  rowsOf,
} from './row-format.format.js';

/**
 * MLflow scoring protocol (`mlflow models serve`, MLflow >= 2.0; PROTOCOLS.md section 2).
 *
 * JSON (charset utf-8) with exactly one of `dataframe_split`, `dataframe_records`, `instances`, `inputs`, plus an
 * optional `params` dictionary (accepted, ignored: ONNX models take no inference parameters). Any other key,
 * `signature_name` included, is refused as MLflow refuses it. Or `text/csv` with a header row, parsed here (RFC
 * 4180: quoted fields, `""` escapes; blank lines skipped) and typed by each column's input dtype.
 *
 * Answer: `{"predictions": [...]}`. Classifiers answer one label per row, which is what MLflow's sklearn flavor
 * returns (pyfunc `predict` is the estimator's `predict`, not `predict_proba`); ask another format for
 * probabilities. Other models answer their output per row (`[N]` and `[N, 1]` as plain values, like a sklearn
 * regressor), or one `{output: value}` record per row when the model has several outputs.
 */
export type MlflowBodyKind = 'json' | 'csv';

const FORMAT_KEYS: readonly string[] = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'];
export const MLFLOW_REQUIRED_INPUT_FORMAT =
  "The input must be a JSON dictionary with exactly one of the input fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}";

/** The body kind from Content-Type; 415 for anything but JSON or CSV, or a charset other than utf-8. */
export function mlflowBodyKind(contentType: string | undefined): MlflowBodyKind {
  const [mime = '', ...params] = (contentType ?? '').split(';');
  for (const p of params) {
    const [k, v = ''] = p.split('=');
    if (
      k!.trim().toLowerCase() === 'charset' &&
      v
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase() !== 'utf-8'
    ) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The scoring server only supports UTF-8');
    }
  }
  switch (mime.trim().toLowerCase()) {
    case 'application/json':
      return 'json';
    case 'text/csv':
      return 'csv';
    default:
      throw new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Content-Type must be one of application/json, text/csv; got ${preview(contentType ?? 'none')}`,
      );
  }
}

export function parseMlflow(body: unknown, kind: MlflowBodyKind, sv: ServedVersion, limits: ServingLimits): Feeds {
  const sig = sv.signature;
  if (kind === 'csv') {
    if (typeof body !== 'string' || body === '')
      throw new InputError('The CSV body is empty; send a header row and one row per example');
    const { columns, rows } = parseCsv(body, limits.maxRows);
    return feedsFromTable(sig, columns, rows, true, limits);
  }
  if (!isObject(body)) {
    throw new InputError(
      `${MLFLOW_REQUIRED_INPUT_FORMAT}. Received ${Array.isArray(body) ? 'a list' : `unexpected input type '${body === null ? 'null' : typeof body}'`}.`,
    );
  }
  let format: string | undefined;
  let formats = 0;
  let unknown = false;
  for (const k in body) {
    if (FORMAT_KEYS.includes(k)) {
      formats++;
      format = k;
    } else if (k !== 'params') unknown = true;
  }
  if (formats !== 1 || unknown) {
    const keys = Object.keys(body);
    const shown =
      keys
        .slice(0, 10)
        .map((k) => `'${k.slice(0, 40)}'`)
        .join(', ') + (keys.length > 10 ? ', …' : '');
    throw new InputError(`${MLFLOW_REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: [${shown}].`);
  }
  if (body.params !== undefined && !isObject(body.params)) throw new InputError('"params" must be a dictionary');
  const data = body[format!];
  switch (format) {
    case 'dataframe_split': {
      if (!isObject(data))
        throw new InputError('"dataframe_split" must be an object with "columns" and "data" (pandas orient="split")');
      return feedsFromTable(sig, data.columns, data.data, false, limits);
    }
    case 'dataframe_records':
      if (!Array.isArray(data) || !data.every(isObject))
        throw new InputError('"dataframe_records" must be a list of {column: value} records');
      return feedsFromInstances(sig, data, limits);
    case 'instances':
      return feedsFromInstances(sig, data, limits);
    default:
      // `inputs` keyed by input name is a tensor per input; keyed by feature name it is one column per feature.
      if (isObject(data) && !sig.inputs.some((s) => Object.hasOwn(data, s.name)))
        return feedsFromFeatureColumns(sig, data, limits);
      return feedsFromColumns(sig, data, limits);
  }
}

export function renderMlflow(sv: ServedVersion, outputs: Outputs) {
  if (sv.labelOutput || sv.probabilityOutput) return { predictions: classifierView(sv, outputs).predictions };
  const names = sv.outputNames;
  if (names.length > 1) return { predictions: rowsOf(names, outputs) };
  const t = outputs[names[0]!]!;
  const values = jsonValues(t);
  const perRow = t.dims.length <= 1 || (t.dims.length === 2 && t.dims[1] === 1);
  return { predictions: perRow ? values : nest(values, t.dims) };
}

/**
 * A table (dataframe_split or CSV): columns matched to each input's feature names, or to input names, or, for a
 * single-input model without feature names, taken in order. CSV cells are typed by the input they feed.
 */
export function feedsFromTable(
  sig: TSignature,
  columns: unknown,
  data: unknown,
  text: boolean,
  limits: ServingLimits,
): Feeds {
  if (!Array.isArray(data)) throw new InputError('"data" must be a list of rows');
  checkRowCount(data.length, limits);
  if (columns === undefined) return feedsFromRowArrays(sig, data, limits);
  if (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string'))
    throw new InputError('"columns" must be a list of column names');
  const index = new Map<string, number>();
  columns.forEach((c: string, k) => {
    if (index.has(c)) throw new InputError(`Column "${c.slice(0, 40)}" appears twice`);
    index.set(c, k);
  });
  const width = columns.length;
  const rows = data as unknown[][];
  for (let r = 0; r < rows.length; r++) {
    const row: unknown = rows[r];
    if (!Array.isArray(row) || row.length !== width)
      throw new InputError(`Row ${r}: expected a list of ${width} values (one per column)`);
  }
  const cell = text
    ? (spec: TTensorSpec, v: unknown) => textValue(spec, v as string)
    : (_: TTensorSpec, v: unknown) => v;
  const feeds: Feeds = {};
  if (sig.inputs.every((s) => s.columns?.length)) {
    for (const spec of sig.inputs) {
      const at = spec.columns!.map((c) => {
        const k = index.get(c);
        if (k === undefined)
          throw new InputError(`Column "${c}" is missing (input "${spec.name}" takes ${spec.columns!.join(', ')})`);
        return k;
      });
      feeds[spec.name] = featureTensor(spec, rows.length, (r, c) => cell(spec, rows[r]![at[c]!]));
    }
    return feeds;
  }
  if (sig.inputs.every((s) => index.has(s.name))) {
    const named: Record<string, unknown> = {};
    for (const spec of sig.inputs) {
      const k = index.get(spec.name)!;
      named[spec.name] = rows.map((row) => cell(spec, row[k]));
    }
    return feedsFromNamedArrays(sig, named, limits);
  }
  if (sig.inputs.length === 1) {
    const spec = sig.inputs[0]!;
    return feedsFromRowArrays(sig, text ? rows.map((row) => row.map((v) => cell(spec, v))) : rows, limits);
  }
  throw new InputError(`The columns match neither the model's feature names nor its inputs (${inputNames(sig)})`);
}

/** `inputs: {feature: [value per row]}`: one column per feature name. */
function feedsFromFeatureColumns(sig: TSignature, cols: Record<string, unknown>, limits: ServingLimits): Feeds {
  if (!sig.inputs.every((s) => s.columns?.length))
    throw new InputError(`"inputs" must be keyed by input name (${inputNames(sig)})`);
  let n: number | undefined;
  for (const spec of sig.inputs) {
    for (const c of spec.columns!) {
      const col = cols[c];
      if (!Array.isArray(col)) throw new InputError(`Column "${c}" is missing or not a list of values`);
      if (n !== undefined && col.length !== n)
        throw new InputError(`Columns have different lengths (${n} and ${col.length})`);
      n = col.length;
    }
  }
  checkRowCount(n!, limits);
  const feeds: Feeds = {};
  for (const spec of sig.inputs) {
    const columns = spec.columns!.map((c) => cols[c] as unknown[]);
    feeds[spec.name] = featureTensor(spec, n!, (r, c) => columns[c]![r]);
  }
  return feeds;
}

/** One input's [n, features] tensor, each value checked as it is written. */
function featureTensor(spec: TTensorSpec, n: number, value: (row: number, col: number) => unknown): Tensor {
  const cols = spec.columns!;
  const w = cols.length;
  const buf = bufferFor(spec, n * w);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < w; c++) {
      const v = value(r, c);
      if (v === undefined) throw new InputError(`Row ${r}: feature "${cols[c]}" is missing`);
      if (!buf.set(r * w + c, v))
        throw new InputError(`Row ${r}: feature "${cols[c]}" must be ${expected(spec)}, got ${preview(v)}`);
    }
  }
  const rest = spec.shape.slice(1);
  const fixed = rest.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
  return makeTensor(spec, buf.data, [n, ...rest.map((d) => (d >= 0 ? d : w / fixed))]);
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A CSV cell as the input's dtype wants it; anything that does not parse is left as text for bufferFor to refuse. */
function textValue(spec: TTensorSpec, cell: string): unknown {
  if (spec.dtype === 'string') return cell;
  const s = cell.trim();
  if (s === '') return undefined;
  if (spec.dtype === 'bool') return /^(true|1)$/i.test(s) ? true : /^(false|0)$/i.test(s) ? false : s;
  // Decimal strings keep int64 exact beyond 2^53 (bufferFor parses them as BigInt).
  if ((spec.dtype === 'int64' || spec.dtype === 'uint64') && /^-?\d+$/.test(s)) return s;
  return NUMBER.test(s) ? Number(s) : s;
}

/**
 * RFC 4180 CSV, strictly: fields separated by commas, records by CRLF or LF, a field either plain (no quotes) or
 * wholly quoted with `""` for a quote. The first record is the header. Blank lines are skipped (as pandas does).
 */
export function parseCsv(text: string, maxRows: number): { columns: string[]; rows: string[][] } {
  const records: string[][] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < n) {
    const record: string[] = [];
    for (;;) {
      if (text.charCodeAt(i) === QUOTE) {
        let value = '';
        let from = i + 1;
        for (;;) {
          const q = text.indexOf('"', from);
          if (q < 0) throw new InputError(`${where(records.length)}: a quoted field is not closed`);
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += text.slice(from, q + 1);
            from = q + 2;
            continue;
          }
          value += text.slice(from, q);
          i = q + 1;
          break;
        }
        const c = text.charCodeAt(i);
        if (i < n && c !== COMMA && c !== LF && c !== CR)
          throw new InputError(`${where(records.length)}: text after a closing quote`);
        record.push(value);
      } else {
        let j = i;
        for (; j < n; j++) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === LF || c === CR) break;
          if (c === QUOTE)
            throw new InputError(`${where(records.length)}: a quote inside an unquoted field (quote the whole field)`);
        }
        record.push(text.slice(i, j));
        i = j;
      }
      if (text.charCodeAt(i) !== COMMA) break;
      i++;
    }
    if (text.charCodeAt(i) === CR) i++;
    if (text.charCodeAt(i) === LF) i++;
    if (record.length === 1 && record[0] === '') continue;
    records.push(record);
    if (records.length > maxRows + 1) throw new InputError(`Too many rows (the limit is ${maxRows} per request)`);
  }
  const columns = records.shift();
  if (!columns) throw new InputError('The CSV body has no header row');
  return { columns, rows: records };
}

const where = (recordsSoFar: number) => (recordsSoFar ? `CSV row ${recordsSoFar - 1}` : 'CSV header');
const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/** MLflow's databricks error codes (mlflow/protos/databricks.proto) for our statuses. */
const MLFLOW_CODE: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'RESOURCE_DOES_NOT_EXIST',
  409: 'RESOURCE_ALREADY_EXISTS',
  413: 'BAD_REQUEST',
  415: 'BAD_REQUEST',
  429: 'REQUEST_LIMIT_EXCEEDED',
  500: 'INTERNAL_ERROR',
  503: 'TEMPORARILY_UNAVAILABLE',
};

/**
 * MLflow's error shape, `{"error_code": "<databricks code>", "message": "..."}`, with our status codes kept. Where
 * a status alone says too little for MLflow's clients, the error decides: the MLflow-compatible registry
 * (apps/api/src/mlflow) names INVALID_PARAMETER_VALUE or INVALID_STATE in an AppError's `details.mlflowErrorCode`
 * (a 409 is already RESOURCE_ALREADY_EXISTS, which `mlflow.register_model` waits for to add a version).
 */
export const MLFLOW_ERRORS: ProtocolErrors = {
  body: (status: number, _code: ErrorCode, message: string, details?: unknown) => {
    const named = (details as { mlflowErrorCode?: unknown } | undefined)?.mlflowErrorCode;
    return { error_code: typeof named === 'string' ? named : (MLFLOW_CODE[status] ?? 'BAD_REQUEST'), message };
  },
  schema: ZMlflowError,
  responsePrefix: 'Mlflow',
};

/**
 * MLflow scoring on a model's Production version (`mlflow models serve`'s `/invocations`), or an alias's. Every output is
 * fetched (not just the labels): an outputs filter would take the request out of micro-batching.
 */
export const MLFLOW_PROTOCOL: PredictProtocol<'mlflow'> = {
  name: 'mlflow',
  tag: {
    name: 'mlflow',
    description:
      'MLflow: scoring (`/invocations`), and the model registry, runs and proxied artifacts (`/api/2.0/mlflow/...`) ' +
      'for MLflow clients (MLFLOW_TRACKING_URI is the api, MLFLOW_TRACKING_TOKEN an API key)',
  },
  routes: [
    {
      path: '/v1/models/{name}/invocations',
      target: 'model',
      operationId: 'mlflowInvocations',
      summary: 'MLflow scoring (JSON or CSV)',
    },
    {
      // MLflow names a version by alias as `models:/{name}@{alias}`; its scoring server has no such path.
      path: '/v1/models/{name}/aliases/{alias}/invocations',
      target: 'alias',
      operationId: 'mlflowInvocationsAlias',
      summary: 'MLflow scoring on the version an alias points to',
    },
  ],
  request: ZMlflowInvocationsRequest,
  response: ZMlflowInvocationsResponse,
  mediaTypes: ['application/json', 'text/csv'],
  bodyKind: (contentType) => (mlflowBodyKind(contentType) === 'csv' ? 'text' : 'json'),
  errors: MLFLOW_ERRORS,
  prepare: (sv, req, limits) => ({
    feeds: parseMlflow(req.body, mlflowBodyKind(req.contentType), sv, limits),
    render: (out) => renderMlflow(sv, out),
  }),
};
