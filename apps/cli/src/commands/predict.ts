import { readFileSync } from 'node:fs';
import { OIP_DATATYPE_OF_DTYPE, ZSignature, ZStage, type ModelyardClient, type TSignature } from '@modelyard/contracts';
import { apiClient, apiUrl, type CliConfig } from '../config.js';
import { send } from '../http.js';
import { UsageError, type Io } from '../output.js';
import { FailedError } from './models.js';

export const FORMATS = ['modelyard', 'mlflow', 'oip-v2', 'tfs'] as const;
export type Format = (typeof FORMATS)[number];

export interface PredictOpts {
  version?: string;
  alias?: string;
  stage?: string;
  format?: string;
}

/** What the input was: a request body of some format (sent as is), or rows to wrap in one. */
export type PredictInput =
  { kind: 'body'; format: Format; body: Record<string, unknown> } | { kind: 'rows'; rows: unknown[]; csv?: string };

/** The top-level keys each format's request takes (a body with one of them is sent unchanged). */
const BODY_KEYS: Record<Format, readonly string[]> = {
  modelyard: ['payload'],
  mlflow: ['dataframe_split', 'dataframe_records', 'instances', 'inputs'],
  tfs: ['instances', 'inputs'],
  'oip-v2': ['inputs'],
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The format a request body is written in, or undefined when it is not a request body. */
export function formatOfBody(body: Record<string, unknown>): Format | undefined {
  if ('payload' in body) return 'modelyard';
  if ('dataframe_split' in body || 'dataframe_records' in body) return 'mlflow';
  if ('instances' in body) return 'tfs';
  if (Array.isArray(body.inputs)) {
    return body.inputs.length > 0 && body.inputs.every((t) => isRecord(t) && 'datatype' in t) ? 'oip-v2' : 'tfs';
  }
  if (isRecord(body.inputs)) return 'tfs';
  return undefined;
}

/** Input text as JSON (a body, a list of rows, or one record), JSON Lines, or CSV with a header row. */
export function parseInput(text: string, source: string): PredictInput {
  const t = text.trim();
  if (!t) throw new UsageError(`${source} is empty`);
  if (t.startsWith('{') || t.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(t);
    } catch (e) {
      const lines = t
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      try {
        if (lines.length < 2) throw e;
        return { kind: 'rows', rows: lines.map((l) => JSON.parse(l) as unknown) };
      } catch {
        throw new UsageError(`${source} is not valid JSON: ${(e as Error).message}`);
      }
    }
    if (Array.isArray(json)) return { kind: 'rows', rows: json };
    const body = json as Record<string, unknown>;
    const format = formatOfBody(body);
    return format ? { kind: 'body', format, body } : { kind: 'rows', rows: [body] };
  }
  return { kind: 'rows', rows: csvRecords(t), csv: `${t}\n` };
}

/** RFC 4180 CSV (quoted fields, "" escapes) to records; values that read as numbers become numbers. */
export function csvRecords(text: string): Record<string, string | number>[] {
  const table: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.length > 1 || row[0] !== '') table.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new UsageError('the CSV input ends inside a quoted field');
  row.push(field);
  if (row.length > 1 || row[0] !== '') table.push(row);
  const [header, ...rows] = table;
  if (!header || rows.length === 0) throw new UsageError('the CSV input needs a header row and at least one row');
  return rows.map((cells, r) => {
    if (cells.length !== header.length) {
      throw new UsageError(`CSV row ${r + 1} has ${cells.length} fields, the header has ${header.length}`);
    }
    return Object.fromEntries(
      header.map((h, i) => {
        const v = cells[i]!;
        const n = Number(v);
        return [h, v.trim() !== '' && Number.isFinite(n) ? n : v];
      }),
    );
  });
}

async function readSource(file: string | undefined): Promise<{ text: string; source: string }> {
  if (file && file !== '-') {
    try {
      return { text: readFileSync(file, 'utf8'), source: file };
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
  }
  if (!file && process.stdin.isTTY) throw new UsageError('give a FILE, or - and rows on stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return { text: Buffer.concat(chunks).toString('utf8'), source: 'stdin' };
}

function positive(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 2_147_483_647) {
    throw new UsageError(`--${what} must be a positive whole number`);
  }
  return n;
}

/** The version a label (alias) points to, read through the TF Serving status route a predict key may use. */
async function aliasVersion(cfg: CliConfig, model: string, alias: string): Promise<number> {
  const res = await send(apiUrl(cfg, `v1/models/${enc(model)}/labels/${enc(alias)}`), cfg, { method: 'GET' });
  const body = (await res.json()) as { model_version_status?: { version?: string }[] };
  const n = Number(body.model_version_status?.[0]?.version);
  if (!Number.isInteger(n)) throw new FailedError(`${model}@${alias}: the API named no version`);
  return n;
}

/** OIP v2 tensors from rows: records by the version's feature names, or value lists for a single input. */
export function oipFromRows(sig: TSignature, rows: unknown[]): Record<string, unknown> {
  if (rows.length === 0) throw new UsageError('no rows to predict on');
  const records = rows.every(isRecord);
  if (!records && sig.inputs.length > 1) {
    throw new UsageError('this model has several inputs: send records, or an OIP v2 body with one tensor per input');
  }
  const inputs = sig.inputs.map((spec) => {
    let data: unknown[];
    let width: number;
    if (records) {
      const cols = spec.columns;
      if (!cols?.length) throw new UsageError(`input "${spec.name}" has no feature names: send rows as value lists`);
      data = rows.flatMap((r) => cols.map((c) => (r as Record<string, unknown>)[c]));
      width = cols.length;
    } else {
      const flat = rows.map((r) => (Array.isArray(r) ? r.flat(Infinity) : [r]));
      data = flat.flat();
      width = flat[0]!.length;
    }
    const rest = spec.shape.slice(1).map((d) => (d === -1 ? width : d));
    return { name: spec.name, datatype: OIP_DATATYPE_OF_DTYPE[spec.dtype], shape: [rows.length, ...rest], data };
  });
  return { inputs };
}

async function signatureOf(api: ModelyardClient, model: string, version: number | undefined): Promise<TSignature> {
  const n = version ?? (await api.getModel(model)).productionVersion;
  if (!n) throw new FailedError(`${model} has no Production version: pass --version or --alias`);
  const sig = ZSignature.safeParse((await api.getVersion(model, n)).signature);
  if (!sig.success) throw new FailedError(`${model} v${n} has no usable signature: send an OIP v2 request body`);
  return sig.data;
}

/**
 * `predict MODEL [FILE|-]`: one request in the chosen (or the input's own) format, on the route that selects the
 * version asked for; the API's answer goes to stdout as JSON.
 */
export async function predict(io: Io, model: string | undefined, file: string | undefined, o: PredictOpts) {
  if (!model) throw new UsageError('usage: modelyard predict MODEL [FILE | -]');
  if ([o.version, o.alias, o.stage].filter((v) => v !== undefined).length > 1) {
    throw new UsageError('give at most one of --version, --alias and --stage');
  }
  if (o.format !== undefined && !(FORMATS as readonly string[]).includes(o.format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  }
  if (o.stage !== undefined && !ZStage.safeParse(o.stage).success) {
    throw new UsageError(`--stage must be one of ${ZStage.options.join(', ')}`);
  }
  let version = o.version !== undefined ? positive(o.version, 'version') : undefined;
  const { text, source } = await readSource(file);
  const input = parseInput(text, source);
  const format = (o.format as Format | undefined) ?? (input.kind === 'body' ? input.format : 'modelyard');
  if (input.kind === 'body' && !BODY_KEYS[format].some((k) => k in input.body)) {
    throw new UsageError(`the input is a ${input.format} request body; pass --format ${input.format} or send rows`);
  }
  if (format === 'mlflow' && (version || o.alias || o.stage)) {
    throw new UsageError('the MLflow route serves the version the deployment picks: choose one with another --format');
  }
  const { cfg, api } = apiClient();
  if (o.stage) {
    const inStage = (await api.listVersions(model)).filter((v) => v.stage === o.stage).map((v) => v.version);
    if (!inStage.length) throw new FailedError(`${model} has no version in stage ${o.stage}`);
    version = Math.max(...inStage);
  }
  if (format === 'oip-v2' && o.alias) version = await aliasVersion(cfg, model, o.alias);

  let body: string;
  let contentType = 'application/json';
  if (input.kind === 'body') body = JSON.stringify(input.body);
  else if (format === 'modelyard') body = JSON.stringify({ payload: input.rows });
  else if (format === 'tfs') body = JSON.stringify({ instances: input.rows });
  else if (format === 'mlflow') {
    if (input.csv) {
      body = input.csv;
      contentType = 'text/csv';
    } else {
      body = JSON.stringify(input.rows.every(isRecord) ? { dataframe_records: input.rows } : { instances: input.rows });
    }
  } else body = JSON.stringify(oipFromRows(await signatureOf(api, model, version), input.rows));

  const m = enc(model);
  const route = {
    modelyard: version
      ? `v1/models/${m}/versions/${version}/predict`
      : o.alias
        ? `v1/models/${m}/aliases/${enc(o.alias)}/predict`
        : `v1/models/${m}/predict`,
    tfs: version
      ? `v1/models/${m}/versions/${version}:predict`
      : o.alias
        ? `v1/models/${m}/labels/${enc(o.alias)}:predict`
        : `v1/models/${m}:predict`,
    'oip-v2': version ? `v2/models/${m}/versions/${version}/infer` : `v2/models/${m}/infer`,
    mlflow: `v1/models/${m}/invocations`,
  }[format];
  const res = await send(apiUrl(cfg, route), cfg, {
    method: 'POST',
    body,
    contentType,
    accept: 'application/json',
  });
  const answer = await res.text();
  const served = res.headers.get('x-model-version');
  if (!io.json && served) io.err(`${model} v${served} answered (${format})`);
  io.out(answer.trimEnd());
}

function enc(s: string) {
  return encodeURIComponent(s);
}
