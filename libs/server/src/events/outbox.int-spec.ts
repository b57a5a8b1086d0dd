import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { loadWorkerConfig } from '@modelyard/config';
import { integrationEnv, uniqueId } from '@modelyard/testing';
import { ServerCoreModule } from '../server-core.module.js';
import { createLogger } from '../platform/logger.js';
import { SYSTEM, systemIn } from '../auth/principal.js';
import { DEFAULT_PROJECT_ID, DEFAULT_PROJECT_REF } from '../tenancy/model-key.js';
import { PrismaService } from '../db/prisma.service.js';
import { RedisService } from '../platform/redis.service.js';
import { JobProducer } from '../queue/job-producer.js';
import { RegistryRepository } from '../registry/registry.repository.js';
import { WebhooksService } from '../webhooks/webhooks.service.js';
import { DomainEvents } from './domain-events.js';
import { EventDispatcher, REGISTRY_CHANGED } from './event-dispatcher.js';
import { OutboxRepository } from './outbox.repository.js';

/** The system in the default project, where the test's webhook lives. */
const IN_DEFAULT = systemIn(DEFAULT_PROJECT_REF);

describe('the outbox (real Postgres and Redis)', () => {
  let ctx: INestApplicationContext;
  let db: PrismaService;
  let events: DomainEvents;
  let dispatcher: EventDispatcher;
  let outbox: OutboxRepository;
  let webhookId = '';
  const published: string[] = [];

  before(async () => {
    // The webhook below points at a loopback port nobody listens on: deliveries are queued, never sent here.
    const config = loadWorkerConfig(integrationEnv({ OUTBOUND_ALLOW_HOSTS: '127.0.0.1' }));
    ctx = await NestFactory.createApplicationContext(
      ServerCoreModule.forRoot({ config, logger: createLogger(config.log, 'outbox-test') }),
      { logger: false },
    );
    db = ctx.get(PrismaService);
    events = ctx.get(DomainEvents);
    dispatcher = ctx.get(EventDispatcher);
    outbox = ctx.get(OutboxRepository);
    await ctx.get(RedisService).subscribe(REGISTRY_CHANGED, (m) => published.push(m));
    webhookId = (
      await ctx
        .get(WebhooksService)
        .create(IN_DEFAULT, { url: 'http://127.0.0.1:9/hook', events: ['alias.changed'], description: '' })
    ).webhook.id;
  });
  after(async () => {
    await ctx.get(WebhooksService).delete(IN_DEFAULT, webhookId);
    await ctx.close();
  });

  const eventsAbout = (model: string) =>
    db.client.outboxEvent.findMany({ where: { data: { path: ['model'], equals: model } }, orderBy: { seq: 'asc' } });
  const auditRows = (eventIds: string[]) => db.client.auditLog.findMany({ where: { eventId: { in: eventIds } } });
  const deliveries = (eventIds: string[]) =>
    db.client.webhookDelivery.findMany({ where: { webhookId, eventId: { in: eventIds } } });

  it('a change that fails after recording its event leaves neither: no row, no event, no audit row', async () => {
    const name = `rolled-back-${uniqueId()}`;
    await assert.rejects(
      events.transaction(async () => {
        await ctx.get(RegistryRepository).createModel({
          project: { connect: { id: DEFAULT_PROJECT_ID } },
          name,
          description: '',
          tags: {},
          requiresApproval: false,
          ownerKind: 'system',
          ownerName: 'system',
        });
        await events.record(SYSTEM, { type: 'model.created', data: { model: name } });
        throw new Error('the change failed after its event was recorded');
      }),
      /failed after/,
    );
    assert.equal(await ctx.get(RegistryRepository).findModel(name), null);
    assert.deepEqual(await eventsAbout(name), []);
    assert.deepEqual(await db.client.auditLog.findMany({ where: { summary: { path: ['model'], equals: name } } }), []);
  });

  it('a committed change is audited, delivered and published before the call returns', async () => {
    const name = `committed-${uniqueId()}`;
    await events.change(
      SYSTEM,
      async () => 'changed',
      () => ({ type: 'alias.set', data: { model: name, alias: 'champion', from: null, to: 1 } }),
    );
    const [e] = await eventsAbout(name);
    assert.ok(e?.dispatchedAt, 'dispatched by the writer itself');
    assert.equal((await auditRows([e.id])).length, 1);
    assert.equal((await deliveries([e.id])).length, 1);
    await waitFor(() => published.some((m) => JSON.parse(m).model === name), 'registry-changed published');
  });

  describe('an event whose writer died between its commit and the dispatch', () => {
    const name = `orphaned-${uniqueId()}`;
    const versionId = randomUUID();
    let ids: string[] = [];

    it('waits in the outbox, undelivered', async () => {
      // A transaction not opened through DomainEvents: nothing dispatches after its commit, as if the process died.
      await db.transaction(async () => {
        await events.record(SYSTEM, {
          type: 'version.created',
          objectId: versionId,
          data: { model: name, version: 1, uri: 'file:///x' },
        });
        await events.record(SYSTEM, { type: 'alias.set', data: { model: name, alias: 'champion', from: null, to: 1 } });
      });
      const rows = await eventsAbout(name);
      ids = rows.map((r) => r.id);
      assert.equal(rows.length, 2);
      assert.ok(rows.every((r) => r.dispatchedAt === null));
      assert.deepEqual(await auditRows(ids), []);
      assert.equal((await outbox.backlog()).pending >= 2, true);
    });

    it("is delivered by the worker's backlog pass: audit rows, the webhook delivery, the queued job, the serving message", async () => {
      await dispatcher.dispatchBacklog(0);
      const rows = await eventsAbout(name);
      assert.ok(
        rows.every((r) => r.dispatchedAt !== null),
        'both marked dispatched',
      );
      assert.deepEqual((await auditRows(ids)).map((a) => a.action).sort(), ['alias.set', 'version.created']);
      assert.equal((await deliveries(ids)).length, 1, 'one delivery: only alias.changed is subscribed');
      const job = await ctx.get(JobProducer).queue('registry').getJob(`validate-${versionId}`);
      assert.equal(job?.name, 'registry.validate');
      await waitFor(() => published.some((m) => JSON.parse(m).model === name), 'registry-changed published');
    });

    it('delivered again (a dispatcher that died after its consumers ran), it writes nothing twice', async () => {
      await db.client.outboxEvent.updateMany({
        where: { id: { in: ids } },
        data: { dispatchedAt: null, claimedUntil: null },
      });
      await dispatcher.dispatchBacklog(0);
      assert.equal((await auditRows(ids)).length, 2);
      assert.equal((await deliveries(ids)).length, 1);
      const queued = await ctx
        .get(JobProducer)
        .queue('registry')
        .getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
      assert.equal(queued.filter((j) => j.id === `validate-${versionId}`).length, 1);
    });
  });

  it('an event held by one dispatcher is not taken by another until its lease runs out', async () => {
    const name = `leased-${uniqueId()}`;
    await db.transaction(() => events.record(SYSTEM, { type: 'model.created', data: { model: name } }));
    const [e] = await eventsAbout(name);
    assert.ok(await outbox.claimOne(e!.seq, 60_000), 'the first dispatcher takes it');
    assert.equal(await outbox.claimOne(e!.seq, 60_000), null, 'the second does not');
    await db.client.outboxEvent.update({ where: { seq: e!.seq }, data: { claimedUntil: new Date(Date.now() - 1) } });
    assert.ok(await outbox.claimOne(e!.seq, 60_000), 'taken again once the lease ran out');
    await db.client.outboxEvent.update({ where: { seq: e!.seq }, data: { claimedUntil: null } });
    await dispatcher.dispatch([e!.seq]);
  });
});

async function waitFor(ok: () => boolean, what: string, ms = 5_000) {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) assert.fail(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
