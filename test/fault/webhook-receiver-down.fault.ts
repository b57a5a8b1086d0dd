import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { registerFixture } from '../support/fixtures.js';
import { freePort } from '../support/processes.js';

const env = e2eEnv();
const token = env.adminApiKey;

/**
 * A webhook receiver down for 2 minutes while events happen: once it is back, every event is delivered, none
 * lost and none twice (deliveries are retried with backoff: 2, 4, 8 ... 128 s; a delivery is a Postgres row the
 * reconciler re-queues should its queue entry be lost).
 */
describe('a webhook receiver down for two minutes', () => {
  let server: Server | null = null;
  let webhookId = '';
  after(async () => {
    if (webhookId) await http(env.apiUrl, 'DELETE', `/v1/webhooks/${webhookId}`, { token });
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  it('gets every event exactly once after it returns', { timeout: 280_000 }, async () => {
    const port = await freePort();
    const created = await http(env.apiUrl, 'POST', '/v1/webhooks', {
      token,
      body: { url: `http://127.0.0.1:${port}/hook`, events: ['version.registered'] },
    });
    assert.equal(created.status, 201, created.text);
    webhookId = created.json.webhook.id;
    const downSince = Date.now();
    const models: string[] = [];
    for (let i = 0; i < 3; i++)
      models.push(
        (await registerFixture(env.apiUrl, token, 'iris_logreg', { promote: false, model: uniqueId('hookdown') }))
          .model,
      );

    await new Promise((r) => setTimeout(r, Math.max(0, 120_000 - (Date.now() - downSince))));
    const received: { id: string; event: string; model: string }[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const p = JSON.parse(body) as { id: string; event: string; data: { model: string } };
        received.push({ id: p.id, event: p.event, model: p.data.model });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));
    const back = Date.now();

    const ours = () => received.filter((r) => models.includes(r.model));
    while (ours().length < models.length && Date.now() - back < 120_000) await new Promise((r) => setTimeout(r, 500));
    await new Promise((r) => setTimeout(r, 3_000)); // anything doubled would arrive by now
    const got = ours();
    console.log(
      `webhook receiver down ${Math.round((back - downSince) / 1000)} s: ${got.length} of ${models.length} events delivered ${Math.round((Date.now() - back) / 1000)} s after it returned`,
    );
    assert.deepEqual(got.map((g) => g.model).sort(), [...models].sort(), 'every event, once');
    assert.equal(new Set(got.map((g) => g.id)).size, got.length, 'no event id twice');
    const items = (await http(env.apiUrl, 'GET', `/v1/webhooks/${webhookId}/deliveries`, { token })).json as {
      status: string;
      attempts: number;
    }[];
    assert.equal(items.length, models.length);
    assert.ok(
      items.every((d) => d.status === 'succeeded'),
      JSON.stringify(items),
    );
    assert.ok(
      items.every((d) => d.attempts > 1),
      'each was retried while the receiver was down',
    );
  });
});
