import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';

const env = e2eEnv();

/**
 * Promotion swaps the serving version atomically: under a continuous load of 32 connections, promoting a new
 * version and rolling back produce zero failed requests.
 */
describe('promotion under load', () => {
  it('promotes and rolls back with 32 concurrent connections and zero failed requests', async () => {
    const v1 = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const v2 = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { model: v1.model, promote: false });
    const body = JSON.stringify({ payload: records(samples('iris_logreg')).slice(0, 5) });
    const statuses = new Map<number, number>();
    const versions = new Map<string, number>();
    let stop = false;
    let sent = 0;
    const worker = async () => {
      while (!stop) {
        sent++;
        try {
          const r = await fetch(`${env.apiUrl}/v1/models/${v1.model}/predict`, {
            method: 'POST',
            headers: { authorization: `Bearer ${env.adminApiKey}`, 'content-type': 'application/json' },
            body,
          });
          await r.arrayBuffer();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          const v = r.headers.get('x-model-version') ?? '?';
          versions.set(v, (versions.get(v) ?? 0) + 1);
        } catch {
          statuses.set(0, (statuses.get(0) ?? 0) + 1);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 32 }, worker));
    const stage = (version: number) =>
      http(env.apiUrl, 'POST', `/v1/models/${v1.model}/versions/${version}/stage`, {
        token: env.adminApiKey,
        body: { stage: 'Production', comment: 'load test' },
      });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await stage(v2.version)).status, 200, 'promote v2');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await stage(v1.version)).status, 200, 'roll back to v1');
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await load;
    const summary = JSON.stringify({
      sent,
      statuses: Object.fromEntries(statuses),
      versions: Object.fromEntries(versions),
    });
    assert.deepEqual([...statuses.keys()], [200], `every request answered 200: ${summary}`);
    assert.ok((versions.get(String(v2.version)) ?? 0) > 0, `v2 served traffic: ${summary}`);
    assert.ok((versions.get(String(v1.version)) ?? 0) > 0, `v1 served traffic: ${summary}`);
    assert.ok(sent > 500, `the load was real: ${summary}`);
  });
});

describe('deployment rollback under load', () => {
  it('pins, pins again and rolls back with 32 concurrent connections and zero failed requests', async () => {
    const v1 = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const v2 = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { model: v1.model, promote: false });
    const body = JSON.stringify({ payload: records(samples('iris_logreg')).slice(0, 3) });
    const statuses = new Map<number, number>();
    const versions = new Set<string>();
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const r = await fetch(`${env.apiUrl}/v1/models/${v1.model}/predict`, {
            method: 'POST',
            headers: { authorization: `Bearer ${env.adminApiKey}`, 'content-type': 'application/json' },
            body,
          });
          await r.arrayBuffer();
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          versions.add(r.headers.get('x-model-version') ?? '?');
        } catch {
          statuses.set(0, (statuses.get(0) ?? 0) + 1);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 32 }, worker));
    const pause = () => new Promise((r) => setTimeout(r, 1000));
    const put = (version: number) =>
      http(env.apiUrl, 'PUT', `/v1/models/${v1.model}/deployment`, {
        token: env.adminApiKey,
        body: { config: { production: { mode: 'pinned', version } } },
      });
    const rollback = (body: object) =>
      http(env.apiUrl, 'POST', `/v1/models/${v1.model}/deployment/rollback`, { token: env.adminApiKey, body });
    await pause();
    assert.equal((await put(v2.version)).status, 200); // revision 1: v2
    await pause();
    assert.equal((await put(v1.version)).status, 200); // revision 2: v1
    await pause();
    assert.equal((await rollback({})).status, 200); // revision 3 = revision 1: v2
    await pause();
    assert.equal((await rollback({ revision: 2 })).status, 200); // revision 4 = revision 2: v1
    await pause();
    stop = true;
    await load;
    const summary = JSON.stringify({ statuses: Object.fromEntries(statuses), versions: [...versions] });
    assert.deepEqual([...statuses.keys()], [200], summary);
    assert.ok(versions.has(String(v1.version)) && versions.has(String(v2.version)), summary);
  });
});
