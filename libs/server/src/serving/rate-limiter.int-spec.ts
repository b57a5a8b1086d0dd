import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadWorkerConfig } from '@modelyard/config';
import { integrationEnv, uniqueId } from '@modelyard/testing';
import { RedisService } from '../platform/redis.service.js';
import { AppError } from '../platform/errors.js';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter (real Redis)', () => {
  const cfg = loadWorkerConfig(integrationEnv());
  // Two services = two api processes sharing one Redis.
  const redisA = new RedisService(cfg);
  const redisB = new RedisService(cfg);
  const a = new RateLimiter(redisA);
  const b = new RateLimiter(redisB);
  before(async () => {
    await redisA.ping();
    await redisB.ping();
  });
  after(async () => {
    await redisA.onModuleDestroy();
    await redisB.onModuleDestroy();
  });

  const limit = { rps: 4, burst: 3, perModelRps: 0 };
  const outcome = (p: Promise<void>) =>
    p.then(
      () => 'ok',
      (e: unknown) => (e instanceof AppError ? e.code : 'error'),
    );

  it('lets the burst through, then refuses with a Retry-After, then refills', async () => {
    const key = uniqueId('key');
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await outcome(a.take(key, 'm', limit)));
    assert.deepEqual(results, ['ok', 'ok', 'ok', 'RATE_LIMITED']);
    const err = await a.take(key, 'm', limit).catch((e: AppError) => e);
    assert.ok(err instanceof AppError && (err.details as { retryAfterSeconds: number }).retryAfterSeconds >= 1);
    await new Promise((r) => setTimeout(r, 300)); // 4/s: one token every 250 ms
    assert.equal(await outcome(a.take(key, 'm', limit)), 'ok');
  });

  it('is one limit across processes, and separate per key', async () => {
    const key = uniqueId('key');
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await outcome((i % 2 ? b : a).take(key, 'm', limit)));
    assert.deepEqual(results, ['ok', 'ok', 'ok', 'RATE_LIMITED']);
    assert.equal(await outcome(b.take(uniqueId('other'), 'm', limit)), 'ok');
  });

  it('leases tokens per process for high limits and still holds the shared limit', async () => {
    const key = uniqueId('key');
    const high = { rps: 100, burst: 100, perModelRps: 0 }; // leases of 5 tokens
    let ok = 0;
    for (let i = 0; i < 130; i++) if ((await outcome((i % 2 ? b : a).take(key, 'm', high))) === 'ok') ok++;
    // The burst, plus whatever refilled at 100/s while the loop ran (a few ms), never 130.
    assert.ok(ok >= 100 && ok <= 112, `allowed ${ok} of 130`);
  });

  it('adds a per-model bucket when configured, and does nothing when switched off', async () => {
    const key = uniqueId('key');
    const perModel = { rps: 1000, burst: 1000, perModelRps: 1 };
    assert.deepEqual(
      [
        await outcome(a.take(key, 'iris', perModel)),
        await outcome(a.take(key, 'iris', perModel)),
        await outcome(a.take(key, 'iris', perModel)),
      ],
      ['ok', 'ok', 'RATE_LIMITED'],
    );
    assert.equal(await outcome(a.take(key, 'digits', perModel)), 'ok');
    for (let i = 0; i < 50; i++) await a.take(key, 'x', { rps: 0, burst: 1, perModelRps: 0 });
  });
});
