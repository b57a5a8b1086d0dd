import type { z } from 'zod';
import type { ZBatchJobSpec } from '@modelyard/contracts';
import type { StorageKind } from '../storage/storage-uri.js';
import type { TBatchFormat } from '@modelyard/contracts';

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

export function batchOptions(
  spec: z.output<typeof ZBatchJobSpec>,
  format: TBatchFormat,
  backend: StorageKind,
  base: string,
  jobId: string,
): BatchOptions {
  const outputFormat = spec.output.format ?? format;
  return {
    columns: spec.output.columns,
    idColumn: spec.output.idColumn,
    entityColumn: spec.store?.entityColumn,
    backend,
    outputKey: `${base}predictions.${FORMAT_EXT[outputFormat]}`,
    errorsKey: `${base}errors.${errorsAreCsv(format, outputFormat) ? 'csv' : 'jsonl'}`,
    partsPrefix: `jobs/${jobId}/parts/`,
    outputFormat,
    ...(spec.output.contributions && { contributions: true }),
  };
}
