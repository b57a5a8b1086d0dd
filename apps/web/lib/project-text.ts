import type { TProjectQuotas } from '@modelyard/contracts';
import { formatBytes } from './format';

/** The quota fields a platform admin sets on a project, in the order the pages show them. */
export const QUOTA_LABELS: Record<keyof TProjectQuotas, string> = {
  maxVersions: 'Model versions',
  maxStoredBytes: 'Stored bytes',
  maxRequestsPerSecond: 'Requests per second',
  maxConcurrentJobs: 'Concurrent jobs',
};
export const QUOTA_KEYS = Object.keys(QUOTA_LABELS) as (keyof TProjectQuotas)[];

/** A quota as set; none means no limit. */
export function quotaText(key: keyof TProjectQuotas, value: number | null): string {
  if (value === null) return 'no limit';
  return key === 'maxStoredBytes' ? formatBytes(value) : String(value);
}
