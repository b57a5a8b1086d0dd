import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobHandler } from '@modelyard/server';
import { buildRegistry } from './job-registry.js';

const handler = (job: string): JobHandler => ({ job: job as JobHandler['job'], handle: async () => 'ok' });

describe('buildRegistry', () => {
  it('maps every declared job to its handler', () => {
    const r = buildRegistry([handler('maintenance.cleanup')]);
    assert.equal(r.get('maintenance.cleanup')?.job, 'maintenance.cleanup');
  });
  it('refuses a declared job without a handler', () => {
    assert.throws(() => buildRegistry([]), /no handler for "maintenance.cleanup"/);
  });
  it('refuses two handlers for one job and handlers for undeclared jobs', () => {
    assert.throws(() => buildRegistry([handler('maintenance.cleanup'), handler('maintenance.cleanup')]), /two handlers/);
    assert.throws(() => buildRegistry([handler('maintenance.cleanup'), handler('nope.job')]), /undeclared job "nope.job"/);
  });
});
