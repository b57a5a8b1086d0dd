import { before, after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Webhook } from 'standardwebhooks';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { assertClose, records, registerFile, registerFixture, samples } from '../support/fixtures.js';

const env = e2eEnv();
const admin = (method: string, p: string, body?: unknown, headers?: Record<string, string>) =>
  http(env.apiUrl, method, p, { token: env.adminApiKey, body, headers });
const iris = samples('iris_logreg');
const irisRows = records(iris);
const FEATURES = iris.feature_names;

/** Polls a job until it leaves queued/running. */
async function finished(id: string, token = env.adminApiKey, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await http(env.apiUrl, 'GET', `/v1/jobs/${id}`, { token });
    assert.equal(r.status, 200, r.text);
    if (!['queued', 'running'].includes(r.json.status)) return r.json;
    assert.ok(Date.now() < until, `job ${id} still ${r.json.status} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** `n` CSV rows cycling through the fixture's sample records, with an id column first. */
function irisCsv(n: number, { bad = {} as Record<number, string> } = {}) {
  const lines = [`id,${FEATURES.join(',')}`];
  for (let i = 0; i < n; i++) {
    const r = irisRows[i % irisRows.length]!;
    lines.push(bad[i] ?? `e${i},${FEATURES.map((f) => r[f]).join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}

async function upload(spec: unknown, body: string, filename: string, token = env.adminApiKey) {
  const form = new FormData();
  form.append('spec', JSON.stringify(spec));
  form.append('file', new Blob([body]), filename);
  const res = await fetch(`${env.apiUrl}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function download(id: string, kind: string) {
  const res = await fetch(`${env.apiUrl}/v1/jobs/${id}/files/${kind}`, {
    headers: { authorization: `Bearer ${env.adminApiKey}` },
  });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

async function predictKey() {
  const sa = await admin('POST', '/v1/service-accounts', { name: uniqueId('jobs-sa'), role: 'viewer' });
  return (await admin('POST', '/v1/api-keys', { name: 'k', scopes: ['predict'], serviceAccountId: sa.json.id })).json
    .secret as string;
}

describe('async predictions', () => {
  let model: string;
  let receiver: Server;
  let received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const secret = 'callback-secret-0123456789';

  before(async () => {
    model = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg')).model;
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });
  after(() => receiver.close());

  it('answers 202 with a status URL, and the job holds the answer in the request format', async () => {
    const key = await predictKey();
    const body = { payload: irisRows.slice(0, 5) };
    const r = await http(env.apiUrl, 'POST', `/v1/models/${model}/predict:async`, { token: key, body });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.statusUrl, `/v1/jobs/${r.json.jobId}`);
    assert.equal(r.headers.get('location'), r.json.statusUrl);
    const job = await finished(r.json.jobId, key);
    assert.equal(job.status, 'succeeded', job.error);
    assert.equal(job.type, 'predict_async');
    assert.deepEqual(job.result.predictions, iris.expected.label.slice(0, 5));
    assertClose(
      job.result.predictions_prob,
      iris.expected.probabilities.slice(0, 5),
      iris.tolerance.probabilities,
      'async modelyard',
    );
    assert.ok(job.startedAt && job.finishedAt && job.expiresAt);
    // Another caller with only the predict scope does not see it; the admin does.
    const other = await predictKey();
    assert.equal((await http(env.apiUrl, 'GET', `/v1/jobs/${job.id}`, { token: other })).status, 404);
    assert.equal((await http(env.apiUrl, 'GET', '/v1/jobs?type=predict_async', { token: other })).json.items.length, 0);
    assert.ok(
      (await admin('GET', `/v1/jobs?type=predict_async&model=${model}`)).json.items.some(
        (j: { id: string }) => j.id === job.id,
      ),
    );
  });

  it('takes the other request formats: Open Inference Protocol v2 and MLflow CSV', async () => {
    const v2 = await admin('POST', `/v1/models/${model}/predict:async?format=v2`, {
      id: 'req-7',
      inputs: [
        { name: 'float_input', shape: [2, 4], datatype: 'FP32', data: iris.input_data.float_input!.slice(0, 2) },
      ],
    });
    assert.equal(v2.status, 202, v2.text);
    const j1 = await finished(v2.json.jobId);
    assert.equal(j1.result.id, 'req-7');
    assert.equal(j1.result.model_name, model);
    const csv = `${FEATURES.join(',')}\n${FEATURES.map((f) => irisRows[0]![f]).join(',')}\n`;
    const m = await admin('POST', `/v1/models/${model}/predict:async?format=mlflow`, csv, {
      'content-type': 'text/csv',
    });
    assert.equal(m.status, 202, m.text);
    assert.deepEqual((await finished(m.json.jobId)).result, { predictions: [iris.expected.label[0]] });
  });

  it('refuses bad input at once with a 400, and a CSV body outside MLflow with a 415', async () => {
    const bad = await admin('POST', `/v1/models/${model}/predict:async`, { payload: [{ sepal_length: 'x' }] });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json.error.message, /sepal|feature/);
    const csv = await admin('POST', `/v1/models/${model}/predict:async`, 'a,b\n1,2\n', { 'content-type': 'text/csv' });
    assert.equal(csv.status, 415, csv.text);
    const fmt = await admin('POST', `/v1/models/${model}/predict:async?format=xml`, { payload: [] });
    assert.equal(fmt.status, 400, fmt.text);
    const short = await admin(
      'POST',
      `/v1/models/${model}/predict:async`,
      { payload: irisRows.slice(0, 1) },
      { 'x-callback-url': 'http://127.0.0.1:1/x', 'x-callback-secret': 'short' },
    );
    assert.equal(short.status, 400, short.text);
  });

  it("pushes the result to the callback URL, signed with the caller's secret (Standard Webhooks, legacy header)", async () => {
    received = [];
    const port = (receiver.address() as AddressInfo).port;
    const r = await admin(
      'POST',
      `/v1/models/${model}/predict:async`,
      { payload: irisRows.slice(0, 2) },
      {
        'x-callback-url': `http://127.0.0.1:${port}/hook`,
        'x-callback-secret': secret,
      },
    );
    assert.equal(r.status, 202, r.text);
    await finished(r.json.jobId);
    for (let i = 0; i < 100 && !received.length; i++) await new Promise((res) => setTimeout(res, 100));
    assert.equal(received.length, 1);
    const { headers, body } = received[0]!;
    const expected = `sha256=${createHmac('sha256', secret).update(`${headers['x-modelyard-timestamp']}.${body}`).digest('hex')}`;
    assert.equal(headers['x-modelyard-signature'], expected);
    // A secret without `whsec_` is a raw key: the Standard Webhooks library verifies it with format "raw".
    new Webhook(secret, { format: 'raw' }).verify(body, headers as Record<string, string>);
    assert.equal(headers['webhook-id'], r.json.jobId);
    const payload = JSON.parse(body);
    assert.equal(payload.jobId, r.json.jobId);
    assert.deepEqual(payload.result.predictions, iris.expected.label.slice(0, 2));
    const job = await finished(r.json.jobId);
    assert.equal(job.callbackStatus, 'delivered');
  });
});

describe('batch scoring', () => {
  let model: string;
  const s3 = new S3Client({
    endpoint: process.env.S3_ENDPOINT,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: process.env.S3_ACCESS_KEY_ID!, secretAccessKey: process.env.S3_SECRET_ACCESS_KEY! },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

  before(async () => {
    model = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg')).model;
  });
  after(() => s3.destroy());

  it('scores an uploaded CSV: input columns plus predictions, bad rows in an error file with the reason', async () => {
    const csv = irisCsv(300, { bad: { 7: 'e7,5.1,oops,1.4,0.2', 100: 'e100,5.1,3.5', 200: 'e200,,3.5,1.4,0.2' } });
    const r = await upload({ model }, csv, 'input.csv');
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.status, 'queued');
    const job = await finished(r.json.id);
    assert.equal(job.status, 'succeeded', job.error);
    assert.deepEqual([job.rowsIn, job.rowsOut, job.rowsFailed, job.progress], [300, 297, 3, 100]);
    assert.match(job.outputUri, /^file:\/\/.*\/jobs\/.*\/predictions\.csv$/);
    const out = await download(job.id, 'output');
    assert.equal(out.status, 200);
    assert.match(out.type!, /text\/csv/);
    const lines = out.text.trimEnd().split('\n');
    assert.equal(
      lines[0],
      `id,${FEATURES.join(',')},prediction,${iris.classes.map((c) => `probability_${c}`).join(',')}`,
    );
    assert.equal(lines.length, 1 + 297);
    // Every good row once, in input order, with the fixture's expected answer.
    const ids = lines.slice(1).map((l) => l.split(',')[0]);
    assert.deepEqual(
      ids,
      Array.from({ length: 300 }, (_, i) => `e${i}`).filter((id) => !['e7', 'e100', 'e200'].includes(id)),
    );
    const first = lines[1]!.split(',');
    assert.equal(Number(first[5]), iris.expected.label[0]);
    assertClose(
      [first.slice(6).map(Number)],
      [iris.expected.probabilities[0]!],
      iris.tolerance.probabilities,
      'batch row 0',
    );
    const errors = await download(job.id, 'errors');
    const errLines = errors.text.trimEnd().split('\n');
    assert.equal(errLines[0], 'line,error,row');
    assert.equal(errLines.length, 4);
    assert.match(errLines[1]!, /^8,.*sepal_width.*oops.*,"e7,5\.1,oops,1\.4,0\.2"$/);
    assert.match(errLines[2]!, /^101,"expected 5 fields, got 3","e100,5\.1,3\.5"$/);
    assert.match(errLines[3]!, /^201,.*sepal_length.*missing/);
    assert.equal((await download(job.id, 'input')).text, csv);
  });

  it('scores a file already in S3 into an id + predictions file beside it, and fills the prediction store', async () => {
    const key = `inputs/${uniqueId('batch')}/customers.csv`;
    await s3.send(new PutObjectCommand({ Bucket: process.env.S3_BUCKET, Key: key, Body: irisCsv(50) }));
    const r = await admin('POST', '/v1/jobs', {
      model,
      inputUri: `s3://${process.env.S3_BUCKET}/${key}`,
      output: { columns: 'id', idColumn: 'id' },
      store: { entityColumn: 'id' },
    });
    assert.equal(r.status, 202, r.text);
    const job = await finished(r.json.id);
    assert.equal(job.status, 'succeeded', job.error);
    assert.equal(
      job.outputUri,
      `s3://${process.env.S3_BUCKET}/${key.replace(/\.csv$/, '')}.${job.id.slice(0, 8)}.predictions.csv`,
    );
    const obj = await s3.send(
      new GetObjectCommand({ Bucket: process.env.S3_BUCKET, Key: job.outputUri.replace(/^s3:\/\/[^/]+\//, '') }),
    );
    const lines = (await obj.Body!.transformToString()).trimEnd().split('\n');
    assert.equal(lines[0], `id,prediction,${iris.classes.map((c) => `probability_${c}`).join(',')}`);
    assert.equal(lines.length, 51);
    assert.equal(job.errorsUri, null);

    const key2 = await predictKey();
    const hit = await http(env.apiUrl, 'GET', `/v1/models/${model}/predictions/e3`, { token: key2 });
    assert.equal(hit.status, 200, hit.text);
    assert.equal(hit.json.source, 'store');
    assert.equal(hit.json.jobId, job.id);
    assert.equal(hit.json.prediction, iris.expected.label[3 % irisRows.length]);
    // Missing entity: a live prediction from features in the query; none given: 404.
    const row = irisRows[1]!;
    const live = await http(
      env.apiUrl,
      'GET',
      `/v1/models/${model}/predictions/new-customer?${FEATURES.map((f) => `${f}=${row[f]}`).join('&')}`,
      { token: key2 },
    );
    assert.equal(live.status, 200, live.text);
    assert.equal(live.json.source, 'live');
    assert.equal(live.json.prediction, iris.expected.label[1]);
    assertClose(
      [Object.values(live.json.probabilities as Record<string, number>)],
      [iris.expected.probabilities[1]!],
      iris.tolerance.probabilities,
      'live',
    );
    assert.equal(
      (await http(env.apiUrl, 'GET', `/v1/models/${model}/predictions/nobody`, { token: key2 })).status,
      404,
    );
    const badFeature = await http(env.apiUrl, 'GET', `/v1/models/${model}/predictions/nobody?sepal_length=abc`, {
      token: key2,
    });
    assert.equal(badFeature.status, 400, badFeature.text);
  });

  it('scores JSON Lines from the local storage folder', async () => {
    const dir = path.join(process.env.E2E_STORAGE_LOCAL_ROOT!, 'inputs', uniqueId('jsonl'));
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'rows.jsonl');
    writeFileSync(
      file,
      `${irisRows
        .slice(0, 4)
        .map((r, i) => JSON.stringify({ id: `j${i}`, ...r }))
        .join('\n')}\nnot json\n`,
    );
    const r = await admin('POST', '/v1/jobs', { model, inputUri: pathToFileURL(file).href });
    assert.equal(r.status, 202, r.text);
    const job = await finished(r.json.id);
    assert.deepEqual([job.status, job.rowsOut, job.rowsFailed], ['succeeded', 4, 1]);
    const lines = (await download(job.id, 'output')).text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines[2].id, 'j2');
    assert.equal(lines[2].prediction, iris.expected.label[2]);
    assert.deepEqual(Object.keys(lines[2].probabilities), iris.classes.map(String));
    assert.match((await download(job.id, 'errors')).text, /"line":5,"error":"not valid JSON"/);
  });

  it('refuses what it cannot run with a clear 4xx and queues nothing', async () => {
    const before = (await admin('GET', `/v1/jobs?model=${model}&limit=200`)).json.items.length;
    assert.equal((await admin('POST', '/v1/jobs', { model: 'no-such-model', inputUri: 's3://x/y.csv' })).status, 404);
    assert.equal(
      (await admin('POST', '/v1/jobs', { model, inputUri: `s3://${process.env.S3_BUCKET}/missing/file.csv` })).status,
      404,
    );
    assert.equal((await admin('POST', '/v1/jobs', { model, inputUri: 'http://example.com/x.csv' })).status, 400);
    assert.equal(
      (await admin('POST', '/v1/jobs', { model, inputUri: `s3://${process.env.S3_BUCKET}/x.xlsx` })).status,
      400,
    );
    assert.equal((await admin('POST', '/v1/jobs', { model })).status, 400);
    assert.equal((await admin('POST', '/v1/jobs', { model, inputUri: 'file:///etc/passwd' })).status, 400);
    const noExt = await upload({ model }, 'a,b\n', 'data.bin');
    assert.equal(noExt.status, 400, JSON.stringify(noExt.json));
    const badId = await upload({ model, output: { columns: 'id' } }, 'a\n', 'x.csv');
    assert.equal(badId.status, 400);
    assert.equal((await admin('GET', `/v1/jobs?model=${model}&limit=200`)).json.items.length, before);
    // A viewer key cannot start one.
    const viewer = await predictKey();
    assert.equal((await upload({ model }, irisCsv(2), 'x.csv', viewer)).status, 403);
  });

  it('a job whose id column is missing fails with the reason, and can be retried into the same failure', async () => {
    const r = await upload({ model, output: { columns: 'id', idColumn: 'customer' } }, irisCsv(5), 'x.csv');
    assert.equal(r.status, 202);
    const job = await finished(r.json.id);
    assert.equal(job.status, 'failed');
    assert.match(job.error, /id column "customer" is not a column/);
    const retry = await admin('POST', `/v1/jobs/${job.id}/retry`);
    assert.equal(retry.status, 200, retry.text);
    assert.equal((await finished(job.id)).status, 'failed');
    assert.equal((await admin('POST', `/v1/jobs/${job.id}/cancel`)).status, 409);
  });

  it('cancels a running job and a retry finishes it with exactly one output row per input row', async () => {
    // A model whose cost grows with the rows (~0.7 ms of a core a row): the job runs for seconds, so the cancel
    // reaches it running however fast the batch engine gets.
    const slow = await registerFile(env.apiUrl, env.adminApiKey, path.resolve('test/fixtures/rowcost_iris.onnx'), {
      spec: { sampleInput: records(iris).slice(0, 3) },
    });
    const n = 20_000;
    const r = await upload({ model: slow.model }, irisCsv(n), 'big.csv');
    assert.equal(r.status, 202);
    const c = await admin('POST', `/v1/jobs/${r.json.id}/cancel`);
    assert.equal(c.status, 200, c.text);
    assert.equal(c.json.status, 'cancelled');
    await new Promise((res) => setTimeout(res, 500));
    const stopped = (await admin('GET', `/v1/jobs/${r.json.id}`)).json;
    assert.equal(stopped.status, 'cancelled');
    assert.ok(stopped.rowsIn < n, `the cancelled job went on to ${stopped.rowsIn} rows`);
    assert.equal((await admin('POST', `/v1/jobs/${r.json.id}/retry`)).status, 200);
    const job = await finished(r.json.id, env.adminApiKey, 120_000);
    assert.equal(job.status, 'succeeded', job.error);
    assert.deepEqual([job.rowsIn, job.rowsOut], [n, n]);
    const lines = (await download(job.id, 'output')).text.trimEnd().split('\n');
    assert.equal(lines.length, n + 1);
    const ids = new Set(lines.slice(1).map((l) => l.slice(0, l.indexOf(','))));
    assert.equal(ids.size, n);
  });
});

describe('scheduled scoring', () => {
  it('scores each new file under its prefix once with the production version; pause and delete', async () => {
    const { model, version } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const dir = path.join(process.env.E2E_STORAGE_LOCAL_ROOT!, 'scheduled', uniqueId('s'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'a.csv'), irisCsv(10));
    writeFileSync(path.join(dir, 'b.csv'), irisCsv(20));
    writeFileSync(path.join(dir, 'notes.txt'), 'not an input');
    const prefix = `${pathToFileURL(dir).href}/`;
    const bad = await admin('POST', '/v1/schedules', {
      name: 'nightly',
      model,
      cron: 'every day',
      inputPrefix: prefix,
    });
    assert.equal(bad.status, 400, bad.text);
    const c = await admin('POST', '/v1/schedules', { name: 'nightly', model, cron: '0 3 * * *', inputPrefix: prefix });
    assert.equal(c.status, 201, c.text);
    assert.equal(c.json.paused, false);
    assert.ok(Date.parse(c.json.nextRunAt) > Date.now(), `nextRunAt ${c.json.nextRunAt}`);
    assert.equal(
      (await admin('POST', '/v1/schedules', { name: 'nightly', model, cron: '0 3 * * *', inputPrefix: prefix })).status,
      409,
    );

    const jobsOf = async () =>
      (
        (await admin('GET', `/v1/jobs?model=${model}`)).json.items as {
          id: string;
          scheduleId: string;
          inputUri: string;
        }[]
      ).filter((j) => j.scheduleId === c.json.id);
    assert.equal((await admin('POST', `/v1/schedules/${c.json.id}/run`)).status, 202);
    let jobs: Awaited<ReturnType<typeof jobsOf>> = [];
    for (let i = 0; i < 100 && jobs.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      jobs = await jobsOf();
    }
    assert.deepEqual(jobs.map((j) => path.basename(j.inputUri)).sort(), ['a.csv', 'b.csv']);
    const done = await Promise.all(jobs.map((j) => finished(j.id)));
    assert.ok(done.every((j) => j.status === 'succeeded' && j.version === version));
    assert.deepEqual(
      done.map((j) => j.rowsOut).sort((a, b) => a - b),
      [10, 20],
    );
    // A second run finds nothing new (its own outputs in the folder are not inputs).
    assert.equal((await admin('POST', `/v1/schedules/${c.json.id}/run`)).status, 202);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await jobsOf()).length, 2);

    const p = await admin('POST', `/v1/schedules/${c.json.id}/pause`);
    assert.equal(p.status, 200);
    assert.deepEqual([p.json.paused, p.json.nextRunAt], [true, null]);
    const listed = (await admin('GET', '/v1/schedules')).json.find((s: { id: string }) => s.id === c.json.id);
    assert.equal(listed.paused, true);
    assert.ok(listed.lastRunAt);
    assert.equal((await admin('DELETE', `/v1/schedules/${c.json.id}`)).status, 204);
    assert.equal(
      (await admin('GET', '/v1/schedules')).json.some((s: { id: string }) => s.id === c.json.id),
      false,
    );
  });
});
