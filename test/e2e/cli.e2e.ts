import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';

const env = e2eEnv();
const home = mkdtempSync(path.join(os.tmpdir(), 'modelyard-cli-'));

/**
 * Runs the CLI without blocking this process: with spawnSync the event loop stood still for seconds while the api
 * closed idle keep-alive sockets (HTTP_KEEP_ALIVE_TIMEOUT_MS), and the next fetch went out on a dead pooled
 * socket (EPIPE in the score test's upload).
 */
function cli(args: string[], extraEnv: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [path.resolve('apps/cli/bin/modelyard.js'), ...args], {
      env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('modelyard CLI', () => {
  let key: string;
  let saName: string;
  before(async () => {
    saName = uniqueId('cli-sa');
    const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', {
      token: env.adminApiKey,
      body: { name: saName, role: 'scientist' },
    });
    const k = await http(env.apiUrl, 'POST', '/v1/api-keys', {
      token: env.adminApiKey,
      body: { name: 'ci', scopes: ['models:read', 'jobs'], serviceAccountId: sa.json.id },
    });
    key = k.json.secret;
  });

  it('exits 2 with usage for an unknown command or flag', async () => {
    const r = await cli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command: frobnicate/);
    assert.equal((await cli(['whoami', '--bogus'])).code, 2);
  });

  it('refuses a bad key at login (exit 1) and saves nothing', async () => {
    const r = await cli(['login', '--url', env.apiUrl, '--api-key', `my_aaaaaaaa_${'b'.repeat(40)}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Invalid, expired or revoked API key/);
    assert.equal(existsSync(path.join(home, '.config/modelyard/config.json')), false);
  });

  it('logs in with a key, saves it 0600, and whoami shows the service account', async () => {
    const r = await cli(['login', '--url', env.apiUrl, '--api-key', key]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`as ${saName} \\(scientist\\)`));
    const file = path.join(home, '.config/modelyard/config.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);

    const who = await cli(['whoami']);
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, new RegExp(saName));
    const json = JSON.parse((await cli(['whoami', '--json'])).stdout);
    assert.equal(json.name, saName);
    assert.deepEqual(json.scopes, ['models:read', 'jobs']);
  });

  it('lets MODELYARD_API_KEY override the saved login, and logout forgets it', async () => {
    const adminEnv = { MODELYARD_URL: env.apiUrl, MODELYARD_API_KEY: env.adminApiKey };
    const viaEnv = JSON.parse((await cli(['whoami', '--json'], adminEnv)).stdout);
    assert.equal(viaEnv.name, 'bootstrap-admin');
    assert.equal((await cli(['logout'])).code, 0);
    const after = await cli(['whoami']);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /not logged in/);
  });
});

describe('modelyard deploy', () => {
  it('configures pilots, silent versions and production, and rolls back', async () => {
    const { registerFixture } = await import('../support/fixtures.js');
    const a = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const b = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { model: a.model, promote: false });
    const group = (
      await http(env.apiUrl, 'POST', '/v1/groups', { token: env.adminApiKey, body: { name: uniqueId('cli-pilots') } })
    ).json;
    const run = (args: string[]) =>
      cli([...args, '--json'], { MODELYARD_URL: env.apiUrl, MODELYARD_API_KEY: env.adminApiKey });
    const bv = String(b.version);
    const pilot = await run([
      'deploy',
      'pilot',
      '--model',
      a.model,
      '--version',
      bv,
      '--groups',
      group.name,
      '--comment',
      'beta testers',
    ]);
    assert.equal(pilot.code, 0, pilot.stderr + pilot.stdout);
    assert.deepEqual(JSON.parse(pilot.stdout).config.pilots, [
      { version: b.version, groups: [group.id], percentage: 0 },
    ]);
    const silent = await run(['deploy', 'silent', '--model', a.model, '--version', bv, '--sample-rate', '0.25']);
    assert.equal(silent.code, 0, silent.stderr);
    const pin = await run(['deploy', 'production', '--model', a.model, '--version', String(a.version)]);
    assert.equal(JSON.parse(pin.stdout).config.production.version, a.version);
    const back = await run(['deploy', 'rollback', '--model', a.model]);
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(JSON.parse(back.stdout).config.production, { mode: 'stage' });
    const adminEnv = { MODELYARD_URL: env.apiUrl, MODELYARD_API_KEY: env.adminApiKey };
    const show = await cli(['deploy', 'show', '--model', a.model], adminEnv);
    assert.match(
      show.stdout,
      /revision 4 by bootstrap-admin: rollback to revision 2\nproduction: the Production stage\npilot: version \d+ for groups [0-9a-f-]+\nsilent: version \d+ on 25% of production traffic/,
    );
    const noGroup = await run(['deploy', 'pilot', '--model', a.model, '--version', bv, '--groups', 'no-such-group']);
    assert.equal(noGroup.code, 2);
    assert.equal((await run(['deploy', 'frobnicate', '--model', a.model])).code, 2);
  });
});

describe('modelyard score', () => {
  it('uploads a CSV, shows progress until the job is done, saves the output, and exits 1 on a failed job', async () => {
    const { registerFixture, samples, records } = await import('../support/fixtures.js');
    const { writeFileSync, readFileSync } = await import('node:fs');
    const { model } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const s = samples('iris_logreg');
    const rows = records(s);
    const input = path.join(home, 'score.csv');
    writeFileSync(
      input,
      `${['id', ...s.feature_names].join(',')}\n${Array.from({ length: 30 }, (_, i) => [`c${i}`, ...s.feature_names.map((f) => rows[i % rows.length]![f])].join(',')).join('\n')}\n`,
    );
    const output = path.join(home, 'scored.csv');
    const keyEnv = { MODELYARD_URL: env.apiUrl, MODELYARD_API_KEY: env.adminApiKey };
    const ok = await cli(
      ['score', '--model', model, '--input', input, '--id-column', 'id', '--wait', '--output', output],
      keyEnv,
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /\[#{30}\] 100%/);
    assert.match(ok.stdout, /succeeded: 30 rows scored, 0 rows failed/);
    const lines = readFileSync(output, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 31);
    assert.equal(lines[1]!.split(',')[0], 'c0');
    assert.equal(Number(lines[1]!.split(',')[1]), s.expected.label[0]);

    const failed = await cli(
      ['score', '--model', model, '--input', input, '--id-column', 'customer', '--wait', '--json'],
      keyEnv,
    );
    assert.equal(failed.code, 1, failed.stdout);
    assert.equal(JSON.parse(failed.stdout).status, 'failed');
    const missing = await cli(['score', '--model', 'no-such-model', '--input', input], keyEnv);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not found.*HTTP 404/);
    assert.equal((await cli(['score', '--model', model], keyEnv)).code, 2);
  });

  it('a finished job counts its upload and output in storedBytes; jobs delete removes it with both files', async () => {
    const { registerFixture, samples, records } = await import('../support/fixtures.js');
    const { writeFileSync, existsSync, statSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const { model } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const s = samples('iris_logreg');
    const rows = records(s);
    const input = path.join(home, 'to-delete.csv');
    writeFileSync(
      input,
      `${s.feature_names.join(',')}\n${rows.map((r) => s.feature_names.map((f) => r[f]).join(',')).join('\n')}\n`,
    );
    const keyEnv = { MODELYARD_URL: env.apiUrl, MODELYARD_API_KEY: env.adminApiKey };
    const scored = await cli(['score', '--model', model, '--input', input, '--wait', '--json'], keyEnv);
    assert.equal(scored.code, 0, scored.stderr);
    const job = JSON.parse(scored.stdout) as {
      id: string;
      status: string;
      inputUri: string;
      outputUri: string;
      errorsUri: string | null;
      storedBytes: number;
    };
    assert.equal(job.status, 'succeeded');
    assert.equal(job.errorsUri, null);
    const files = [job.inputUri, job.outputUri].map((u) => fileURLToPath(u));
    assert.ok(
      files.every((f) => existsSync(f)),
      files.join(', '),
    );
    // What the project's maxStoredBytes counts for this job: the upload and the output the worker wrote.
    assert.equal(job.storedBytes, statSync(files[0]!).size + statSync(files[1]!).size);

    const deleted = await cli(['jobs', 'delete', job.id], keyEnv);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, new RegExp(`deleted job ${job.id}`));
    const shown = await cli(['jobs', 'show', job.id], keyEnv);
    assert.equal(shown.code, 1);
    assert.match(shown.stderr, /HTTP 404/);
    assert.deepEqual(
      files.filter((f) => existsSync(f)),
      [],
      'the upload and the output went with the job',
    );
  });

  it('--contributions adds a column per feature and class, and the base: they add up to each probability', async () => {
    const { registerFixture, samples, records } = await import('../support/fixtures.js');
    const { writeFileSync, readFileSync } = await import('node:fs');
    const { model } = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { reference: true });
    const s = samples('iris_rf');
    const rows = records(s).slice(0, 5);
    const input = path.join(home, 'explain.csv');
    writeFileSync(
      input,
      `${s.feature_names.join(',')}\n${rows.map((r) => s.feature_names.map((f) => r[f]).join(',')).join('\n')}\n`,
    );
    const output = path.join(home, 'explained.csv');
    const keyEnv = { MODELYARD_URL: env.apiUrl, MODELYARD_API_KEY: env.adminApiKey };
    const ok = await cli(
      ['score', '--model', model, '--input', input, '--contributions', '--wait', '--output', output],
      keyEnv,
    );
    assert.equal(ok.code, 0, ok.stderr);
    const [head, ...lines] = readFileSync(output, 'utf8').trimEnd().split('\n');
    const names = head!.split(',');
    for (const c of [0, 1, 2]) {
      assert.ok(names.includes(`base_value_${c}`), head);
      for (const f of s.feature_names) assert.ok(names.includes(`contribution_${f}_${c}`), `${f} ${c}`);
    }
    assert.equal(lines.length, 5);
    for (const line of lines) {
      const row = Object.fromEntries(line.split(',').map((v, i) => [names[i]!, Number(v)]));
      for (const c of [0, 1, 2]) {
        const sum = s.feature_names.reduce((t, f) => t + row[`contribution_${f}_${c}`]!, row[`base_value_${c}`]!);
        assert.ok(Math.abs(sum - row[`probability_${c}`]!) < 1e-5, `class ${c}: ${sum} vs ${row[`probability_${c}`]}`);
      }
    }
  });
});
