import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const env = e2eEnv();
const token = env.adminApiKey;

/**
 * A replica that misses the registry-changed message of a promotion (here: an api on another Redis prefix, so it
 * hears none of the platform's messages, as a process disconnected at that moment would) still serves the new
 * Production version within SERVING_RESYNC_SECONDS (5 s), from Postgres.
 */
describe('a promotion whose message a replica missed', () => {
  let deaf: AppProcess;
  let deafUrl = '';

  before(async () => {
    const port = await freePort();
    deaf = startApp('api-deaf', 'api', { API_PORT: String(port), REDIS_PREFIX: uniqueId('deaf') });
    deafUrl = `http://127.0.0.1:${port}`;
    await waitReady(`${deafUrl}/readyz`, deaf);
  });
  after(async () => {
    await deaf.kill('SIGKILL');
  });

  it('is served by that replica within 5 s', async () => {
    const { model } = await registerFixture(env.apiUrl, token, 'iris_logreg');
    const body = { payload: [records(samples('iris_logreg'))[0]] };
    const servedBy = async (url: string) => {
      const r = await http(url, 'POST', `/v1/models/${model}/predict`, { token, body });
      assert.equal(r.status, 200, r.text);
      return r.headers.get('x-model-version');
    };
    assert.equal(await servedBy(deafUrl), '1', 'the replica serves version 1 first');
    const v2 = await registerFixture(env.apiUrl, token, 'iris_logreg', { model, promote: false });
    const p = await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/${v2.version}/stage`, {
      token,
      body: { stage: 'Production' },
    });
    assert.equal(p.status, 200, p.text);
    const promotedAt = Date.now();
    assert.equal(await servedBy(env.apiUrl), String(v2.version), 'the api that promoted serves it at once');
    let seen = await servedBy(deafUrl);
    while (seen !== String(v2.version) && Date.now() - promotedAt < 10_000) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await servedBy(deafUrl);
    }
    const healedMs = Date.now() - promotedAt;
    console.log(`missed promotion: served by the deaf replica after ${healedMs} ms`);
    assert.equal(seen, String(v2.version));
    assert.ok(healedMs <= 5_500, `the replica caught up after ${healedMs} ms`);
  });
});
