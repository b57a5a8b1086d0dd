// What `npm start` and `npm test` share: provide Postgres and Redis (unless DATABASE_URL / REDIS_URL are
// given), apply migrations, seed the first admin, and run the apps as child processes with prefixed logs.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { log, root, QUIET_ENV } from './bootstrap.mjs';
import { dataRoot, freePort, startPostgres, startRedis } from './services.mjs';
import { applyMigrations } from './migrations.mjs';

/**
 * Returns the environment the apps run with, plus a stop() for whatever was started here.
 * mode 'dev': persistent data under .data/, fixed ports. Other modes ('test', 'bench'): fresh data, free ports.
 */
export async function provision({ mode }) {
  const stops = [];
  const env = {};
  // 'dev' keeps its data; any other mode ('test', 'bench') starts fresh in folders of its own.
  const fresh = mode !== 'dev';
  if (!process.env.DATABASE_URL) {
    const dir = dataRoot(fresh ? `${mode}-postgres` : 'postgres');
    if (fresh) rmSync(dir, { recursive: true, force: true });
    const port = fresh ? await freePort() : Number(process.env.EMBEDDED_PG_PORT ?? 15432);
    log(`starting embedded PostgreSQL on 127.0.0.1:${port} (${path.relative(root, dir) || dir})`);
    const pg = await startPostgres({ dir, port, log });
    env.DATABASE_URL = pg.url;
    env.EMBEDDED_PG_ADMIN_URL = pg.adminUrl('postgres');
    stops.push(() => pg.stop());
  } else {
    env.DATABASE_URL = process.env.DATABASE_URL;
  }
  if (!process.env.REDIS_URL) {
    const dir = dataRoot(fresh ? `${mode}-redis` : 'redis');
    const port = fresh ? await freePort() : Number(process.env.EMBEDDED_REDIS_PORT ?? 16379);
    log(`starting redis-server on 127.0.0.1:${port}`);
    const redis = await startRedis({ dir, port, log });
    env.REDIS_URL = redis.url;
    stops.push(() => redis.stop());
  } else {
    env.REDIS_URL = process.env.REDIS_URL;
  }
  const applied = await applyMigrations(env.DATABASE_URL);
  log(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');
  env.SESSION_SECRET = process.env.SESSION_SECRET ?? keptSecret('session-secret', fresh);
  env.SECRET_KEY = process.env.SECRET_KEY ?? keptSecret('secret-key', fresh);
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  return { env, stop };
}

/** Dev secrets survive restarts (sessions, sealed webhook secrets): generated once, kept beside the embedded data. */
function keptSecret(name, fresh) {
  if (fresh) return randomBytes(32).toString('hex');
  const file = path.join(dataRoot('secrets'), name);
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

export function seed(env) {
  const r = spawnSync(process.execPath, ['apps/api/dist/seed.js'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error('seeding failed');
}

const COLORS = { api: 32, worker: 35, web: 34 };

/** Backoff between restarts of a crashed app: doubles from the first to the last, reset after a healthy run. */
const RESTART_BACKOFF_MS = { first: 500, max: 30_000, healthyAfter: 60_000 };

/**
 * A supervised child: every output line prefixed with its name. With `restart`, a child that exits while not
 * being stopped is started again after a backoff (and the log says so), so one crashed process never takes
 * the platform down; `exited` then resolves only once `stop()` was called. Without it (one-shot tools, test
 * helpers), `exited` resolves with the first exit code. `child` is always the current process.
 */
export function launch(name, args, { env, cwd = root, quiet = false, restart = false } = {}) {
  const prefix = `\x1b[${COLORS[name] ?? 33}m[${name}]\x1b[0m `;
  const lines = [];
  let child;
  let stopping = false;
  let restarts = 0;
  let backoff = RESTART_BACKOFF_MS.first;
  let resolveExited;
  const exited = new Promise((resolve) => {
    resolveExited = resolve;
  });
  const say = (line) => {
    if (!quiet) process.stdout.write(prefix + line + '\n');
  };

  const start = () => {
    const startedAt = Date.now();
    child = spawn(args[0], args.slice(1), {
      cwd,
      env: { ...process.env, ...QUIET_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        say(line);
      });
    }
    child.on('exit', (code, signal) => {
      const status = code ?? (signal ? 128 : 1);
      if (stopping || !restart) return resolveExited(status);
      if (Date.now() - startedAt > RESTART_BACKOFF_MS.healthyAfter) backoff = RESTART_BACKOFF_MS.first;
      restarts += 1;
      const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      log(`${name} ${why}; restarting in ${backoff} ms (restart ${restarts})`);
      setTimeout(() => {
        if (!stopping) start();
        else resolveExited(status);
      }, backoff).unref();
      backoff = Math.min(backoff * 2, RESTART_BACKOFF_MS.max);
    });
  };
  start();

  return {
    name,
    exited,
    get child() {
      return child;
    },
    /** How often a crashed child was started again. */
    get restarts() {
      return restarts;
    },
    /** The last lines it printed, for a failure report when running quietly. */
    tail: () => lines.slice(-40).join('\n'),
    async stop(timeoutMs = 10_000) {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return resolveExited(child.exitCode ?? 128);
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(t);
    },
  };
}

export async function waitForHttp(url, { timeoutMs = 60_000, proc } = {}) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc && (proc.child.exitCode !== null || proc.child.signalCode !== null)) {
      throw new Error(`${proc.name} exited before ${url} answered:\n${proc.tail()}`);
    }
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms${proc ? `:\n${proc.tail()}` : ''}`);
}

export function portFree(port) {
  return new Promise((resolve) => {
    const srv = net
      .createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * Node flags every api process is started with: V8 sizes its heap when the process starts, so these cannot be set
 * from inside like the ones in apps/api/src/v8-flags.ts. Cluster children (API_PROCESSES) inherit them; the api
 * image's CMD (deploy/docker/api.Dockerfile) passes the same.
 *
 * Semi-spaces of 64 MB (V8's default: 16): a request's objects die within its event-loop turns, so a larger young
 * generation is scavenged four times less often for the same survivors. Measured in interleaved A/B runs (iris,
 * one row, c=32): minor GCs from ~100 to ~28 per 5 s, GC time halved, req/s a few percent higher; ~80 MB more RSS.
 */
export const API_NODE_FLAGS = ['--max-semi-space-size=64'];

/** The three apps, as `npm start` runs them. */
export function launchApps(env, { apiPort, webPort, quiet = false }) {
  const restart = true;
  const api = launch('api', [process.execPath, ...API_NODE_FLAGS, 'apps/api/dist/main.js'], {
    env: { ...env, API_PORT: String(apiPort) },
    quiet,
    restart,
  });
  const worker = launch('worker', [process.execPath, 'apps/worker/dist/main.js'], { env, quiet, restart });
  // server.mjs, not `next start`: it stamps X-Forwarded-* from the socket and sets the slow-client timeouts.
  const web = existsSync(path.join(root, 'apps/web/.next/BUILD_ID'))
    ? launch('web', [process.execPath, 'server.mjs'], {
        cwd: path.join(root, 'apps/web'),
        env: { ...env, API_URL: `http://127.0.0.1:${apiPort}`, PORT: String(webPort), WEB_HOST: '127.0.0.1' },
        quiet,
        restart,
      })
    : null;
  return [api, worker, web].filter(Boolean);
}
