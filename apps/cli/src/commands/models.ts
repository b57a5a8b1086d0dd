import { readFileSync } from 'node:fs';
import {
  ApiError,
  ModelyardClient,
  ZErrorResponse,
  ZModelVersion,
  ZRegisterVersionSpec,
  ZStage,
  type TModelVersion,
} from '@modelyard/contracts';
import { clientFor, loadCliConfig } from '../config.js';
import { UsageError, type Io } from '../output.js';
import { progressBar, uploadMultipart } from '../upload.js';

export interface RegistryOpts {
  model?: string;
  file?: string;
  uri?: string;
  signature?: string;
  reference?: string;
  'sample-input'?: string;
  tag?: string[];
  metric?: string[];
  'git-commit'?: string;
  'run-id'?: string;
  'ci-job-url'?: string;
  'dataset-uri'?: string;
  backend?: string;
  description?: string;
  stage?: string;
  wait?: boolean;
  timeout?: string;
  version?: string;
  alias?: string;
  comment?: string;
  'no-archive'?: boolean;
  search?: string;
  'requires-approval'?: boolean;
}

/** Thrown when the API accepted the request but the outcome is a failure (e.g. validation): exit code 1. */
export class FailedError extends Error {}

function client() {
  const cfg = loadCliConfig();
  return { cfg, api: clientFor(cfg) };
}

function need<K extends keyof RegistryOpts>(o: RegistryOpts, k: K): NonNullable<RegistryOpts[K]> {
  const v = o[k];
  if (v === undefined || v === '') throw new UsageError(`--${k} is required`);
  return v as NonNullable<RegistryOpts[K]>;
}

function pairs(list: string[] | undefined, what: string, asNumber: boolean) {
  const out: Record<string, string | number> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i <= 0) throw new UsageError(`--${what} takes key=value, got "${item}"`);
    const value = item.slice(i + 1);
    if (asNumber && !Number.isFinite(Number(value)))
      throw new UsageError(`--${what} ${item}: the value must be a number`);
    out[item.slice(0, i)] = asNumber ? Number(value) : value;
  }
  return out;
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

function versionNumber(o: RegistryOpts): number {
  const n = Number(need(o, 'version'));
  if (!Number.isInteger(n) || n < 1) throw new UsageError('--version must be a positive whole number');
  return n;
}

export async function modelsCreate(io: Io, name: string | undefined, o: RegistryOpts) {
  if (!name) throw new UsageError('usage: modelyard models create NAME');
  const m = await client().api.createModel({
    name,
    description: o.description ?? '',
    requiresApproval: o['requires-approval'] ?? false,
  });
  io.result(`Created model ${m.name}`, m);
}

export async function modelsList(io: Io, o: RegistryOpts) {
  const page = await client().api.listModels({ search: o.search, limit: 200 });
  const lines = page.items.map(
    (m) => `${m.name.padEnd(32)} latest v${m.latestVersion ?? '-'}  production v${m.productionVersion ?? '-'}`,
  );
  io.result(lines.join('\n') || '(no models)', page.items);
}

/** `register`: upload (or reference) a version, optionally wait until it is validated and move it to a stage. */
export async function register(io: Io, o: RegistryOpts) {
  const model = need(o, 'model');
  if (!!o.file === !!o.uri) throw new UsageError('give exactly one of --file and --uri');
  if (o.stage && !ZStage.safeParse(o.stage).success)
    throw new UsageError(`--stage must be one of ${ZStage.options.join(', ')}`);
  const spec = {
    ...(o.uri ? { artifactUri: o.uri } : {}),
    ...(o.backend ? { backend: o.backend } : {}),
    description: o.description ?? '',
    tags: pairs(o.tag, 'tag', false),
    metrics: pairs(o.metric, 'metric', true),
    lineage: Object.fromEntries(
      Object.entries({
        gitCommit: o['git-commit'],
        sourceRunId: o['run-id'],
        ciJobUrl: o['ci-job-url'],
        trainingDatasetUri: o['dataset-uri'],
      }).filter(([, v]) => v),
    ),
    ...(o.signature ? { signature: readJson(o.signature, 'signature') } : {}),
    ...(o.reference ? { reference: toReference(readJson(o.reference, 'reference')) } : {}),
    // Rows (records or arrays in input order) validation runs the model on; their outputs are kept as sampleOutput.
    ...(o['sample-input'] ? { sampleInput: readJson(o['sample-input'], 'sample input') } : {}),
  };
  const { cfg, api } = client();
  let version: TModelVersion;
  if (o.file) {
    const res = await uploadMultipart(
      new URL(`v1/models/${encodeURIComponent(model)}/versions`, cfg.url.replace(/\/?$/, '/')).toString(),
      cfg,
      spec,
      o.file,
      process.stderr.isTTY && !io.json ? progressBar(`uploading ${o.file}`) : undefined,
    );
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const err = ZErrorResponse.safeParse(body);
      throw new ApiError(
        res.status,
        err.success ? err.data.error.code : 'BAD_RESPONSE',
        err.success ? err.data.error.message : `HTTP ${res.status}`,
      );
    }
    version = ZModelVersion.parse(body);
  } else {
    const parsed = ZRegisterVersionSpec.safeParse(spec);
    if (!parsed.success)
      throw new UsageError(
        `the version spec is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    version = await api.registerFromUri(model, { ...parsed.data, artifactUri: o.uri! });
  }
  if (!io.json) io.err(`registered ${model} version ${version.version} (${version.status})`);
  if (o.wait || o.stage) version = await waitForValidation(api, model, version.version, Number(o.timeout ?? 300), io);
  if (version.status === 'failed') {
    io.result(`Version ${version.version} failed validation: ${version.failureReason}`, version);
    throw new FailedError(`validation failed: ${version.failureReason}`);
  }
  if (o.stage && version.stage !== o.stage) {
    const r = await api.transitionStage(model, version.version, {
      stage: ZStage.parse(o.stage),
      comment: o.comment ?? 'registered by CI',
    });
    version = r.version;
  }
  io.result(
    `${model} v${version.version}: ${version.status}, stage ${version.stage}${version.sha256 ? `, sha256 ${version.sha256.slice(0, 12)}…` : ''}`,
    version,
  );
}

/** Accepts the shared fixtures' reference.json (feature_names + rows) as is. */
function toReference(raw: unknown) {
  const r = raw as { feature_names?: unknown; rows?: unknown };
  if (!Array.isArray(r?.feature_names) || !Array.isArray(r?.rows))
    throw new UsageError('the reference file needs feature_names and rows');
  return { feature_names: r.feature_names, rows: r.rows };
}

async function waitForValidation(api: ModelyardClient, model: string, n: number, timeoutS: number, io: Io) {
  const until = Date.now() + timeoutS * 1000;
  for (;;) {
    const v = await api.getVersion(model, n);
    if (v.status !== 'pending') return v;
    if (Date.now() > until) throw new FailedError(`version ${n} still pending after ${timeoutS} s`);
    if (!io.json && process.stderr.isTTY) process.stderr.write('.');
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function promote(io: Io, o: RegistryOpts) {
  const model = need(o, 'model');
  const stage = ZStage.safeParse(o.stage ?? 'Production');
  if (!stage.success) throw new UsageError(`--stage must be one of ${ZStage.options.join(', ')}`);
  const r = await client().api.transitionStage(model, versionNumber(o), {
    stage: stage.data,
    comment: o.comment ?? '',
    archivePrevious: !o['no-archive'],
  });
  const human =
    r.outcome === 'approval_requested'
      ? `Approval requested (${r.approvalRequestId}): a second approver must accept it`
      : `${model} v${r.version.version} is now ${r.version.stage}${r.archived.length ? `; archived v${r.archived.join(', v')}` : ''}`;
  io.result(human, r);
}

export async function alias(io: Io, action: string | undefined, o: RegistryOpts) {
  const model = need(o, 'model');
  const name = need(o, 'alias');
  if (action === 'set') {
    const m = await client().api.setAlias(model, name, { version: versionNumber(o), comment: o.comment ?? '' });
    io.result(`${model}@${name} -> v${m.aliases[name]}`, m);
  } else if (action === 'delete') {
    const m = await client().api.deleteAlias(model, name, o.comment ?? '');
    io.result(`removed ${model}@${name}`, m);
  } else {
    throw new UsageError('usage: modelyard alias set|delete --model M --alias A [--version N]');
  }
}
