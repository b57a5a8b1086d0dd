import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Role, TCreateWebhookRequest } from '@modelyard/contracts';
import { testPrincipal } from '../auth/principal.test-support.js';
import { recordedEvents } from '../events/events.test-support.js';
import type { OutboundHttp } from '../outbound/outbound-http.js';
import { AppError } from '../platform/errors.js';
import { SecretBox } from './secret-box.js';
import type { WebhooksRepository } from './webhooks.repository.js';
import { WebhooksService } from './webhooks.service.js';

const KEY = 'a-secret-key-of-this-install';
const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;
const person = (role: Role) => testPrincipal({ id: `${role}-1`, name: role, role });
const CREATED = new Date(Date.UTC(2030, 0, 1));
const req = (over: Partial<TCreateWebhookRequest> = {}): TCreateWebhookRequest => ({
  url: 'https://hooks.example/modelyard',
  events: ['model.created', 'alert.firing', 'model.created'],
  description: 'ops channel',
  ...over,
});

type Row = {
  id: string;
  url: string;
  description: string;
  events: string[];
  active: boolean;
  createdAt: Date;
  secretCiphertext: string;
  createdByName: string | null;
};

/** Webhooks and their deliveries in memory; the outbound policy refuses literal 10.x addresses. */
function fakes() {
  const hooks = new Map<string, Row>();
  const deliveries: Record<string, unknown>[] = [];
  const limits: number[] = [];
  const repo = {
    list: async () => [...hooks.values()],
    findById: async (id: string) => hooks.get(id) ?? null,
    create: async (data: Omit<Row, 'id' | 'active' | 'createdAt'>) => {
      const row = { ...data, id: `w${hooks.size + 1}`, active: true, createdAt: CREATED };
      hooks.set(row.id, row);
      return row;
    },
    delete: async (id: string) => ({ count: Number(hooks.delete(id)) }),
    deliveries: async (id: string, limit: number) => {
      limits.push(limit);
      return deliveries.filter((d) => d.webhookId === id).slice(0, limit);
    },
  } as unknown as WebhooksRepository;
  const outbound = {
    literalRefusal: (raw: string) =>
      new URL(raw).hostname.startsWith('10.')
        ? 'points at a private address, which outbound requests may not reach'
        : null,
  } as unknown as OutboundHttp;
  return { hooks, deliveries, limits, repo, outbound };
}

describe(WebhooksService.name, () => {
  let f: ReturnType<typeof fakes>;
  let events: ReturnType<typeof recordedEvents>;
  let sut: WebhooksService;
  beforeEach(() => {
    f = fakes();
    events = recordedEvents();
    sut = new WebhooksService(f.repo, events, KEY, f.outbound);
  });

  it('creates a webhook, shows its secret once and stores the secret only sealed under SECRET_KEY', async () => {
    const { webhook, secret } = await sut.create(person('admin'), req());
    assert.deepEqual(webhook, {
      id: 'w1',
      url: 'https://hooks.example/modelyard',
      description: 'ops channel',
      events: ['model.created', 'alert.firing'],
      active: true,
      createdAt: CREATED.toISOString(),
    });
    // Standard Webhooks: whsec_ and the base64 of 24 random bytes.
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/);
    assert.equal(Buffer.from(secret.slice(6), 'base64').length, 24);
    const stored = f.hooks.get('w1')!;
    assert.ok(!stored.secretCiphertext.includes(secret));
    assert.equal(new SecretBox(KEY).open(stored.secretCiphertext), secret);
    assert.equal(stored.createdByName, 'admin');
    assert.deepEqual(
      events.recorded.map((e) => [e.type, e.objectId, e.data]),
      [
        [
          'webhook.created',
          'w1',
          { url: 'https://hooks.example/modelyard', events: ['model.created', 'alert.firing'] },
        ],
      ],
    );
    // The listing never carries the secret.
    assert.deepEqual(await sut.list(person('admin')), [webhook]);
    const second = await sut.create(person('admin'), req());
    assert.notEqual(second.secret, secret);
  });

  it('refuses, with a 400 naming the problem, URLs with credentials, other schemes or a forbidden address', async () => {
    const cases: [string, string][] = [
      ['https://user:pw@hooks.example/x', 'The webhook URL must not carry credentials'],
      ['ftp://hooks.example/x', 'The webhook URL must be an http or https URL'],
      ['not a url', 'The webhook URL is not a URL'],
      ['http://10.0.0.8/x', 'The webhook URL points at a private address, which outbound requests may not reach'],
    ];
    for (const [url, message] of cases) {
      await assert.rejects(
        sut.create(person('admin'), req({ url })),
        (e) => code('VALIDATION_FAILED')(e) && (e as Error).message === message,
      );
    }
    assert.deepEqual([f.hooks.size, events.recorded.length], [0, 0]);
  });

  it('deletes a webhook with webhook.deleted naming its URL, and answers 404 for one that is not there', async () => {
    await sut.create(person('admin'), req());
    await sut.delete(person('admin'), 'w1');
    assert.equal(f.hooks.size, 0);
    assert.deepEqual(events.recorded.at(-1)!.type, 'webhook.deleted');
    assert.deepEqual(events.recorded.at(-1)!.data, { url: 'https://hooks.example/modelyard' });
    await assert.rejects(sut.delete(person('admin'), 'w1'), code('NOT_FOUND'));
    await assert.rejects(sut.deliveries(person('admin'), 'w1'), code('NOT_FOUND'));
  });

  it("lists a webhook's deliveries as the API shows them, asking for between 1 and 500", async () => {
    await sut.create(person('admin'), req());
    const at = new Date(Date.UTC(2030, 0, 2));
    f.deliveries.push({
      id: 'd1',
      webhookId: 'w1',
      event: 'model.created',
      eventId: 'e1',
      status: 'succeeded',
      attempts: 2,
      responseStatus: 200,
      lastError: null,
      createdAt: CREATED,
      lastAttemptAt: at,
      deliveredAt: at,
      payload: { secret: 'not shown' },
    });
    assert.deepEqual(await sut.deliveries(person('admin'), 'w1'), [
      {
        id: 'd1',
        event: 'model.created',
        eventId: 'e1',
        status: 'succeeded',
        attempts: 2,
        responseStatus: 200,
        lastError: null,
        createdAt: CREATED.toISOString(),
        lastAttemptAt: at.toISOString(),
        deliveredAt: at.toISOString(),
      },
    ]);
    await sut.deliveries(person('admin'), 'w1', 0);
    await sut.deliveries(person('admin'), 'w1', 10_000);
    assert.deepEqual(f.limits, [100, 1, 500]);
  });

  it('is for admins only', async () => {
    await sut.create(person('admin'), req());
    for (const role of ['viewer', 'scientist'] as const) {
      await assert.rejects(sut.list(person(role)), code('FORBIDDEN'));
      await assert.rejects(sut.create(person(role), req()), code('FORBIDDEN'));
      await assert.rejects(sut.delete(person(role), 'w1'), code('FORBIDDEN'));
      await assert.rejects(sut.deliveries(person(role), 'w1'), code('FORBIDDEN'));
    }
    assert.equal(f.hooks.size, 1);
  });
});
