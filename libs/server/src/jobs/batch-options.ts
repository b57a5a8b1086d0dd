import type { z } from 'zod';
import type { ZBatchJobSpec } from '@modelyard/contracts';
import type { StorageKind } from '../storage/storage-uri.js';
import type { BatchFormat } from './batch-scorer.js';

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
}

export function batchOptions(
  spec: z.output<typeof ZBatchJobSpec>,
  format: BatchFormat,
  backend: StorageKind,
  base: string,
  jobId: string,
): BatchOptions {
  const ext = format === 'jsonl' ? 'jsonl' : 'csv';
  return {
    columns: spec.output.columns,
    idColumn: spec.output.idColumn,
    entityColumn: spec.store?.entityColumn,
    backend,
    outputKey: `${base}predictions.${ext}`,
    errorsKey: `${base}errors.${ext}`,
    partsPrefix: `jobs/${jobId}/parts/`,
  };
}
