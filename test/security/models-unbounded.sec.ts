import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { e2eEnv, http } from '@modelyard/testing';
import { registerFile, registerFixture, samples } from '../support/fixtures.js';

/**
 * A model whose work grows with the values of a request, not its size, validates on harmless rows and is then
 * asked for days of work or gigabytes by one small request: `loop-by-input` (a Loop counted by the request's value)
 * and `shape-blowup` (ConstantOfShape of the request), from test/fixtures/hostile. A run of onnxruntime on the api's
 * event loop cannot be interrupted, so before such models were contained one request stopped every project's
 * predictions in the api process, and a 3.6 GB allocation went through. Now each runs in a process of its own with
 * validation's memory cap and time limit (VALIDATION_TIMEOUT_SECONDS, 20 s in tests).
 */
const env = e2eEnv();
const HOSTILE = path.resolve('test/fixtures/hostile');
const iris = samples('iris_logreg').input_data.float_input as number[][];

/** OIP v2 bodies (its errors are `{"error": "<message>"}`). */
const int64 = (shape: number[], data: number[]) => ({ inputs: [{ name: 'X', shape, datatype: 'INT64', data }] });
const infer = (model: string, body: unknown) =>
  http(env.apiUrl, 'POST', `/v2/models/${model}/infer`, { token: env.adminApiKey, body });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('models whose work grows with the request', () => {
  let loop: string;
  let blowup: string;
  let other: string;

  before(async () => {
    const file = (name: string) => path.join(HOSTILE, `${name}.onnx`);
    loop = (await registerFile(env.apiUrl, env.adminApiKey, file('loop-by-input'), { spec: { sampleInput: [[3]] } }))
      .model;
    blowup = (await registerFile(env.apiUrl, env.adminApiKey, file('shape-blowup'))).model;
    other = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg')).model;
    // Both load (and warm) before the attack, so the timings below are the runs'.
    const small = await infer(loop, int64([2, 1], [3, 1]));
    assert.equal(small.status, 200, small.text);
    assert.deepEqual(small.json.outputs[0].data, [6, 4]);
    assert.equal((await infer(blowup, int64([2], [3, 4]))).status, 200);
  });

  it(
    'answers a request that would loop for days 503 at its budget, serves every other model meanwhile, and answers the model again once the run is stopped',
    { timeout: 90_000 },
    async () => {
      const started = Date.now();
      const endless = await infer(loop, int64([1, 1], [1e15]));
      assert.equal(endless.status, 503, endless.text);
      assert.match(endless.json.error, /took longer than its \d+ ms budget/);
      assert.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`);

      // The endless run is still going, in its process. Another model's predictions and the probes answer at once.
      const body = { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: iris[0] }] };
      let slowest = 0;
      for (let i = 0; i < 40; i++) {
        const t = Date.now();
        const r = await infer(other, body);
        slowest = Math.max(slowest, Date.now() - t);
        assert.equal(r.status, 200, r.text);
      }
      assert.ok(slowest < 1000, `the slowest of 40 iris predictions took ${slowest} ms`);
      assert.equal((await http(env.apiUrl, 'GET', '/readyz')).status, 200);

      // At VALIDATION_TIMEOUT_SECONDS the run's process is stopped; a new one answers the model's next requests.
      let again = await infer(loop, int64([2, 1], [3, 1]));
      while (again.status !== 200 && Date.now() - started < 40_000) {
        assert.equal(again.status, 503, again.text);
        await sleep(500);
        again = await infer(loop, int64([2, 1], [3, 1]));
      }
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.json.outputs[0].data, [6, 4]);
      assert.ok(Date.now() - started >= 19_000, 'the endless run held its own model until the limit');
    },
  );

  it(
    "answers a request that would allocate 3.6 GB 400, naming the memory cap, and serves the model's next request",
    { timeout: 30_000 },
    async () => {
      const huge = await infer(blowup, int64([2], [30_000, 30_000]));
      assert.equal(huge.status, 400, huge.text);
      assert.match(huge.json.error, /needed more than the \d+ MB of memory a model may use, on this input/);
      const next = await infer(blowup, int64([2], [3, 4]));
      assert.equal(next.status, 200, next.text);
      assert.deepEqual(next.json.outputs[0].data, [0]);
    },
  );
});
