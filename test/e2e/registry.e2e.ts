import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';

const env = e2eEnv();
const FIXTURES = path.resolve('test/fixtures/models');
const localRoot = process.env.E2E_STORAGE_LOCAL_ROOT!;
const maxUpload = Number(process.env.E2E_MAX_UPLOAD_BYTES);
const home = mkdtempSync(path.join(os.tmpdir(), 'modelyard-reg-'));

function cli(key: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.resolve('apps/cli/bin/modelyard.js'), ...args, '--json'], {
    env: { PATH: process.env.PATH, HOME: home, MODELYARD_URL: env.apiUrl, MODELYARD_API_KEY: key },
    encoding: 'utf8',
  });
  let json: any;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { code: r.status, json, stdout: r.stdout, stderr: r.stderr };
}

async function keyFor(role: string, scopes: string[]) {
  const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', {
    token: env.adminApiKey,
    body: { name: uniqueId(`reg-${role}`), role },
  });
  const k = await http(env.apiUrl, 'POST', '/v1/api-keys', {
    token: env.adminApiKey,
    body: { name: role, scopes, serviceAccountId: sa.json.id },
  });
  assert.equal(k.status, 201, k.text);
  return k.json.secret as string;
}

/**
 * A GET on a connection of its own. The CLI runs with spawnSync, which stops this process's event loop for
 * seconds: a pooled keep-alive socket the api closed meanwhile still looks open, and fetch's next request on it
 * fails with "other side closed" (a race of the test, not of the api).
 */
function fresh(
  url: string,
  token: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every file under the local artifact root for one model: proves what is (not) left behind. */
function localBlobs(model: string): string[] {
  const dir = path.join(localRoot, 'models', model);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => d.name);
}

describe('model registry end to end (CLI, three storage backends)', () => {
  let scientist: string;
  let approver: string;
  before(async () => {
    scientist = await keyFor('scientist', ['models:read', 'models:write']);
    approver = await keyFor('approver', ['models:read', 'models:write', 'models:promote']);
  });

  const cases = [
    { fixture: 'iris_logreg', backend: 'local', scheme: 'file:' },
    { fixture: 'iris_rf', backend: 's3', scheme: 's3:' },
    { fixture: 'digits_mlp', backend: 'azure', scheme: 'azure:' },
  ];
  for (const c of cases) {
    it(`registers ${c.fixture} to ${c.backend}, promotes it as approver (not as scientist), and records every step`, async () => {
      const samples = JSON.parse(readFileSync(path.join(FIXTURES, c.fixture, 'samples.json'), 'utf8'));
      const model = uniqueId(c.fixture.replace('_', '-'));
      const reg = cli(scientist, [
        'register',
        '--model',
        model,
        '--file',
        path.join(FIXTURES, c.fixture, 'model.onnx'),
        '--backend',
        c.backend,
        '--reference',
        path.join(FIXTURES, c.fixture, 'reference.json'),
        '--tag',
        'team=ml',
        '--metric',
        'accuracy=0.95',
        '--git-commit',
        'deadbeef',
        '--ci-job-url',
        'https://ci.example/job/1',
        '--wait',
      ]);
      assert.equal(reg.code, 0, reg.stderr + reg.stdout);
      const v = reg.json;
      assert.equal(v.status, 'ready', v.failureReason);
      assert.equal(v.storage.backend, c.backend);
      assert.equal(new URL(v.storage.uri).protocol, c.scheme);
      assert.equal(v.signature.inputs[0].name, samples.inputs[0].name);
      assert.deepEqual(v.signature.inputs[0].columns, samples.inputs[0].columns);
      assert.deepEqual(v.tags, { team: 'ml' });
      assert.deepEqual(v.metrics, { accuracy: 0.95 });
      assert.equal(v.lineage.gitCommit, 'deadbeef');
      assert.equal(v.hasReference, true);

      const refused = cli(scientist, [
        'promote',
        '--model',
        model,
        '--version',
        String(v.version),
        '--stage',
        'Production',
      ]);
      assert.equal(refused.code, 1);
      assert.equal(refused.json.error.status, 403);

      const staged = cli(scientist, [
        'promote',
        '--model',
        model,
        '--version',
        String(v.version),
        '--stage',
        'Staging',
        '--comment',
        'ready for review',
      ]);
      assert.equal(staged.code, 0, staged.stderr + staged.stdout);
      const promoted = cli(approver, [
        'promote',
        '--model',
        model,
        '--version',
        String(v.version),
        '--stage',
        'Production',
        '--comment',
        'ship it',
      ]);
      assert.equal(promoted.code, 0, promoted.stderr + promoted.stdout);
      assert.equal(promoted.json.version.stage, 'Production');

      const download = await fresh(`${env.apiUrl}/v1/models/${model}/versions/${v.version}/artifact`, scientist);
      assert.equal(download.status, 200);
      assert.equal(download.headers['x-checksum-sha256'], v.sha256);
      assert.deepEqual(download.body, readFileSync(path.join(FIXTURES, c.fixture, 'model.onnx')));

      const history = (await http(env.apiUrl, 'GET', `/v1/models/${model}/history`, { token: scientist })).json;
      const steps = history.map((h: any) => `${h.kind}:${h.from ?? ''}->${h.to ?? ''}`).reverse();
      assert.deepEqual(steps, [
        'model:->created',
        'registered:->pending',
        'status:pending->ready',
        'stage:None->Staging',
        'stage:Staging->Production',
      ]);
      assert.equal(history[0].comment, 'ship it');
    });
  }

  it('fails a corrupt file with a clear reason (CLI exit 1) and removes its blob', () => {
    const model = uniqueId('corrupt');
    const file = path.join(home, 'corrupt.onnx');
    writeFileSync(file, Buffer.from('definitely not protobuf'.repeat(20)));
    const r = cli(scientist, ['register', '--model', model, '--file', file, '--wait']);
    assert.equal(r.code, 1);
    assert.equal(r.json.status, 'failed');
    assert.match(r.json.failureReason, /onnx|model|protobuf|parse/i);
    assert.deepEqual(localBlobs(model), []);
  });

  it('refuses an upload twice over the limit with 413 and keeps nothing', async () => {
    const model = uniqueId('huge');
    const file = path.join(home, 'huge.onnx');
    writeFileSync(file, Buffer.alloc(maxUpload * 2, 1));
    const r = cli(scientist, ['register', '--model', model, '--file', file]);
    assert.equal(r.code, 1);
    assert.equal(r.json.error.status, 413);
    assert.equal(r.json.error.code, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual(localBlobs(model), []);
    const versions = await http(env.apiUrl, 'GET', `/v1/models/${model}/versions`, { token: scientist });
    assert.deepEqual(versions.status === 200 ? versions.json : [], []);
  });

  it('keeps nothing of an upload whose connection drops midway', async () => {
    const model = uniqueId('truncated');
    const boundary = 'xyzTRUNCATED';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n{}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="m.onnx"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    await new Promise<void>((resolve) => {
      const req = request(`${env.apiUrl}/v1/models/${model}/versions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${scientist}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(head.length + 500_000),
        },
      });
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.write(head);
      req.write(Buffer.alloc(100_000, 7), () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 300),
      );
    });
    // The server notices the aborted stream; give it a moment to clean up.
    for (let i = 0; i < 50 && localBlobs(model).length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(localBlobs(model), []);
    const versions = await http(env.apiUrl, 'GET', `/v1/models/${model}/versions`, { token: scientist });
    assert.deepEqual(versions.status === 200 ? versions.json : [], []);
  });
});
