import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const env = e2eEnv();
const REFUSED = 'refused: the target address is not allowed';

/** A TCP listener that records every connection made to it (no HTTP needed: a connection is already a leak). */
async function tcpListener(host: string, port: number) {
  const seen: string[] = [];
  const server = net.createServer((s) => {
    seen.push(`${s.remoteAddress}`);
    s.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
    return { seen, close: () => new Promise<void>((r) => server.close(() => r())) };
  } catch {
    return null; // e.g. no IPv6 on this box: that target is still tried, nothing can answer it
  }
}

/**
 * Every form of "this machine" and of the private networks around it, as a caller would write them. The
 * loopback ones aim at our own listeners; the others are never connected (refused before any packet).
 */
function targets(port: number) {
  return [
    `http://127.0.0.1:${port}/hook`,
    `http://localhost:${port}/hook`,
    `http://[::1]:${port}/hook`,
    `http://0.0.0.0:${port}/hook`,
    `http://127.1:${port}/hook`,
    `http://2130706433:${port}/hook`,
    `http://0x7f000001:${port}/hook`,
    `http://[::ffff:127.0.0.1]:${port}/hook`,
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/hook',
    'http://100.64.0.1/hook',
    'http://192.168.0.1/hook',
  ];
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * SSRF through prediction callbacks and webhooks. This test runs its own api and worker (own Redis prefix): the
 * api accepts every target (an allow-list as wide as the targets, so the requests reach the worker), and the
 * worker runs with the default settings, no allow-list, as `npm start` and production do. Every target must end
 * `refused` and the local listeners must see no connection.
 */
describe('outbound requests (callbacks, webhooks) cannot reach internal addresses', () => {
  const procs: AppProcess[] = [];
  const prefix = uniqueId('ssrf');
  let api = '';
  let model = '';
  let port = 0;
  const listeners: { seen: string[]; close: () => Promise<void> }[] = [];
  const admin = (method: string, p: string, body?: unknown, headers?: Record<string, string>) =>
    http(api, method, p, { token: env.adminApiKey, body, headers });
  const connections = () => listeners.flatMap((l) => l.seen);

  before(async () => {
    port = await freePort();
    for (const host of ['127.0.0.1', '::1']) {
      const l = await tcpListener(host, port);
      if (l) listeners.push(l);
    }
    model = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg')).model;
    const apiPort = await freePort();
    const a = startApp('api-ssrf', 'api', {
      REDIS_PREFIX: prefix,
      API_PORT: String(apiPort),
      OUTBOUND_ALLOW_HOSTS:
        '127.0.0.0/8 ::1 0.0.0.0/8 169.254.0.0/16 10.0.0.0/8 100.64.0.0/10 192.168.0.0/16 localhost',
    });
    procs.push(a);
    procs.push(startApp('worker-ssrf', 'worker', { REDIS_PREFIX: prefix, OUTBOUND_ALLOW_HOSTS: '' }));
    api = `http://127.0.0.1:${apiPort}`;
    await waitReady(`${api}/readyz`, a);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await Promise.all(listeners.map((l) => l.close()));
  });

  it('refuses every callback target: the job says "refused", nothing connects', async (t) => {
    const row = records(samples('iris_logreg')).slice(0, 1);
    const jobs: { url: string; id: string }[] = [];
    for (const url of targets(port)) {
      const r = await admin(
        'POST',
        `/v1/models/${model}/predict:async`,
        { payload: row },
        {
          'x-callback-url': url,
          'x-callback-secret': 'callback-secret-0123456789',
        },
      );
      assert.equal(r.status, 202, `${url}: ${r.text}`);
      jobs.push({ url, id: r.json.jobId });
    }
    for (const j of jobs) {
      const job = await until(`the callback of ${j.url}`, async () => {
        const r = await admin('GET', `/v1/jobs/${j.id}`);
        return r.json.callbackStatus ? r.json : undefined;
      });
      assert.equal(job.status, 'succeeded', job.error);
      assert.equal(job.callbackStatus, REFUSED, j.url);
    }
    assert.deepEqual(connections(), []);
    t.diagnostic(
      `SSRF callback targets tried: ${jobs.length}, reached: ${connections().length} (${listeners.length} loopback listeners)`,
    );
  });

  it('refuses every webhook target: each delivery is failed with "refused", nothing connects', async (t) => {
    const hooks: { url: string; id: string }[] = [];
    try {
      for (const url of targets(port)) {
        const r = await admin('POST', '/v1/webhooks', { url, events: ['model.created'] });
        assert.equal(r.status, 201, `${url}: ${r.text}`);
        hooks.push({ url, id: r.json.webhook.id });
      }
      assert.equal((await admin('POST', '/v1/models', { name: uniqueId('ssrf-hook') })).status, 201);
      for (const h of hooks) {
        const d = await until(`the delivery to ${h.url}`, async () => {
          const r = await admin('GET', `/v1/webhooks/${h.id}/deliveries`);
          return r.json.find((x: { status: string }) => x.status !== 'pending');
        });
        assert.equal(d.status, 'failed', h.url);
        assert.equal(d.lastError, REFUSED, h.url);
        assert.equal(d.responseStatus, null, h.url);
        assert.equal(d.attempts, 1, `${h.url}: a refused target is not retried`);
      }
    } finally {
      for (const h of hooks) await admin('DELETE', `/v1/webhooks/${h.id}`);
    }
    assert.deepEqual(connections(), []);
    t.diagnostic(`SSRF webhook targets tried: ${hooks.length}, reached: ${connections().length}`);
  });

  it("answers 403 to a viewer's key asking for a callback (the predict:callback scope is not a viewer's)", async () => {
    const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', {
      token: env.adminApiKey,
      body: { name: uniqueId('ssrf-viewer'), role: 'viewer' },
    });
    assert.equal(sa.status, 201, sa.text);
    const key = await http(env.apiUrl, 'POST', '/v1/api-keys', {
      token: env.adminApiKey,
      body: { name: 'v', scopes: ['predict'], serviceAccountId: sa.json.id },
    });
    assert.equal(key.status, 201, key.text);
    const r = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict:async`, {
      token: key.json.secret,
      body: { payload: records(samples('iris_logreg')).slice(0, 1) },
      headers: {
        'x-callback-url': 'https://hooks.example.com/done',
        'x-callback-secret': 'callback-secret-0123456789',
      },
    });
    assert.equal(r.status, 403, r.text);
    assert.match(r.json.error.message, /predict:callback/);
    const plain = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict:async`, {
      token: key.json.secret,
      body: { payload: records(samples('iris_logreg')).slice(0, 1) },
    });
    assert.equal(plain.status, 202, 'the same key still predicts asynchronously without a callback');
  });
});
