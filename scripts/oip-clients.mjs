// The Open Inference Protocol clients that clients/python/tests/test_oip_clients.py runs against the platform, each
// in a venv of its own (their pins clash with the test venv's), cached in node_modules/.cache and rebuilt when
// clients/python/vendor changes. Wheels built from source are vendored there (PROVENANCE.md).
// - KServe's InferenceRESTClient: vendored wheels + vendor/kserve-requirements.txt from the package index.
// - Triton's tritonclient.http: its C-extension dependencies (gevent, geventhttpclient, python-rapidjson) are not in
//   the package index but are Debian packages, so its venv is made from Debian's /usr/bin/python3 with
//   --system-site-packages, and the vendored tritonclient wheel installed with --no-deps.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { log, root } from './bootstrap.mjs';

const VENDOR = path.join(root, 'clients/python/vendor');
const TRITON_APT = ['python3-gevent', 'python3-geventhttpclient', 'python3-rapidjson', 'python3-numpy', 'python3-venv'];
const DEBIAN_PYTHON = '/usr/bin/python3';

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env });
  if (r.status !== 0)
    throw new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} … failed (exit ${r.status})`);
}

/** A cached venv: `make(venvDir)` runs only when `stampParts` changed; returns the venv's python. */
function cachedVenv(name, stampParts, make) {
  const dir = path.join(root, 'node_modules/.cache', name);
  const bin = path.join(dir, 'venv', 'bin', 'python');
  const stampFile = path.join(dir, 'stamp');
  const hash = createHash('sha256');
  for (const p of stampParts) hash.update(p);
  const stamp = hash.digest('hex');
  if (existsSync(bin) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return bin;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  make(path.join(dir, 'venv'), bin);
  writeFileSync(stampFile, stamp);
  return bin;
}

const wheels = (prefix) =>
  readdirSync(VENDOR)
    .filter((f) => f.endsWith('.whl') && (prefix ? f.startsWith(prefix) : !f.startsWith('tritonclient-')))
    .sort();

export function ensureKserveVenv(exe, version, pipEnv) {
  const list = wheels(null);
  const reqs = path.join(VENDOR, 'kserve-requirements.txt');
  return cachedVenv('modelyard-kserve', [JSON.stringify(list), readFileSync(reqs), version], (venv, bin) => {
    log(`python: creating the kserve client venv with Python ${version} (vendored wheels + the package index)`);
    const env = { ...process.env, ...pipEnv };
    run(exe, ['-m', 'venv', venv], env);
    run(bin, ['-m', 'pip', 'install', '-qq', '--no-deps', ...list.map((w) => path.join(VENDOR, w))], env);
    run(bin, ['-m', 'pip', 'install', '-qq', '-r', reqs], env);
  });
}

function ensureTritonDebianPackages() {
  const probe = spawnSync(DEBIAN_PYTHON, ['-c', 'import gevent, geventhttpclient, rapidjson, numpy, venv']);
  if (probe.status === 0) return;
  if (process.getuid?.() !== 0)
    throw new Error(`tritonclient's test needs: apt-get install -y ${TRITON_APT.join(' ')}`);
  log("installing Debian's gevent, geventhttpclient and rapidjson for tritonclient (one time)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], env);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...TRITON_APT], env);
}

export function ensureTritonVenv(pipEnv) {
  ensureTritonDebianPackages();
  const list = wheels('tritonclient-');
  const version = spawnSync(DEBIAN_PYTHON, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return cachedVenv('modelyard-tritonclient', [JSON.stringify(list), version], (venv, bin) => {
    log(`python: creating the tritonclient venv with Debian's ${version} and its site packages`);
    const env = { ...process.env, ...pipEnv };
    run(DEBIAN_PYTHON, ['-m', 'venv', '--system-site-packages', venv], env);
    run(bin, ['-m', 'pip', 'install', '-qq', '--no-deps', ...list.map((w) => path.join(VENDOR, w))], env);
  });
}

/**
 * The env vars test_oip_clients.py reads: each client's python. A venv that cannot be made is logged and left out,
 * so only that client's tests fail (they say the variable is unset), not the whole Python tier.
 */
export function oipClientsEnv(exe, version, pipEnv) {
  const env = {};
  const tries = [
    ['MODELYARD_KSERVE_PYTHON', () => ensureKserveVenv(exe, version, pipEnv)],
    ['MODELYARD_TRITON_PYTHON', () => ensureTritonVenv(pipEnv)],
  ];
  for (const [name, make] of tries) {
    try {
      env[name] = make();
    } catch (e) {
      log(`python: no ${name}: ${e.message}`);
    }
  }
  return env;
}
