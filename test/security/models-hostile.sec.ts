import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { FIXTURES_DIR, records, samples } from '../support/fixtures.js';

/**
 * Uploaded models are data, never a key to the box. A scientist registers each model of the hostile corpus
 * (test/fixtures/hostile, see its README) through the CLI, as CI would. Each must end `failed` with a clear
 * reason; the api and the worker must stay healthy (a good model registered after the bombs still becomes ready
 * and answers); and the bytes of the file the external-data models point at (a canary under the processes'
 * working directory, the repository root) must appear in no answer: CLI output, version JSON, history, failure
 * reasons, predictions.
 */
const env = e2eEnv();
const HOSTILE = path.resolve('test/fixtures/hostile');
// The location the external-data models name, relative to the api's and worker's working directory.
const CANARY_FILE = path.resolve('.data/hostile-canary.txt');
const canary = `CANARY-${randomBytes(16).toString('hex')}`.slice(0, 32);
const home = mkdtempSync(path.join(os.tmpdir(), 'modelyard-hostile-'));

/** Everything the platform answered during this test, for the leak check at the end. */
const answers: string[] = [];
const record = (what: string, text: string) => {
  answers.push(`${what}: ${text}`);
  return text;
};

function cli(args: string[], key: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.resolve('apps/cli/bin/modelyard.js'), ...args], {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, '.config'),
        MODELYARD_URL: env.apiUrl,
        MODELYARD_API_KEY: key,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('close', (code) => {
      record(`cli ${args.join(' ')}`, stdout + stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

function rowsFile(rows: unknown[]): string {
  const file = path.join(home, `${uniqueId('rows')}.json`);
  writeFileSync(file, JSON.stringify(rows));
  return file;
}

interface Case {
  file: string;
  rows?: unknown[];
  reason: RegExp;
}
const CASES: Case[] = [
  {
    file: 'external-cwd',
    rows: [[0]],
    reason:
      /^The model references external data \(.*initializer "W" at location "(\.data\/hostile-canary\.txt|<path>)"\); external data is not accepted: upload a self-contained model/,
  },
  {
    file: 'external-absolute',
    rows: [[0]],
    reason: /^The model references external data \(.*"(\/etc\/hostname|<path>)"\)/,
  },
  {
    file: 'external-dotdot',
    rows: [[0]],
    reason: /^The model references external data \(.*"((\.\.\/)+etc\/hostname|<path>)"\)/,
  },
  {
    file: 'external-subgraph',
    rows: [[true]],
    reason: /^The model references external data \(.*then_branch.*"(\.data\/hostile-canary\.txt|<path>)"\)/,
  },
  { file: 'bomb-packed-int64', reason: /^onnxruntime could not load the model: .*/ },
  { file: 'bomb-many-nodes', reason: /more than 1000000 nested records; it is refused as a protobuf bomb/ },
  { file: 'bomb-deep-nesting', reason: /nests more than 64 levels deep; it is refused as a protobuf bomb/ },
  { file: 'absurd-dims', reason: /^Input "X" declares 500000000 values per row/ },
  { file: 'loop-forever', reason: /^Validation took longer than \d+ s/ },
  { file: 'shape-blowup', rows: [[100_000], [100_000]], reason: /^Validation used more than \d+ MB of memory/ },
  { file: 'truncated', reason: /truncated or corrupt/ },
];

describe('hostile models (registered through the CLI)', () => {
  let key: string;
  let good: { model: string; version: number };
  const results: {
    file: string;
    model: string;
    version?: number;
    status?: string;
    reason?: string;
    exit?: number | null;
  }[] = [];

  before(async () => {
    mkdirSync(path.dirname(CANARY_FILE), { recursive: true });
    writeFileSync(CANARY_FILE, canary);
    const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', {
      token: env.adminApiKey,
      body: { name: uniqueId('hostile-ci'), role: 'scientist' },
    });
    assert.equal(sa.status, 201, sa.text);
    const k = await http(env.apiUrl, 'POST', '/v1/api-keys', {
      token: env.adminApiKey,
      body: { name: 'ci', scopes: ['models:read', 'models:write', 'predict'], serviceAccountId: sa.json.id },
    });
    assert.equal(k.status, 201, k.text);
    key = k.json.secret;
    // A good model in Production before the attack, which must keep answering through it.
    const model = uniqueId('hostile-good');
    const r = await cli(
      ['register', '--model', model, '--file', path.join(FIXTURES_DIR, 'iris_logreg/model.onnx'), '--wait', '--json'],
      key,
    );
    assert.equal(r.code, 0, r.stderr);
    good = { model, version: (JSON.parse(r.stdout) as { version: number }).version };
    const p = await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/${good.version}/stage`, {
      token: env.adminApiKey,
      body: { stage: 'Production' },
    });
    assert.equal(p.status, 200, p.text);
  });

  after(() => {
    rmSync(CANARY_FILE, { force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('fails every hostile model with a clear reason', async () => {
    await Promise.all(
      CASES.map(async (c) => {
        const model = uniqueId(`hostile-${c.file}`);
        const args = [
          'register',
          '--model',
          model,
          '--file',
          path.join(HOSTILE, `${c.file}.onnx`),
          '--wait',
          '--timeout',
          '240',
        ];
        const r = await cli(c.rows ? [...args, '--sample-input', rowsFile(c.rows)] : args, key);
        const versions = await http(env.apiUrl, 'GET', `/v1/models/${model}/versions`, { token: key });
        record(`versions of ${c.file}`, versions.text);
        const v = (versions.json as { version: number; status: string; failureReason: string | null }[])[0];
        // Recorded before any assertion, so the leak check below sees every version, failed or not.
        results.push({
          file: c.file,
          model,
          version: v?.version,
          status: v?.status,
          reason: v?.failureReason ?? undefined,
          exit: r.code,
        });
      }),
    );
    for (const c of CASES) {
      const r = results.find((x) => x.file === c.file)!;
      assert.equal(r.exit, 1, `${c.file}: the CLI reports the failure (exit 1)`);
      assert.equal(r.status, 'failed', `${c.file} ended ${r.status}`);
      assert.match(r.reason ?? '', c.reason, `${c.file}: ${r.reason}`);
      assert.match(answers.find((a) => a.startsWith(`cli register --model ${r.model} `)) ?? '', /failed validation/);
    }
  });

  it('refuses an upload over MAX_UPLOAD_BYTES and keeps nothing', async () => {
    const limit = Number(process.env.E2E_MAX_UPLOAD_BYTES ?? 2 * 1024 * 1024);
    const file = path.join(home, 'oversized.onnx');
    // A real model followed by padding: past the limit by one byte.
    const iris = readFileSync(path.join(FIXTURES_DIR, 'iris_logreg/model.onnx'));
    writeFileSync(file, Buffer.concat([iris, Buffer.alloc(limit + 1 - iris.length)]));
    const model = uniqueId('hostile-oversized');
    const r = await cli(['register', '--model', model, '--file', file, '--wait'], key);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /larger than the limit of \d+ bytes \(PAYLOAD_TOO_LARGE, HTTP 413\)/);
    const versions = await http(env.apiUrl, 'GET', `/v1/models/${model}/versions`, { token: key });
    record('versions of oversized', versions.text);
    assert.ok(versions.status === 404 || (Array.isArray(versions.json) && versions.json.length === 0), versions.text);
    results.push({ file: 'oversized', model, status: 'refused' });
  });

  it('keeps the api and worker healthy: probes answer, the good model answers, a good version registered after the bombs becomes ready', async () => {
    for (const probe of ['/healthz', '/readyz']) {
      const h = await http(env.apiUrl, 'GET', probe);
      record(probe, h.text);
      assert.equal(h.status, 200, `${probe}: ${h.text}`);
    }
    const rows = records(samples('iris_logreg')).slice(0, 2);
    const before = await http(env.apiUrl, 'POST', `/v1/models/${good.model}/predict`, {
      token: key,
      body: { payload: rows },
    });
    record('prediction of the good model', before.text);
    assert.equal(before.status, 200, before.text);
    const after = uniqueId('hostile-after');
    const r = await cli(
      [
        'register',
        '--model',
        after,
        '--file',
        path.join(FIXTURES_DIR, 'iris_rf/model.onnx'),
        '--wait',
        '--json',
        '--sample-input',
        rowsFile(rows),
      ],
      key,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'ready');
  });

  it('leaks no byte of the referenced file: not in versions, history, reasons or predictions', async () => {
    for (const r of results.filter((x) => x.version !== undefined)) {
      const history = await http(env.apiUrl, 'GET', `/v1/models/${r.model}/history`, { token: key });
      record(`history of ${r.file}`, history.text);
      const version = await http(env.apiUrl, 'GET', `/v1/models/${r.model}/versions/${r.version}`, { token: key });
      record(`version of ${r.file}`, version.text);
      const input = { payload: r.file === 'external-subgraph' ? [[true]] : [[0]] };
      for (const route of [`/v1/models/${r.model}/versions/${r.version}/predict`, `/v1/models/${r.model}/predict`]) {
        const p = await http(env.apiUrl, 'POST', route, { token: key, body: input });
        record(`prediction ${route}`, p.text);
        // Not found, forbidden or "no version in Production": never an answer, never a server error.
        assert.ok([403, 404, 503].includes(p.status), `${r.file} ${route}: ${p.status} ${p.text}`);
      }
    }
    // The canary as text, and as the numbers a tensor built from its bytes would hold.
    const asNumbers = [...Buffer.from(canary)].join(',');
    const leaks = answers.filter((a) => a.includes(canary) || a.replace(/\.0\b|\s/g, '').includes(asNumbers));
    // Crashes are what the health test above would have caught (a dead api or worker); accepted, what got `ready`.
    const accepted = results.filter((r) => r.status !== 'failed' && r.status !== 'refused');
    console.log(
      `# hostile models tried: ${results.length}, accepted: ${accepted.length}, answers checked: ${answers.length}, bytes leaked: ${leaks.length ? canary.length : 0}`,
    );
    assert.deepEqual(leaks, [], 'no answer carries the canary');
    assert.ok(existsSync(CANARY_FILE));
  });
});
