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
    const started = Date.now();
    for (let i = 0; i < 130; i++) if ((await outcome((i % 2 ? b : a).take(key, 'm', high))) === 'ok') ok++;
    // The burst, plus what refilled at 100/s while the loop ran (a few ms on an idle box), plus one lease per
    // process; never all 130 while the loop is fast.
    const most = 100 + Math.ceil((Date.now() - started) / 10) + 2 * 5;
    assert.ok(ok >= 100 && ok <= most, `allowed ${ok} of 130 (at most ${most})`);
  });

  it('renews a lease before it runs out, so the hot path (takeNow) does not stop to wait for Redis', async () => {
    const key = uniqueId('key');
    const lim = { rps: 1000, burst: 1000, perModelRps: 0 }; // leases of 50 tokens
    assert.equal(a.takeNow(key, 'm', lim), false, 'no lease yet');
    await a.take(key, 'm', lim); // the first lease: 1 token used, 49 left
    let inMemory = 0;
    for (let i = 0; i < 45; i++) if (a.takeNow(key, 'm', lim)) inMemory++;
    // The next lease was asked for when the first ran low; it joins the 4 tokens left.
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 45; i++) if (a.takeNow(key, 'm', lim)) inMemory++;
    assert.equal(inMemory, 90);
  });

  it('still holds the shared limit when requests take from leases renewed ahead', async () => {
    const key = uniqueId('key');
    const high = { rps: 100, burst: 100, perModelRps: 0 }; // leases of 5 tokens
    let ok = 0;
    const started = Date.now();
    for (let i = 0; i < 130; i++) {
      const p = i % 2 ? b : a;
      if (p.takeNow(key, 'm', high) || (await outcome(p.take(key, 'm', high))) === 'ok') ok++;
      await new Promise((r) => setImmediate(r));
    }
    // As above: every token was granted by Redis, renewed early or not.
    const most = 100 + Math.ceil((Date.now() - started) / 10) + 2 * 5;
    assert.ok(ok >= 100 && ok <= most, `allowed ${ok} of 130 (at most ${most})`);
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
