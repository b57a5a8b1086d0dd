import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { loadWorkerConfig } from '@modelyard/config';
import { integrationEnv } from '@modelyard/testing';
import { ServerCoreModule } from '../server-core.module.js';
import { createLogger } from '../platform/logger.js';
import { SYSTEM } from '../auth/principal.js';
import { WebhooksService } from './webhooks.service.js';
import { WebhooksRepository } from './webhooks.repository.js';

type Received = { headers: IncomingMessage['headers']; body: string; valid: boolean };

/** A receiver like a customer would write: recompute the HMAC over "<timestamp>.<body>" and compare. */
function receiver(secretOf: () => string, answer: () => number) {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const expected = `sha256=${createHmac('sha256', secretOf()).update(`${req.headers['x-modelyard-timestamp']}.${body}`).digest('hex')}`;
      const given = String(req.headers['x-modelyard-signature'] ?? '');
      const valid = given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
      got.push({ headers: req.headers, body, valid });
      res.statusCode = valid ? answer() : 401;
      res.end();
    });
  });
  return { server, got };
}

describe('webhook delivery (real Postgres, Redis, HTTP receiver)', () => {
  let ctx: INestApplicationContext;
  let hooks: WebhooksService;
  let repo: WebhooksRepository;
  let secret = '';
  let status = 200;
  const rx = receiver(() => secret, () => status);
  let url = '';

  before(async () => {
    await new Promise<void>((r) => rx.server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(rx.server.address() as AddressInfo).port}/hook`;
    const config = loadWorkerConfig(integrationEnv());
    ctx = await NestFactory.createApplicationContext(ServerCoreModule.forRoot({ config, logger: createLogger(config.log, 'webhook-test') }), { logger: false });
    hooks = ctx.get(WebhooksService);
    repo = ctx.get(WebhooksRepository);
  });
  after(async () => {
    // Later tiers share this database: leave no webhook pointing at a receiver that is gone.
    for (const w of await hooks.list(SYSTEM)) if (w.url === url) await hooks.delete(SYSTEM, w.id);
    await ctx.close();
    await new Promise((r) => (rx.server as Server).close(r));
  });

  async function deliverAll(webhookId: string, maxAttempts: number) {
    const deliveries = await repo.deliveries(webhookId, 10);
    for (const d of deliveries) {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        try {
          await hooks.handle({ deliveryId: d.id }, { jobId: d.id, attempt, maxAttempts, updateProgress: async () => {} });
          break;
        } catch { /* BullMQ would retry with backoff; we retry at once */ }
      }
    }
    return repo.deliveries(webhookId, 10);
  }

  it('signs each delivery so the receiver can verify it, and logs the delivery', async () => {
    const created = await hooks.create(SYSTEM, { url, events: ['stage.changed'], description: 'ci' });
    secret = created.secret;
    assert.match(secret, /^whsec_/);
    await hooks.emit('stage.changed', { model: 'iris', version: 3, from: 'Staging', to: 'Production' });
    await hooks.emit('alias.changed', { model: 'iris' }); // not subscribed: no delivery
    const [d] = await deliverAll(created.webhook.id, 1);
    assert.equal(d!.status, 'succeeded');
    assert.equal(d!.responseStatus, 200);
    const last = rx.got.at(-1)!;
    assert.equal(last.valid, true);
    assert.equal(last.headers['x-modelyard-event'], 'stage.changed');
    assert.equal(last.headers['x-modelyard-delivery'], d!.id);
    assert.deepEqual(JSON.parse(last.body).data, { model: 'iris', version: 3, from: 'Staging', to: 'Production' });
    const log = await hooks.deliveries(SYSTEM, created.webhook.id);
    assert.equal(log.length, 1);
    assert.equal(log[0]!.attempts, 1);
    // The secret is stored sealed, never in clear.
    const row = await repo.findById(created.webhook.id);
    assert.ok(row && !row.secretCiphertext.includes(secret));
  });

  it('retries a failing receiver, records every attempt, and marks the delivery failed at the end', async () => {
    const created = await hooks.create(SYSTEM, { url, events: ['version.failed'], description: '' });
    secret = created.secret;
    status = 503;
    try {
      await hooks.emit('version.failed', { model: 'm', version: 1, reason: 'corrupt' });
      const [d] = await deliverAll(created.webhook.id, 3);
      assert.equal(d!.status, 'failed');
      assert.equal(d!.attempts, 3);
      assert.equal(d!.responseStatus, 503);
      assert.match(d!.lastError!, /HTTP 503/);
    } finally {
      status = 200;
    }
  });

  it('delivers nothing for silent events', async () => {
    const created = await hooks.create(SYSTEM, { url, events: ['stage.changed'], description: '' });
    await hooks.emit('stage.changed', { model: 'shadow' }, { silent: true });
    assert.deepEqual(await repo.deliveries(created.webhook.id, 10), []);
  });
});
