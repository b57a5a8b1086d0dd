import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { e2eEnv, http } from '@modelyard/testing';
import { records, registerFile, samples } from '../support/fixtures.js';
import { metricsText, metricSum, ownApi, percentile, statusLine } from '../support/load.js';
import { RawConnection, rawRequest } from '../support/pipelined-http.js';
import type { AppProcess } from '../support/processes.js';

const env = e2eEnv();

/**
 * A burst far beyond capacity used to be run in full: the caller got 503 at PREDICT_TIMEOUT_MS, but the queued
 * run still executed afterwards for nobody (congestion collapse: the process stays busy with dead requests
 * while new ones time out too). With MAX_INFLIGHT_RUNS=1 and a model taking ~30 ms of CPU per call
 * (test/fixtures/slow_iris.onnx), about a budget's worth of runs execute and the rest are dropped unstarted,
 * their callers answered 503 at their deadline.
 */
describe('floods: a burst beyond inference capacity', () => {
  let api: { url: string; proc: AppProcess };
  let model: string;
  const row = { payload: records(samples('iris_logreg')).slice(0, 1) };

  before(async () => {
    ({ model } = await registerFile(env.apiUrl, env.adminApiKey, path.resolve('test/fixtures/slow_iris.onnx'), {
      spec: { sampleInput: records(samples('iris_logreg')).slice(0, 3) },
    }));
    // One run per request (no micro-batching): slow_iris costs ~30 ms a run whatever its rows, so a burst merged
    // into a few runs would all be answered in time, and the path under test is the gate's queue of runs.
    api = await ownApi('floods-runs', {
      MAX_INFLIGHT_RUNS: '1',
      PREDICT_TIMEOUT_MS: '300',
      SERVING_MICRO_BATCH_ROWS: '0',
    });
    const warm = await http(api.url, 'POST', `/v1/models/${model}/predict`, { token: env.adminApiKey, body: row });
    assert.equal(warm.status, 200, warm.text);
  });
  after(async () => {
    await api?.proc.kill();
  });

  it("runs about a budget's worth of a 300-request burst and answers the rest 503 at their deadline", async (t) => {
    const metric = async (name: string, ...having: string[]) =>
      metricSum(await metricsText(api.url, env.adminApiKey), name, ...having);
    const runs = () => metric('modelyard_inference_duration_seconds_count', `model="${model}"`);
    const dropped = () => metric('modelyard_prediction_runs_dropped_total');
    const [runsBefore, droppedBefore] = [await runs(), await dropped()];
    const n = 300;
    // The connections are open before the first request is written, and all requests go out in one loop,
    // pipelined 30 to a connection: the server gets the whole burst at once, however busy this box is (300
    // connections opened at once could wait in the kernel's accept queue while the server runs a model).
    const port = Number(new URL(api.url).port);
    const conns = await Promise.all(Array.from({ length: 10 }, () => RawConnection.open(port)));
    const headers = { authorization: `Bearer ${env.adminApiKey}`, 'content-type': 'application/json' };
    const request = rawRequest('POST', `/v1/models/${model}/predict`, headers, JSON.stringify(row));
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const a = await conns[i % conns.length]!.send(request);
        return { ...a, ms: performance.now() - started };
      }),
    );
    for (const c of conns) c.close();
    const burstMs = performance.now() - started;
    // Runs that were already going finish; give them a moment before counting.
    await new Promise((r) => setTimeout(r, 500));
    const executed = (await runs()) - runsBefore;
    const droppedRuns = (await dropped()) - droppedBefore;
    const statuses = new Map<number, number>();
    for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    const late = answers
      .filter((a) => a.status === 503)
      .map((a) => a.ms)
      .sort((a, b) => a - b);
    t.diagnostic(
      `burst of ${n} at once, MAX_INFLIGHT_RUNS=1, PREDICT_TIMEOUT_MS=300, ~30 ms per run: ` +
        `${statusLine(statuses)} in ` +
        `${burstMs.toFixed(0)} ms; runs executed ${executed}, dropped unstarted ${droppedRuns}; 503s answered after ` +
        `p50 ${percentile(late, 50)?.toFixed(0)} ms, max ${late.at(-1)?.toFixed(0)} ms`,
    );
    assert.deepEqual(
      [...statuses.keys()].filter((s) => s !== 200 && s !== 503),
      [],
      statusLine(statuses),
    );
    assert.ok((statuses.get(503) ?? 0) > n / 2, statusLine(statuses));
    assert.match(answers.find((a) => a.status === 503)!.body, /longer than its 300 ms budget/);
    // Only about a budget's worth (plus what was going) ran; every other request was dropped before it started.
    assert.ok(executed < n / 4, `${executed} of ${n} runs executed`);
    assert.ok(executed + droppedRuns >= n - 2, `${executed} executed + ${droppedRuns} dropped of ${n}`);
    // The 503s came near the deadline, not after the whole burst had been run (n x 30 ms = 9 s of CPU).
    assert.ok(late.at(-1)! < 4500, `last 503 after ${late.at(-1)} ms`);
    const after = await http(api.url, 'POST', `/v1/models/${model}/predict`, { token: env.adminApiKey, body: row });
    assert.equal(after.status, 200, after.text);
  });
});
