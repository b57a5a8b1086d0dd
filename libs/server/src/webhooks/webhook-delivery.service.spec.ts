import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { JobName, TWebhookPayload } from '@modelyard/contracts';
import type { DeliveredEvent } from '../events/event-consumer.js';
import type { OutboundHttp, OutboundRequest, OutboundResult } from '../outbound/outbound-http.js';
import type { JobContext } from '../queue/job-handler.js';
import type { JobProducer } from '../queue/job-producer.js';
import { SecretBox } from './secret-box.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';
import type { WebhooksRepository } from './webhooks.repository.js';

const KEY = 'a-secret-key-of-this-install';
const ctx = (attempt = 1, maxAttempts = 8): JobContext => ({
  jobId: 'q',
  attempt,
  maxAttempts,
  updateProgress: async () => {},
});
const AT = new Date(Date.UTC(2030, 0, 1));
const event = (over: Partial<DeliveredEvent> = {}): DeliveredEvent => ({
  id: 'e1',
  type: 'model.created',
  actor: { kind: 'user', id: 'u1', name: 'Ada', apiKeyId: null, ip: null },
  objectType: 'model',
  objectId: 'm1',
  project: 'default',
  data: { model: 'iris' },
  createdAt: AT,
  ...over,
});

type Hook = { id: string; url: string; active: boolean; events: string[]; secretCiphertext: string };
type Delivery = { id: string; webhookId: string; event: string; eventId: string; payload: unknown; status: string };

/** Webhooks, their delivery rows (one per webhook and event id), queued jobs and the receiver's answers in memory. */
function fakes() {
  const box = new SecretBox(KEY);
  const hooks: Hook[] = [
    {
      id: 'h1',
      url: 'https://a.example/hook',
      active: true,
      events: ['model.created'],
      secretCiphertext: box.seal('s1'),
    },
    {
      id: 'h2',
      url: 'https://b.example/hook',
      active: true,
      events: ['alert.firing'],
      secretCiphertext: box.seal('s2'),
    },
    { id: 'h3', url: 'https://c.example/hook', active: false, events: ['model.created'], secretCiphertext: '' },
  ];
  const deliveries = new Map<string, Delivery>();
  const attempts: { id: string; data: Record<string, unknown> }[] = [];
  const queued: { name: JobName; payload: unknown; opts: unknown }[] = [];
  const posts: { url: string; req: OutboundRequest }[] = [];
  const answer = { result: { outcome: 'answered', status: 204 } as OutboundResult };
  const repo = {
    subscribedTo: async (e: string, _project: string) =>
      hooks.filter((h) => h.active && h.events.includes(e)).map((h) => ({ id: h.id })),
    createDelivery: async (webhookId: string, ev: string, eventId: string, payload: unknown) => {
      const found = [...deliveries.values()].find((d) => d.webhookId === webhookId && d.eventId === eventId);
      if (found) return found;
      const d = { id: `d${deliveries.size + 1}`, webhookId, event: ev, eventId, payload, status: 'pending' };
      deliveries.set(d.id, d);
      return d;
    },
    findDelivery: async (id: string) => {
      const d = deliveries.get(id);
      return d ? { ...d, webhook: hooks.find((h) => h.id === d.webhookId)! } : null;
    },
    recordAttempt: async (id: string, data: { status: string }) => {
      attempts.push({ id, data });
      deliveries.get(id)!.status = data.status;
    },
  } as unknown as WebhooksRepository;
  const producer = {
    enqueue: async (name: JobName, payload: unknown, opts: unknown) => void queued.push({ name, payload, opts }),
  } as unknown as JobProducer;
  const outbound = {
    post: async (url: string, req: OutboundRequest) => {
      posts.push({ url, req });
      return answer.result;
    },
  } as unknown as OutboundHttp;
  return { hooks, deliveries, attempts, queued, posts, answer, repo, producer, outbound };
}

describe(WebhookDeliveryService.name, () => {
  let f: ReturnType<typeof fakes>;
  let sut: WebhookDeliveryService;
  beforeEach(() => {
    f = fakes();
    sut = new WebhookDeliveryService(f.repo, f.producer, KEY, f.outbound);
  });

  describe('consume', () => {
    it('creates one delivery per active subscribed webhook and queues it under an id from the delivery', async () => {
      await sut.consume(event());
      assert.deepEqual(
        [...f.deliveries.values()],
        [
          {
            id: 'd1',
            webhookId: 'h1',
            event: 'model.created',
            eventId: 'e1',
            status: 'pending',
            payload: {
              id: 'e1',
              event: 'model.created',
              at: AT.toISOString(),
              project: 'default',
              data: { model: 'iris', by: 'Ada' },
            },
          },
        ],
      );
      assert.deepEqual(f.queued, [
        {
          name: 'webhook.deliver',
          payload: { deliveryId: 'd1' },
          opts: { jobId: 'webhook-d1', attempts: 8, backoff: { type: 'exponential', delay: 2000 } },
        },
      ]);
    });

    it('creates nothing new when the same event is delivered again', async () => {
      await sut.consume(event());
      await sut.consume(event());
      assert.equal(f.deliveries.size, 1);
      assert.deepEqual(
        f.queued.map((q) => (q.opts as { jobId: string }).jobId),
        ['webhook-d1', 'webhook-d1'],
      );
    });

    it('delivers nothing for events without a webhook name, nor for alerts of silent versions', async () => {
      await sut.consume(event({ type: 'group.created', data: { name: 'g' } }));
      await sut.consume(event({ id: 'e2', type: 'alert.firing', data: { model: 'iris', silent: true } }));
      assert.deepEqual([f.deliveries.size, f.queued.length], [0, 0]);
      await sut.consume(event({ id: 'e3', type: 'alert.firing', data: { model: 'iris', silent: false } }));
      assert.deepEqual(
        [...f.deliveries.values()].map((d) => [d.webhookId, d.event]),
        [['h2', 'alert.firing']],
      );
    });
  });

  describe('handle', () => {
    beforeEach(async () => {
      await sut.consume(event());
    });

    it('POSTs the payload with Standard Webhooks headers and the legacy signature, and records success', async () => {
      const r = await sut.handle({ deliveryId: 'd1' }, ctx());
      assert.deepEqual(r, { delivered: true, status: 204 });
      const [{ url, req }] = f.posts as [{ url: string; req: OutboundRequest }];
      assert.equal(url, 'https://a.example/hook');
      const h = req.headers as Record<string, string>;
      const body = req.body as string;
      assert.deepEqual(JSON.parse(body), f.deliveries.get('d1')!.payload);
      assert.deepEqual(
        [h['content-type'], h['x-modelyard-event'], h['x-modelyard-delivery']],
        ['application/json', 'model.created', 'd1'],
      );
      assert.ok(Math.abs(Number(h['x-modelyard-timestamp']) - Date.now() / 1000) < 5);
      // Standard Webhooks: the delivery id as message id, and HMAC over "<id>.<timestamp>.<body>" in base64.
      assert.equal(h['webhook-id'], 'd1');
      assert.equal(h['webhook-timestamp'], h['x-modelyard-timestamp']);
      const v1 = createHmac('sha256', 's1').update(`d1.${h['webhook-timestamp']}.${body}`).digest('base64');
      assert.equal(h['webhook-signature'], `v1,${v1}`);
      // The deprecated header, kept for one release: HMAC over "<timestamp>.<body>" in hex.
      const mac = createHmac('sha256', 's1').update(`${h['x-modelyard-timestamp']}.${body}`).digest('hex');
      assert.equal(h['x-modelyard-signature'], `sha256=${mac}`);
      assert.equal(req.timeoutMs, 10_000);
      assert.deepEqual(f.attempts, [
        { id: 'd1', data: { status: 'succeeded', responseStatus: 204, lastError: null, delivered: true } },
      ]);
    });

    it('throws on a non-2xx answer so the queue retries, keeping the delivery pending until the last attempt', async () => {
      f.answer.result = { outcome: 'answered', status: 503 };
      await assert.rejects(
        sut.handle({ deliveryId: 'd1' }, ctx(1, 8)),
        /webhook delivery d1 failed: receiver answered HTTP 503/,
      );
      assert.deepEqual(f.attempts.at(-1)!.data, {
        status: 'pending',
        responseStatus: 503,
        lastError: 'receiver answered HTTP 503',
        delivered: false,
      });
      f.answer.result = { outcome: 'failed', reason: 'timed out' };
      await assert.rejects(sut.handle({ deliveryId: 'd1' }, ctx(8, 8)), /timed out/);
      assert.deepEqual(f.attempts.at(-1)!.data, {
        status: 'failed',
        responseStatus: null,
        lastError: 'timed out',
        delivered: false,
      });
    });

    it('ends a delivery the outbound policy refuses at once, without a retry', async () => {
      f.answer.result = { outcome: 'refused', reason: 'the target address is not allowed' };
      assert.deepEqual(await sut.handle({ deliveryId: 'd1' }, ctx(1, 8)), { delivered: false, refused: true });
      assert.deepEqual(f.attempts, [
        {
          id: 'd1',
          data: {
            status: 'failed',
            responseStatus: null,
            lastError: 'refused: the target address is not allowed',
            delivered: false,
          },
        },
      ]);
    });

    it('skips a delivery that is gone, already delivered or whose webhook was switched off', async () => {
      assert.deepEqual(await sut.handle({ deliveryId: 'nope' }, ctx()), { skipped: true });
      await sut.handle({ deliveryId: 'd1' }, ctx());
      assert.deepEqual(await sut.handle({ deliveryId: 'd1' }, ctx()), { skipped: true });
      const payload: TWebhookPayload = {
        id: 'e9',
        event: 'model.created',
        at: AT.toISOString(),
        project: 'default',
        data: {},
      };
      const d2 = await f.repo.createDelivery('h1', 'model.created', 'e9', payload);
      f.hooks[0]!.active = false;
      assert.deepEqual(await sut.handle({ deliveryId: d2.id }, ctx()), { skipped: true });
      assert.equal(f.posts.length, 1);
    });
  });
});
