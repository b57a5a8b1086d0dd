import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JOBS, type JobName } from '@modelyard/contracts';
import type { JobHandler } from '@modelyard/server';
import { buildRegistry } from './job-registry.js';

const handler = (job: string): JobHandler => ({ job: job as JobHandler['job'], handle: async () => 'ok' });
const all = () => (Object.keys(JOBS) as JobName[]).map(handler);

describe('buildRegistry', () => {
  it('maps every declared job to its handler', () => {
    const r = buildRegistry(all());
    for (const name of Object.keys(JOBS) as JobName[]) assert.equal(r.get(name)?.job, name);
  });
  it('refuses a declared job without a handler', () => {
    assert.throws(
      () => buildRegistry(all().filter((h) => h.job !== 'maintenance.cleanup')),
      /no handler for "maintenance.cleanup"/,
    );
  });
  it('refuses two handlers for one job and handlers for undeclared jobs', () => {
    assert.throws(
      () => buildRegistry([...all(), handler('maintenance.cleanup')]),
      /two handlers for "maintenance.cleanup"/,
    );
    assert.throws(() => buildRegistry([...all(), handler('nope.job')]), /undeclared job "nope.job"/);
  });
});
