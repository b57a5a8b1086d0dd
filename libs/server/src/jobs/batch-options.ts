import type { z } from 'zod';
import type { ZBatchJobSpec } from '@modelyard/contracts';
import type { StorageKind } from '../storage/storage-uri.js';
import type { TBatchFormat } from '@modelyard/contracts';
import { projectOfKey } from '../tenancy/model-key.js';
import { platformHome } from '../tenancy/storage-scope.js';

/** Where a batch job writes and what it writes, decided when it is accepted and stored on the job row. */
export interface BatchOptions {
  columns: 'all' | 'id';
  idColumn?: string;
  entityColumn?: string;
  backend: StorageKind;
  outputKey: string;
  errorsKey: string;
  /** Part files of finished chunks live here until the output is assembled. */
  partsPrefix: string;
  /** The output file's format; absent (jobs accepted before issue 23): the input's. */
  outputFormat?: TBatchFormat;
  /** Contribution columns (explanations, issue 18); absent on jobs accepted before them. */
  contributions?: boolean;
  /** The input's column names, for a CSV header when the input is not CSV (set while scoring). */
  inputColumns?: string[];
}

/** Bad rows are written as CSV only when input and output both are; JSON Lines otherwise. */
export const errorsAreCsv = (input: TBatchFormat, output: TBatchFormat) => input === 'csv' && output === 'csv';

export const FORMAT_EXT: Record<TBatchFormat, string> = {
  csv: 'csv',
  jsonl: 'jsonl',
  parquet: 'parquet',
  arrow: 'arrow',
};

/** A job's own folder (its upload, its part files): under its model's project's platformHome. */
export const jobFolder = (modelKey: string, jobId: string) => `${platformHome(projectOfKey(modelKey))}jobs/${jobId}/`;

/** `folder`: the job's own (jobFolder), where part files live until the output is assembled. */
export function batchOptions(
  spec: z.output<typeof ZBatchJobSpec>,
  format: TBatchFormat,
  backend: StorageKind,
  base: string,
  folder: string,
): BatchOptions {
  const outputFormat = spec.output.format ?? format;
  return {
    columns: spec.output.columns,
    idColumn: spec.output.idColumn,
    entityColumn: spec.store?.entityColumn,
    backend,
    outputKey: `${base}predictions.${FORMAT_EXT[outputFormat]}`,
    errorsKey: `${base}errors.${errorsAreCsv(format, outputFormat) ? 'csv' : 'jsonl'}`,
    partsPrefix: `${folder}parts/`,
    outputFormat,
    ...(spec.output.contributions && { contributions: true }),
  };
}

/**
 * The part files of a job's recorded chunks (the part-file path): each chunk's output part, its errors part and its
 * input part, which sit beside each other under the job's parts prefix.
 */
export function chunkFileUris(chunks: readonly { partUri: string; errorsUri: string | null }[]): string[] {
  return chunks
    .flatMap((c) => [c.partUri, c.errorsUri, c.partUri.replace(/part-(\d+)\.(\w+)$/, 'input-$1.$2')])
    .filter((u): u is string => !!u);
}

/**
 * Every file the platform wrote for a job, removed with it (a deleted job, a deleted model): its uploaded input
 * (never a file the caller named by inputUri), its output and errors files and its recorded chunks' part files.
 */
export function jobFileUris(
  job: { ownedInput: boolean; inputUri: string | null; outputUri: string | null; errorsUri: string | null },
  chunks: readonly { partUri: string; errorsUri: string | null }[],
): string[] {
  return [job.ownedInput ? job.inputUri : null, job.outputUri, job.errorsUri, ...chunkFileUris(chunks)].filter(
    (u): u is string => !!u,
  );
}
