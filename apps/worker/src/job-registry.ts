import { JOBS, type JobName } from '@modelyard/contracts';
import type { JobHandler } from '@modelyard/server';

/**
 * Maps every declared job to its one handler. Refuses to build (and so the worker refuses to start) when a
 * JOBS name has no handler, has two, or a handler names a job JOBS does not declare.
 */
export function buildRegistry(handlers: JobHandler[]): Map<JobName, JobHandler> {
  const byName = new Map<JobName, JobHandler>();
  const problems: string[] = [];
  for (const h of handlers) {
    if (!(h.job in JOBS)) problems.push(`handler for undeclared job "${h.job}"`);
    else if (byName.has(h.job)) problems.push(`two handlers for "${h.job}"`);
    else byName.set(h.job, h);
  }
  for (const name of Object.keys(JOBS) as JobName[]) {
    if (!byName.has(name)) problems.push(`no handler for "${name}"`);
  }
  if (problems.length) throw new Error(`Job registry is inconsistent: ${problems.join('; ')}`);
  return byName;
}
