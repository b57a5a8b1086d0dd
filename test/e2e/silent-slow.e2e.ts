import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFile, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const env = e2eEnv();
/** This test's own api process (set in before()): the slow silent runs use its CPU share, not the shared api's. */
let apiUrl = env.apiUrl;
const admin = (method: string, p: string, body?: unknown) => http(apiUrl, method, p, { token: env.adminApiKey, body });

/** `connections` loops sending one-row predictions for `ms`; every answer checked. */
async function load(model: string, ms: number, connections: number) {
  const body = JSON.stringify({ payload: records(samples('iris_logreg')).slice(0, 1) });
  let n = 0;
  const versions = new Map<string, number>();
  let failed = 0;
  const until = Date.now() + ms;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        const res = await fetch(`${apiUrl}/v1/models/${model}/predict`, {
          method: 'POST',
          headers: { authorization: `Bearer ${env.adminApiKey}`, 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        n++;
        if (res.status !== 200) failed++;
        const k = `${res.headers.get('x-model-version')}/${res.headers.get('x-deployment-role')}`;
        versions.set(k, (versions.get(k) ?? 0) + 1);
      }
    }),
  );
  return { n, failed, versions };
}

/**
 * A silent version that burns ~30 ms of CPU per call (test/fixtures/slow_iris.onnx: iris_logreg's answers, slowly)
 * receives a copy of every production request: the silent runs are capped in concurrency and in CPU time
 * (SILENT_CPU_SHARE), and the rest are dropped and counted. What that costs production's latency is measured by
 * the bench (`npm run bench -- serving`, the modelyard-silent variant), not asserted here.
 */
describe('a slow silent version', () => {
  let model: string;
  let v1: number;
  let v2: number;
  let api: AppProcess | null = null;

  before(async () => {
    // Its own api, with its own Redis prefix, logging no predictions: the other e2e files' latencies never meet
    // this version's 30 ms runs.
    const port = await freePort();
    api = startApp('api-silent', 'api', {
      REDIS_PREFIX: uniqueId('silent'),
      PREDICTION_LOG_SAMPLE_RATE: '0',
      RATE_LIMIT_RPS: '100000',
      RATE_LIMIT_BURST: '100000',
      API_PORT: String(port),
    });
    await waitReady(`http://127.0.0.1:${port}/readyz`, api);
    apiUrl = `http://127.0.0.1:${port}`;
    const a = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    model = a.model;
    v1 = a.version;
    v2 = (
      await registerFile(env.apiUrl, env.adminApiKey, path.resolve('test/fixtures/slow_iris.onnx'), {
        model,
        promote: false,
        spec: { sampleInput: records(samples('iris_logreg')).slice(0, 3) },
      })
    ).version;
  });

  after(async () => {
    await api?.kill();
  });

  it('never answers, is compared on the same inputs, and drops the copies its caps do not allow', async () => {
    const silentOn = async (on: boolean) => {
      const r = await admin('PUT', `/v1/models/${model}/deployment`, {
        config: { silent: on ? [{ version: v2, sampleRate: 1 }] : [] },
        comment: on ? 'slow silent on' : 'off',
      });
      assert.equal(r.status, 200, r.text);
      await new Promise((res) => setTimeout(res, 300));
    };
    await silentOn(true);
    const r = await load(model, 3000, 8);
    assert.equal(r.failed, 0);
    assert.ok(r.n > 100, `${r.n} predictions in 3 s`);
    // Only production ever answers: the silent version's output never reaches a caller.
    assert.deepEqual([...r.versions.keys()], [`${v1}/production`]);

    // Its comparison numbers appear (rollups flush every 2 s in the e2e run): same answers, slower, many dropped.
    let c: any;
    for (let i = 0; i < 50; i++) {
      c = (await admin('GET', `/v1/models/${model}/deployment/comparison?version=${v2}`)).json;
      if (c.compared > 0 && c.latency.candidate.count > 0) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.ok(c.compared > 0, JSON.stringify(c));
    assert.equal(c.labelAgreement, 1);
    assert.ok(c.meanProbAbsDiff < 1e-6, `prob diff ${c.meanProbAbsDiff}`);
    assert.ok(c.dropped > c.compared, `dropped ${c.dropped}, compared ${c.compared}`);
    assert.ok(c.latency.candidate.p50Ms > c.latency.production.p50Ms, JSON.stringify(c.latency));
    await silentOn(false);
  });
});
