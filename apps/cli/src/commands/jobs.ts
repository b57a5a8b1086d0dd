import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { JOB_STATUSES, JOB_TYPES, ZJobStatus, ZJobType, type TJob } from '@modelyard/contracts';
import { apiClient, apiUrl } from '../config.js';
import { send } from '../http.js';
import { UsageError, type Io } from '../output.js';

export interface JobsOpts {
  model?: string;
  status?: string;
  type?: string;
  limit?: string;
  file?: string;
  output?: string;
}

const FILES = ['output', 'errors', 'input'] as const;

function line(j: TJob): string {
  const failed = j.rowsFailed ? `, ${j.rowsFailed} failed` : '';
  const rows = j.type === 'batch_score' ? `  ${j.rowsOut}/${j.rowsIn} rows${failed}` : '';
  return `${j.id}  ${j.type.padEnd(13)} ${j.status.padEnd(9)} ${j.model} v${j.version ?? '-'}  ${j.submittedAt}${rows}`;
}

function describe(j: TJob): string {
  return [
    `job ${j.id} (${j.type}): ${j.status}${j.status === 'running' ? ` ${j.progress}%` : ''}`,
    `model:     ${j.model} v${j.version ?? '-'}`,
    `submitted: ${j.submittedAt}${j.startedAt ? `, started ${j.startedAt}` : ''}, attempts ${j.attempts}`,
    ...(j.type === 'batch_score' ? [`rows:      ${j.rowsIn} in, ${j.rowsOut} scored, ${j.rowsFailed} failed`] : []),
    ...(j.inputUri ? [`input:     ${j.inputUri}`] : []),
    ...(j.outputUri ? [`output:    ${j.outputUri}`] : []),
    ...(j.errorsUri ? [`errors:    ${j.errorsUri}`] : []),
    ...(j.error ? [`error:     ${j.error}`] : []),
  ].join('\n');
}

/** `jobs list|show|cancel|retry|delete|download`: the jobs API, one call each. */
export async function jobs(io: Io, action: string | undefined, id: string | undefined, o: JobsOpts) {
  const needId = () => {
    if (!id) throw new UsageError(`usage: modelyard jobs ${action} ID`);
    return id;
  };
  if (action === 'list' && id) throw new UsageError(`unexpected argument: ${id}`);
  if (o.status !== undefined && !ZJobStatus.safeParse(o.status).success) {
    throw new UsageError(`--status must be one of ${JOB_STATUSES.join(', ')}`);
  }
  if (o.type !== undefined && !ZJobType.safeParse(o.type).success) {
    throw new UsageError(`--type must be one of ${JOB_TYPES.join(', ')}`);
  }
  const limit = o.limit === undefined ? 50 : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
    throw new UsageError('--limit must be a whole number from 1 to 200');
  }
  const file = o.file ?? 'output';
  if (!(FILES as readonly string[]).includes(file)) throw new UsageError(`--file must be one of ${FILES.join(', ')}`);
  switch (action) {
    case 'list': {
      const { api } = apiClient();
      const page = await api.listJobs({
        model: o.model,
        status: o.status as TJob['status'] | undefined,
        type: o.type as TJob['type'] | undefined,
        limit,
      });
      io.result(page.items.map(line).join('\n') || '(no jobs)', page.items);
      return;
    }
    case 'show': {
      const job = await apiClient().api.getJob(needId());
      io.result(describe(job), job);
      return;
    }
    case 'cancel': {
      const job = await apiClient().api.cancelJob(needId());
      io.result(`job ${job.id}: ${job.status}`, job);
      return;
    }
    case 'retry': {
      const job = await apiClient().api.retryJob(needId());
      io.result(`job ${job.id}: ${job.status}`, job);
      return;
    }
    case 'delete': {
      await apiClient().api.deleteJob(needId());
      io.result(`deleted job ${id} and its files`, { id, deleted: true });
      return;
    }
    case 'download': {
      const { cfg } = apiClient();
      const url = apiUrl(cfg, `v1/jobs/${encodeURIComponent(needId())}/files/${file}`);
      const res = await send(url, cfg, { method: 'GET' });
      if (!res.body) throw new UsageError('the API sent no file');
      const toStdout = !o.output || o.output === '-';
      const target = toStdout ? process.stdout : createWriteStream(o.output!);
      await pipeline(Readable.fromWeb(res.body), target, { end: !toStdout });
      if (!toStdout) io.err(`saved the ${file} of job ${id} to ${o.output}`);
      return;
    }
    default:
      throw new UsageError('usage: modelyard jobs list|show|cancel|retry|delete|download');
  }
}
