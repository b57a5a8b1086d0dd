import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { Webhook } from 'standardwebhooks';
import type { INestApplicationContext } from '@nestjs/common';
import { loadWorkerConfig } from '@modelyard/config';
import { integrationEnv } from '@modelyard/testing';
import { ServerCoreModule } from '../server-core.module.js';
import { createLogger } from '../platform/logger.js';
import { systemIn } from '../auth/principal.js';
import { DEFAULT_PROJECT_REF } from '../tenancy/model-key.js';

/** The system in the default project, where these webhooks live. */
const SYSTEM = systemIn(DEFAULT_PROJECT_REF);
import { DomainEvents } from '../events/domain-events.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';
import { WebhooksService } from './webhooks.service.js';
import { WebhooksRepository } from './webhooks.repository.js';

type Received = { headers: IncomingMessage['headers']; body: string; valid: boolean; standard: boolean };

/**
 * A receiver like a customer would write: the Standard Webhooks reference library's `Webhook.verify` (signature,
 * message id, timestamp within its tolerance), and, for receivers written before, the deprecated HMAC over
 * "<timestamp>.<body>" recomputed and compared.
 */
function receiver(secretOf: () => string, answer: () => number) {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const expected = `sha256=${createHmac('sha256', secretOf()).update(`${req.headers['x-modelyard-timestamp']}.${body}`).digest('hex')}`;
      const given = String(req.headers['x-modelyard-signature'] ?? '');
      const valid = given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
      let standard = false;
      try {
        new Webhook(secretOf()).verify(body, req.headers as Record<string, string>);
        standard = true;
      } catch {
        /* WebhookVerificationError: recorded as not verified */
      }
      got.push({ headers: req.headers, body, valid, standard });
      res.statusCode = valid && standard ? answer() : 401;
      res.end();
    });
  });
  return { server, got };
}

describe('webhook delivery (real Postgres, Redis, HTTP receiver)', () => {
  let ctx: INestApplicationContext;
  let hooks: WebhooksService;
  let delivery: WebhookDeliveryService;
  let events: DomainEvents;
  let repo: WebhooksRepository;
  let secret = '';
  let status = 200;
  const rx = receiver(
    () => secret,
    () => status,
  );
  let url = '';

  before(async () => {
    await new Promise<void>((r) => rx.server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(rx.server.address() as AddressInfo).port}/hook`;
    // The receiver is on loopback, which outbound requests refuse unless the operator allows it.
    const config = loadWorkerConfig(integrationEnv({ OUTBOUND_ALLOW_HOSTS: '127.0.0.1' }));
    ctx = await NestFactory.createApplicationContext(
      ServerCoreModule.forRoot({ config, logger: createLogger(config.log, 'webhook-test') }),
      { logger: false },
    );
    hooks = ctx.get(WebhooksService);
    delivery = ctx.get(WebhookDeliveryService);
    events = ctx.get(DomainEvents);
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
          await delivery.handle(
            { deliveryId: d.id },
            { jobId: d.id, attempt, maxAttempts, updateProgress: async () => {} },
          );
          break;
        } catch {
          /* BullMQ would retry with backoff; we retry at once */
        }
      }
    }
    return repo.deliveries(webhookId, 10);
  }

  it("signs each delivery so standardwebhooks' Webhook.verify accepts it (the legacy header too), and logs it", async () => {
    const created = await hooks.create(SYSTEM, { url, events: ['stage.changed'], description: 'ci' });
    secret = created.secret;
    assert.match(secret, /^whsec_/);
    const stage = { model: 'iris', version: 3, from: 'Staging', to: 'Production', comment: '' };
    await events.record(SYSTEM, { type: 'version.stage_changed', data: stage });
    await events.record(SYSTEM, { type: 'alias.set', data: { model: 'iris', alias: 'a', from: null, to: 3 } }); // not subscribed
    const [d] = await deliverAll(created.webhook.id, 1);
    assert.equal(d!.status, 'succeeded');
    assert.equal(d!.responseStatus, 200);
    const last = rx.got.at(-1)!;
    assert.equal(last.standard, true, 'Webhook.verify accepted the delivery');
    assert.equal(last.valid, true, 'the deprecated X-Modelyard-Signature verifies');
    assert.equal(last.headers['webhook-id'], d!.id);
    assert.match(String(last.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
    assert.equal(last.headers['x-modelyard-event'], 'stage.changed');
    assert.equal(last.headers['x-modelyard-delivery'], d!.id);
    assert.deepEqual(JSON.parse(last.body).data, { ...stage, by: 'system' });
    const log = await hooks.deliveries(SYSTEM, created.webhook.id);
    assert.equal(log.length, 1);
    assert.equal(log[0]!.attempts, 1);
    // The secret is stored sealed, never in clear.
    const row = await repo.findById(created.webhook.id, DEFAULT_PROJECT_REF.id);
    assert.ok(row && !row.secretCiphertext.includes(secret));
  });

  it('retries a failing receiver, records every attempt, and marks the delivery failed at the end', async () => {
    const created = await hooks.create(SYSTEM, { url, events: ['version.failed'], description: '' });
    secret = created.secret;
    status = 503;
    try {
      await events.record(SYSTEM, { type: 'version.failed', data: { model: 'm', version: 1, reason: 'corrupt' } });
      const [d] = await deliverAll(created.webhook.id, 3);
      assert.equal(d!.status, 'failed');
      assert.equal(d!.attempts, 3);
      // Every attempt is one Standard Webhooks message: the same webhook-id, so a receiver can drop repeats.
      const tries = rx.got.filter((g) => g.headers['x-modelyard-delivery'] === d!.id);
      assert.equal(tries.length, 3);
      assert.ok(tries.every((g) => g.standard && g.headers['webhook-id'] === d!.id));
      assert.equal(d!.responseStatus, 503);
      assert.match(d!.lastError!, /HTTP 503/);
    } finally {
      status = 200;
    }
  });

  it('refuses to store a webhook aimed at a literal internal address, or a URL with credentials', async () => {
    for (const bad of [
      'http://169.254.169.254/latest/meta-data',
      'http://[::ffff:10.0.0.1]/',
      'http://user:pw@hooks.example/',
    ]) {
      await assert.rejects(
        hooks.create(SYSTEM, { url: bad, events: ['stage.changed'], description: '' }),
        (e: Error & { code?: string }) => e.code === 'VALIDATION_FAILED' && /webhook URL/.test(e.message),
        bad,
      );
    }
  });

  it('records a refused delivery when the target is not allowed, without contacting it or retrying', async () => {
    const config = loadWorkerConfig(integrationEnv());
    const strict = await NestFactory.createApplicationContext(
      ServerCoreModule.forRoot({ config, logger: createLogger(config.log, 'webhook-strict') }),
      { logger: false },
    );
    const seen = rx.got.length;
    try {
      // Stored while allowed (e.g. before an operator narrowed OUTBOUND_ALLOW_HOSTS), delivered by a strict worker.
      const created = await hooks.create(SYSTEM, { url, events: ['model.created'], description: '' });
      await events.record(SYSTEM, { type: 'model.created', data: { model: 'x' } });
      const [d] = await repo.deliveries(created.webhook.id, 10);
      const r = await strict
        .get(WebhookDeliveryService)
        .handle({ deliveryId: d!.id }, { jobId: d!.id, attempt: 1, maxAttempts: 8, updateProgress: async () => {} });
      assert.deepEqual(r, { delivered: false, refused: true });
      const [after] = await hooks.deliveries(SYSTEM, created.webhook.id);
      assert.equal(after!.status, 'failed');
      assert.equal(after!.lastError, 'refused: the target address is not allowed');
      assert.equal(after!.responseStatus, null);
      assert.equal(rx.got.length, seen);
    } finally {
      await strict.close();
    }
  });

  it('delivers nothing for the alerts of silent versions', async () => {
    const created = await hooks.create(SYSTEM, { url, events: ['alert.firing'], description: '' });
    const alert = {
      id: '3f1c7f0e-0000-4000-8000-000000000001',
      model: 'shadow',
      version: 2,
      ruleId: 'r1',
      kind: 'error_rate' as const,
      state: 'firing' as const,
      silent: true,
      message: 'errors',
      value: 0.5,
      threshold: 0.1,
      details: {},
      firedAt: new Date().toISOString(),
      resolvedAt: null,
    };
    await events.record(SYSTEM, { type: 'alert.firing', objectId: alert.id, data: alert });
    assert.deepEqual(await repo.deliveries(created.webhook.id, 10), []);
  });
});
