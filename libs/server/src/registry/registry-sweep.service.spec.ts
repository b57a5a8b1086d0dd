import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { CommonConfig } from '@modelyard/config';
import type { JobContext } from '../queue/job-handler.js';
import type { RegistryValidationService } from './registry-validation.service.js';
import type { RegistryRepository } from './registry.repository.js';
import { DEFAULT_STUCK_MINUTES, RegistrySweepService } from './registry-sweep.service.js';

const CTX: JobContext = { jobId: 'q', attempt: 1, maxAttempts: 1, updateProgress: async () => {} };
const MINUTE = 60_000;

/** Versions with their age in minutes, all pending; the validation service's failures and the log's warnings. */
function fakes() {
  const versions = [
    { id: 'v1', number: 1, model: { name: 'iris' }, ageMinutes: 40 },
    { id: 'v2', number: 2, model: { name: 'iris' }, ageMinutes: 16 },
    { id: 'v3', number: 1, model: { name: 'wine' }, ageMinutes: 14 },
  ];
  const now = Date.now();
  const rows = versions.map((v) => ({ ...v, status: 'pending', createdAt: new Date(now - v.ageMinutes * MINUTE) }));
  const failed: { id: string; reason: string }[] = [];
  const warnings: unknown[] = [];
  const repo = {
    stuckPendingVersions: async (before: Date) => rows.filter((v) => v.status === 'pending' && v.createdAt < before),
  } as unknown as RegistryRepository;
  const validation = {
    fail: async (v: { id: string }, reason: string) => {
      failed.push({ id: v.id, reason });
      rows.find((r) => r.id === v.id)!.status = 'failed';
    },
  } as unknown as RegistryValidationService;
  const log = Object.assign(pino({ level: 'silent' }), { warn: (o: unknown) => void warnings.push(o) });
  const make = (stuckMinutes?: number) =>
    new RegistrySweepService(
      repo,
      validation,
      { worker: { validation: { stuckMinutes } } } as unknown as CommonConfig,
      log,
    );
  return { rows, failed, warnings, make };
}

describe(RegistrySweepService.name, () => {
  let f: ReturnType<typeof fakes>;
  beforeEach(() => {
    f = fakes();
  });

  it('fails versions pending longer than 15 minutes by default, saying why and what to do', async () => {
    assert.equal(DEFAULT_STUCK_MINUTES, 15);
    assert.deepEqual(await f.make().handle({}, CTX), { failed: 2 });
    const reason =
      'Validation did not finish within 15 minutes (the worker validating it may have stopped); ' +
      'register the version again.';
    assert.deepEqual(f.failed, [
      { id: 'v1', reason },
      { id: 'v2', reason },
    ]);
    assert.deepEqual(
      f.warnings.map((w) => [(w as { model: string }).model, (w as { version: number }).version]),
      [
        ['iris', 1],
        ['iris', 2],
      ],
    );
    // Failed once: the next sweep finds nothing more until v3 is stuck too.
    assert.deepEqual(await f.make().handle({}, CTX), { failed: 0 });
  });

  it('waits VALIDATION_STUCK_MINUTES when it is set', async () => {
    assert.deepEqual(await f.make(30).handle({}, CTX), { failed: 1 });
    assert.match(f.failed[0]!.reason, /^Validation did not finish within 30 minutes/);
    assert.deepEqual(await f.make(10).handle({}, CTX), { failed: 2 });
  });
});
