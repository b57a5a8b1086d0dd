import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { FIXTURES_DIR, records, samples } from '../support/fixtures.js';

const env = e2eEnv();
const cliDir = path.resolve('apps/cli');

/**
 * The CLI as a user outside the checkout gets it: `npm pack` on apps/cli, `npm install -g` of the tarball into an
 * empty prefix (offline: the tarball must need nothing from the registry), then the installed `modelyard` run
 * from an empty folder with a PATH holding only that prefix and node.
 */
describe('modelyard installed from its packed tarball', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'modelyard-install-'));
  const prefix = path.join(tmp, 'prefix');
  const work = path.join(tmp, 'work');
  const config = path.join(tmp, 'home', 'modelyard.json');
  let packed: { filename: string; files: { path: string }[] };
  let key: string;

  /** Async, so this process keeps reading its sockets while the CLI runs (see cli.e2e.ts). */
  function modelyard(args: string[], input?: string) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(path.join(prefix, 'bin', 'modelyard'), args, {
        cwd: work,
        timeout: 60_000,
        env: {
          PATH: `${path.join(prefix, 'bin')}:${path.dirname(process.execPath)}`,
          HOME: path.join(tmp, 'home'),
          MODELYARD_CONFIG: config,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      child.stdin.end(input ?? '');
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  before(async () => {
    mkdirSync(work, { recursive: true });
    const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: cliDir, encoding: 'utf8' });
    assert.equal(pack.status, 0, pack.stderr);
    packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!;
    const install = spawnSync(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        path.join(tmp, packed.filename),
      ],
      { cwd: work, encoding: 'utf8' },
    );
    assert.equal(install.status, 0, install.stderr);

    const sa = await http(env.apiUrl, 'POST', '/v1/service-accounts', {
      token: env.adminApiKey,
      body: { name: uniqueId('cli-install'), role: 'scientist' },
    });
    const k = await http(env.apiUrl, 'POST', '/v1/api-keys', {
      token: env.adminApiKey,
      body: {
        name: 'ci',
        scopes: ['predict', 'models:read', 'models:write', 'jobs', 'predict:any-version'],
        serviceAccountId: sa.json.id,
      },
    });
    key = k.json.secret;
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('packs one bundled file with no runtime dependencies', () => {
    const files = packed.files.map((f) => f.path).sort();
    assert.deepEqual(files, ['bin/modelyard.js', 'dist/bundle/modelyard.js', 'package.json']);
    const manifest = JSON.parse(readFileSync(path.join(prefix, 'lib/node_modules/modelyard/package.json'), 'utf8'));
    assert.equal(manifest.dependencies, undefined);
    assert.equal(manifest.private, undefined);
    const bundle = readFileSync(path.join(prefix, 'lib/node_modules/modelyard/dist/bundle/modelyard.js'), 'utf8');
    const imports = [...bundle.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
    assert.deepEqual(
      imports.filter((m) => !m.startsWith('node:')),
      [],
    );
  });

  it('prints its version, help per command, and a bash completion script', async () => {
    const version = await modelyard(['--version']);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(path.join(cliDir, 'package.json'), 'utf8')).version);
    for (const command of ['login', 'register', 'predict', 'jobs', 'completion']) {
      const viaHelp = await modelyard(['help', command]);
      assert.equal(viaHelp.code, 0, viaHelp.stderr);
      assert.match(viaHelp.stdout, new RegExp(`^modelyard ${command}: .*\\n\\nUsage:\\n  modelyard ${command}`));
      if (command === 'predict') assert.equal((await modelyard([command, '--help'])).stdout, viaHelp.stdout);
    }
    const completion = await modelyard(['completion', 'bash']);
    assert.equal(completion.code, 0);
    const script = path.join(tmp, 'completion.bash');
    writeFileSync(script, completion.stdout);
    const complete =
      `source ${script}; COMP_WORDS=(modelyard jobs "");` + ` COMP_CWORD=2; _modelyard; echo "\${COMPREPLY[*]}"`;
    const words = spawnSync('bash', ['-c', complete], { encoding: 'utf8' });
    assert.match(words.stdout, /^list show cancel retry delete download --model/);
  });

  it('logs in, registers, predicts in 4 formats from file or stdin, refuses big uploads, lists jobs', async () => {
    const login = await modelyard(['login', '--url', env.apiUrl, '--api-key', key]);
    assert.equal(login.code, 0, login.stderr);
    assert.equal(statSync(config).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), { url: env.apiUrl, apiKey: key });

    const model = uniqueId('cli-install');
    copyFileSync(path.join(FIXTURES_DIR, 'iris_logreg/model.onnx'), path.join(work, 'model.onnx'));
    copyFileSync(path.join(FIXTURES_DIR, 'iris_logreg/reference.json'), path.join(work, 'reference.json'));
    assert.equal((await modelyard(['models', 'create', model])).code, 0);
    const reg = await modelyard([
      'register',
      '--model',
      model,
      '--file',
      'model.onnx',
      '--reference',
      'reference.json',
      '--wait',
      '--json',
    ]);
    assert.equal(reg.code, 0, reg.stderr);
    const version = JSON.parse(reg.stdout);
    assert.equal(version.status, 'ready');

    const s = samples('iris_logreg');
    const rows = records(s).slice(0, 5);
    const expected = s.expected.label.slice(0, 5);
    const csv = [s.feature_names.join(','), ...rows.map((r) => s.feature_names.map((f) => r[f]).join(','))];
    writeFileSync(path.join(work, 'rows.csv'), `${csv.join('\n')}\n`);
    const v = String(version.version);
    const fromFile = await modelyard(['predict', model, '--version', v, 'rows.csv']);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.deepEqual(JSON.parse(fromFile.stdout).predictions, expected);
    assert.match(fromFile.stderr, new RegExp(`${model} v${version.version} answered \\(modelyard\\)`));

    const fromStdin = await modelyard(
      ['predict', model, '--version', v, '--format', 'oip-v2', '-'],
      JSON.stringify(rows),
    );
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    const oip = JSON.parse(fromStdin.stdout) as { outputs: { name: string; data: number[] }[] };
    assert.deepEqual(oip.outputs.find((o) => o.name === s.outputs[0]!.name)!.data, expected);

    // A TF Serving body on stdin goes to the TF Serving route as it is.
    const tfsBody = await modelyard(['predict', model, '--version', v], JSON.stringify({ instances: rows }));
    assert.equal(tfsBody.code, 0, tfsBody.stderr);
    assert.match(tfsBody.stderr, /answered \(tfs\)/);
    const tfs = JSON.parse(tfsBody.stdout) as { predictions: Record<string, unknown>[] };
    assert.deepEqual(
      tfs.predictions.map((p) => p[s.outputs[0]!.name]),
      expected,
    );

    // The other selectors: an alias over OIP v2 (which has no alias route: the CLI asks which version the label
    // names), a stage over TF Serving, and MLflow's CSV on the Production version.
    assert.equal((await modelyard(['alias', 'set', '--model', model, '--alias', 'champion', '--version', v])).code, 0);
    const viaAlias = await modelyard(['predict', model, '--alias', 'champion', '--format', 'oip-v2', 'rows.csv']);
    assert.equal(viaAlias.code, 0, viaAlias.stderr);
    const aliasOut = (JSON.parse(viaAlias.stdout) as typeof oip).outputs;
    assert.deepEqual(aliasOut.find((o) => o.name === s.outputs[0]!.name)!.data, expected);
    assert.equal((await modelyard(['promote', '--model', model, '--version', v, '--stage', 'Staging'])).code, 0);
    const viaStage = await modelyard(['predict', model, '--stage', 'Staging', '--format', 'tfs', 'rows.csv']);
    assert.equal(viaStage.code, 0, viaStage.stderr);
    const staged = JSON.parse(viaStage.stdout) as { predictions: Record<string, unknown>[] };
    assert.deepEqual(
      staged.predictions.map((p) => p[s.outputs[0]!.name]),
      expected,
    );
    const promoted = await http(env.apiUrl, 'POST', `/v1/models/${model}/versions/${v}/stage`, {
      token: env.adminApiKey,
      body: { stage: 'Production' },
    });
    assert.equal(promoted.status, 200, promoted.text);
    const mlflow = await modelyard(['predict', model, '--format', 'mlflow', 'rows.csv']);
    assert.equal(mlflow.code, 0, mlflow.stderr);
    assert.deepEqual(JSON.parse(mlflow.stdout), { predictions: expected });
    assert.match(mlflow.stderr, new RegExp(`${model} v${v} answered \\(mlflow\\)`));
    const pinned = await modelyard(['predict', model, '--format', 'mlflow', '--version', v, 'rows.csv']);
    assert.equal(pinned.code, 2);
    assert.match(pinned.stderr, /the MLflow route serves the version the deployment picks/);

    // The upload streams with its length declared: a file over the limit gets the API's 413, not a broken pipe.
    const limit = Number(process.env.E2E_MAX_UPLOAD_BYTES);
    writeFileSync(path.join(work, 'big.onnx'), Buffer.alloc(limit + 1024 * 1024, 1));
    const big = await modelyard(['register', '--model', model, '--file', 'big.onnx']);
    assert.equal(big.code, 1);
    const tooLarge = `^error: The upload is larger than the limit of ${limit} bytes \\(PAYLOAD_TOO_LARGE, HTTP 413\\)$`;
    assert.match(big.stderr, new RegExp(tooLarge, 'm'));

    const missing = await modelyard(['predict', 'no-such-model', 'rows.csv']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: .*\(NOT_FOUND, HTTP 404\)$/m);

    const score = await modelyard(['score', '--model', model, '--version', v, '--input', 'rows.csv', '--json']);
    assert.equal(score.code, 0, score.stderr);
    const job = JSON.parse(score.stdout);
    const list = await modelyard(['jobs', 'list', '--model', model, '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      JSON.parse(list.stdout).map((j: { id: string }) => j.id),
      [job.id],
    );
    assert.match((await modelyard(['jobs', 'list', '--model', model])).stdout, new RegExp(`^${job.id}  batch_score`));
  });

  it("shows, downloads, retries and refuses to cancel jobs, with the API's error code", async () => {
    const model = uniqueId('cli-jobs');
    assert.equal((await modelyard(['models', 'create', model])).code, 0);
    const reg = await modelyard(['register', '--model', model, '--file', 'model.onnx', '--wait', '--json']);
    assert.equal(reg.code, 0, reg.stderr);
    const v = String(JSON.parse(reg.stdout).version);
    const s = samples('iris_logreg');
    const rows = records(s)
      .slice(0, 5)
      .map((r, i) => [`row${i}`, ...s.feature_names.map((f) => r[f])].join(','));
    writeFileSync(path.join(work, 'ids.csv'), `${['id', ...s.feature_names].join(',')}\n${rows.join('\n')}\n`);
    const submit = async (idColumn: string) => {
      const r = await modelyard([
        'score',
        '--model',
        model,
        '--version',
        v,
        '--input',
        'ids.csv',
        '--id-column',
        idColumn,
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).id as string;
    };
    const until = async (id: string, status: string) => {
      for (let i = 0; i < 60; i++) {
        const job = JSON.parse((await modelyard(['jobs', 'show', id, '--json'])).stdout);
        if (job.status === status) return job;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.fail(`job ${id} did not become ${status}`);
    };
    // A job fails when its id column is not in the file.
    const good = await submit('id');
    const bad = await submit('customer');
    await until(good, 'succeeded');
    await until(bad, 'failed');

    const show = await modelyard(['jobs', 'show', good]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`^job ${good} \\(batch_score\\): succeeded\nmodel: +${model} v${v}\n`));
    assert.match(show.stdout, /^rows: +5 in, 5 scored, 0 failed$/m);
    const saved = await modelyard(['jobs', 'download', good, '--output', 'scored.csv']);
    assert.equal(saved.code, 0, saved.stderr);
    const lines = readFileSync(path.join(work, 'scored.csv'), 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 6);
    assert.equal(lines[1]!.split(',')[0], 'row0');
    const toStdout = await modelyard(['jobs', 'download', good]);
    assert.equal(toStdout.stdout, readFileSync(path.join(work, 'scored.csv'), 'utf8'));

    const retried = await modelyard(['jobs', 'retry', bad]);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, new RegExp(`^job ${bad}: (queued|running|failed)$`, 'm'));
    for (const action of ['cancel', 'retry']) {
      const refused = await modelyard(['jobs', action, good]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`^error: Job ${good} is succeeded; .* \\(CONFLICT, HTTP 409\\)$`, 'm'));
    }
    assert.equal((await modelyard(['jobs', 'show'])).code, 2);
  });
});
