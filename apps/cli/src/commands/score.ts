import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ApiError, ZErrorResponse, ZJob, type TJob } from '@modelyard/contracts';
import { clientFor, credentialHeaders, loadCliConfig } from '../config.js';
import { UsageError, type Io } from '../output.js';
import { progressBar, uploadMultipart } from '../upload.js';
import { FailedError } from './models.js';

export interface ScoreOpts {
  model?: string;
  input?: string;
  version?: string;
  alias?: string;
  'id-column'?: string;
  'store-entity'?: string;
  /** Adds each row's explanation as columns (output.contributions). */
  contributions?: boolean;
  wait?: boolean;
  timeout?: string;
  output?: string;
}

const STORAGE_URI = /^(s3|azure|file):\/\//i;

/**
 * `score`: a batch scoring job on a local file (uploaded) or a file already in storage. With --wait, a progress
 * bar until the job ends; exit 1 when it fails or is cancelled, and --output downloads the predictions.
 */
export async function score(io: Io, o: ScoreOpts) {
  if (!o.model) throw new UsageError('--model is required');
  if (!o.input) throw new UsageError('--input is required (a .csv or .jsonl file, or a storage URI)');
  if (o.version && o.alias) throw new UsageError('give --version or --alias, not both');
  const version = o.version ? Number(o.version) : undefined;
  if (version !== undefined && (!Number.isInteger(version) || version < 1))
    throw new UsageError('--version must be a positive whole number');
  const timeoutS = o.timeout ? Number(o.timeout) : 3600;
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError('--timeout must be a number of seconds');
  const cfg = loadCliConfig();
  const api = clientFor(cfg);
  const spec = {
    model: o.model,
    ...(version && { version }),
    ...(o.alias && { alias: o.alias }),
    ...((o['id-column'] || o.contributions) && {
      output: {
        ...(o['id-column'] && { columns: 'id' as const, idColumn: o['id-column'] }),
        ...(o.contributions && { contributions: true }),
      },
    }),
    ...(o['store-entity'] && { store: { entityColumn: o['store-entity'] } }),
  };
  let job: TJob;
  if (STORAGE_URI.test(o.input)) {
    job = await api.createBatchJob({ ...spec, inputUri: o.input });
  } else {
    const res = await uploadMultipart(
      new URL('v1/jobs', cfg.url.replace(/\/?$/, '/')).toString(),
      cfg,
      spec,
      o.input,
      process.stderr.isTTY && !io.json ? progressBar(`uploading ${o.input}`) : undefined,
    );
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const e = ZErrorResponse.safeParse(body);
      throw new ApiError(
        res.status,
        e.success ? e.data.error.code : 'BAD_RESPONSE',
        e.success ? e.data.error.message : `HTTP ${res.status}`,
      );
    }
    job = ZJob.parse(body);
  }
  if (!o.wait) {
    io.result(`Queued batch job ${job.id} (model ${job.model} v${job.version})`, job);
    return;
  }
  const bar = !io.json ? progressBar(`scoring ${job.id.slice(0, 8)}`, '%') : null;
  const until = Date.now() + timeoutS * 1000;
  while (job.status === 'queued' || job.status === 'running') {
    if (Date.now() > until)
      throw new FailedError(`job ${job.id} did not finish within ${timeoutS} s (it goes on; check it with the API)`);
    await new Promise((r) => setTimeout(r, 300));
    job = await api.getJob(job.id);
    bar?.(job.status === 'succeeded' ? 100 : job.progress, 100);
  }
  if (job.status !== 'succeeded') {
    if (io.json) io.out(JSON.stringify(job));
    throw new FailedError(`job ${job.id} ${job.status}${job.error ? `: ${job.error}` : ''}`);
  }
  if (o.output) {
    const res = await fetch(new URL(`v1/jobs/${job.id}/files/output`, cfg.url.replace(/\/?$/, '/')), {
      headers: { ...credentialHeaders(cfg), 'user-agent': 'modelyard-cli' },
    });
    if (!res.ok || !res.body) throw new FailedError(`could not download the output: HTTP ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(o.output));
  }
  io.result(
    `Job ${job.id} succeeded: ${job.rowsOut} rows scored, ${job.rowsFailed} rows failed` +
      `\noutput: ${job.outputUri}${job.errorsUri ? `\nerrors: ${job.errorsUri}` : ''}${o.output ? `\nsaved to ${o.output}` : ''}`,
    job,
  );
}
