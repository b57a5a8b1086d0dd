// The Python side of `npm test`: a venv for clients/python's pytest suite, made from the package index pip is
// configured with (pip.conf / PIP_INDEX_URL; there is no other source of Python packages here) and cached in
// node_modules/.cache/modelyard-python. It is rebuilt only when clients/python/pyproject.toml, the test packages
// below or the Python version change; the client itself is installed editable, so its source needs no rebuild.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { log, root } from './bootstrap.mjs';
import { oipClientsEnv } from './oip-clients.mjs';

export const CLIENT_DIR = path.join(root, 'clients/python');
export const VENDOR_DIR = path.join(CLIENT_DIR, 'vendor');
/**
 * Besides the client and its extras: pytest, the notebook runner, sklearn for parity, build, mypy, and the MLflow
 * client for test_mlflow.py, whose wheel and the three dependencies the index lacks are in clients/python/vendor
 * (PROVENANCE.md there).
 */
const TEST_PACKAGES = [
  'pytest>=7',
  'nbclient>=0.7',
  'nbformat>=5',
  'ipykernel>=6',
  'scikit-learn>=1.2',
  'onnx>=1.12',
  'build>=1',
  'hatchling>=1.18',
  'mypy>=1.5',
  // mlflow-skinny needs Python 3.10+; on 3.9 test_mlflow.py skips (importorskip)
  'mlflow-skinny==3.11.2.dev0; python_version >= "3.10"',
];
const CACHE = path.join(root, 'node_modules/.cache/modelyard-python');

// A local index answers at once, but pip's default of 5 retries with backoff against an index it cannot reach
// (the default PyPI, when only extra indexes are local) costs minutes per package. The caller's setting wins.
const PIP_ENV = { PIP_RETRIES: process.env.PIP_RETRIES ?? '0', PIP_DISABLE_PIP_VERSION_CHECK: '1' };

function python() {
  const exe = process.env.MODELYARD_TEST_PYTHON ?? 'python3';
  const r = spawnSync(exe, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the Python tests need ${exe} (3.9 or newer) on PATH`);
  const version = r.stdout.trim();
  const [major, minor] = version.split('.').map(Number);
  if (major !== 3 || minor < 9) throw new Error(`the Python tests need Python 3.9 or newer, ${exe} is ${version}`);
  return { exe, version };
}

/** The venv's python, creating or refreshing the venv when its inputs changed. */
export function ensurePythonVenv() {
  const { exe, version } = python();
  const venv = path.join(CACHE, 'venv');
  const bin = path.join(venv, 'bin', 'python');
  const stampFile = path.join(CACHE, 'stamp');
  const stamp = createHash('sha256')
    .update(readFileSync(path.join(CLIENT_DIR, 'pyproject.toml')))
    .update(JSON.stringify(TEST_PACKAGES))
    .update(readdirSync(VENDOR_DIR).sort().join('\n'))
    .update(version)
    .update(CLIENT_DIR)
    .digest('hex');
  if (existsSync(bin) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return bin;
  log(`python: creating the test venv with Python ${version} from the package index (cached after this)`);
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  const run = (cmd, args) => {
    const env = { ...process.env, ...PIP_ENV };
    const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env });
    if (r.status !== 0) {
      throw new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} … failed (exit ${r.status})`);
    }
  };
  run(exe, ['-m', 'venv', venv]);
  run(bin, ['-m', 'pip', 'install', '-qq', '--find-links', VENDOR_DIR, '-e', `${CLIENT_DIR}[all]`, ...TEST_PACKAGES]);
  writeFileSync(stampFile, stamp);
  return bin;
}

/**
 * Runs pytest on clients/python/tests (files whose name contains `filter`) with `env`; resolves the counts read
 * from its JUnit XML. Bounded: a run past `timeoutMs` is killed and counts as failed.
 */
export async function runPytest(env, { filter, timeoutMs = 600_000 } = {}) {
  const bin = ensurePythonVenv();
  const testsDir = path.join(CLIENT_DIR, 'tests');
  const files = readdirSync(testsDir)
    .sort()
    .filter((f) => /^test_.*\.py$/.test(f) && (!filter || f.includes(filter)))
    .map((f) => path.join(testsDir, f));
  if (!files.length) {
    log('python: no test files');
    return { passed: 0, failed: 0, skipped: 0, code: 0 };
  }
  const xml = path.join(root, '.data', 'test-python.xml');
  mkdirSync(path.dirname(xml), { recursive: true });
  rmSync(xml, { force: true });
  log(`python: ${files.length} file(s)`);
  // KServe's and Triton's clients, in venvs of their own, made only when their test file is selected.
  const { exe, version } = python();
  const oip = files.some((f) => f.endsWith('test_oip_clients.py')) ? oipClientsEnv(exe, version, PIP_ENV) : {};
  return new Promise((resolve) => {
    const child = spawn(bin, ['-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-rfE', `--junitxml=${xml}`, ...files], {
      cwd: CLIENT_DIR,
      stdio: 'inherit',
      env: { ...process.env, ...PIP_ENV, ...oip, ...env },
    });
    const timer = setTimeout(() => {
      log(`python: pytest ran past ${timeoutMs / 1000} s, stopping it`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const text = existsSync(xml) ? readFileSync(xml, 'utf8') : '';
      const attr = (k) => Number((text.match(new RegExp(`<testsuite [^>]*\\b${k}="(\\d+)"`)) ?? [])[1] ?? 0);
      const tests = attr('tests'),
        failed = attr('failures') + attr('errors'),
        skipped = attr('skipped');
      resolve({ passed: tests - failed - skipped, failed, skipped, code: code ?? 1 });
    });
  });
}
