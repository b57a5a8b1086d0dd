import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFile, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';

const env = e2eEnv();
/** This test's own api process (set in before()): quiet, so p50s measure the silent version and nothing else. */
let apiUrl = env.apiUrl;
const admin = (method: string, p: string, body?: unknown) => http(apiUrl, method, p, { token: env.adminApiKey, body });

/** `connections` loops sending one-row predictions for `ms`; every answer checked, latencies collected. */
async function load(model: string, ms: number, connections: number) {
  const body = JSON.stringify({ payload: records(samples('iris_logreg')).slice(0, 1) });
  const latencies: number[] = [];
  const versions = new Map<string, number>();
  let failed = 0;
  const until = Date.now() + ms;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        const t = performance.now();
        const res = await fetch(`${apiUrl}/v1/models/${model}/predict`, {
          method: 'POST',
          headers: { authorization: `Bearer ${env.adminApiKey}`, 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
        if (res.status !== 200) failed++;
        const k = `${res.headers.get('x-model-version')}/${res.headers.get('x-deployment-role')}`;
        versions.set(k, (versions.get(k) ?? 0) + 1);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { p50: latencies[Math.floor(latencies.length / 2)]!, n: latencies.length, failed, versions };
}

/**
 * A silent version that burns ~30 ms of CPU per call (test/fixtures/slow_iris.onnx: iris_logreg's answers, slowly)
 * receives a copy of every production request. Production's p50 must not move by more than 10 %: the silent
 * runs are capped in concurrency and in CPU time (SILENT_CPU_SHARE), and the rest are dropped and counted.
 */
describe('a slow silent version', () => {
  let model: string;
  let v1: number;
  let v2: number;
  let api: AppProcess | null = null;

  before(async () => {
    // The shared apps log every prediction here (drift tests) and the worker folds them: background work that
    // moves p50 by more than the 10 % this test measures. Its own api, with its own Redis prefix, logs none.
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

  it('does not change production p50 by more than 10 %, never answers, and is compared', async (t) => {
    const silentOn = async (on: boolean) => {
      const r = await admin('PUT', `/v1/models/${model}/deployment`, {
        config: { silent: on ? [{ version: v2, sampleRate: 1 }] : [] },
        comment: on ? 'slow silent on' : 'off',
      });
      assert.equal(r.status, 200, r.text);
      await new Promise((res) => setTimeout(res, 300));
    };
    await load(model, 2000, 8); // warm-up
    const base: number[] = [];
    const shadowed: number[] = [];
    for (let round = 0; round < 7; round++) {
      await silentOn(false);
      const b = await load(model, 2000, 8);
      await silentOn(true);
      const s = await load(model, 2000, 8);
      for (const r of [b, s]) {
        assert.equal(r.failed, 0);
        // Only production ever answers: the silent version's output never reaches a caller.
        assert.deepEqual([...r.versions.keys()], [`${v1}/production`]);
      }
      base.push(b.p50);
      shadowed.push(s.p50);
    }
    // Medians of seven interleaved rounds: this box has two cores, and single runs wander by a fifth.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[3]!;
    const p50Base = median(base);
    const p50Silent = median(shadowed);
    t.diagnostic(
      `p50 without ${base.map((x) => x.toFixed(3)).join(', ')} ms; with the slow silent version ${shadowed.map((x) => x.toFixed(3)).join(', ')} ms`,
    );
    assert.ok(
      p50Silent <= p50Base * 1.1,
      `production p50 ${p50Base.toFixed(3)} ms without the silent version, ${p50Silent.toFixed(3)} ms with it`,
    );

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
