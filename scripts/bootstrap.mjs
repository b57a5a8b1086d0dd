// Makes a checkout runnable: npm dependencies, the generated Prisma client, compiled TypeScript, the web
// build. Each step runs only when its inputs changed, so `npm start` on a warm checkout starts in seconds.
// Uses only Node built-ins until the install step has run.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Offline-safe settings every install, build and test needs (see ../shared/docs/STACK-NOTES.md). */
export const QUIET_ENV = {
  NEXT_TELEMETRY_DISABLED: '1',
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  ONNXRUNTIME_NODE_INSTALL: 'skip',
};

export function log(msg) {
  console.log(`\x1b[36m[modelyard]\x1b[0m ${msg}`);
}

function run(cmd, args, { env, ...opts } = {}) {
  const r = spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    ...opts,
    env: { ...process.env, ...QUIET_ENV, ...env },
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

function hashFiles(files) {
  const h = createHash('sha256');
  for (const f of files) h.update(f).update(existsSync(f) ? readFileSync(f) : '');
  return h.digest('hex');
}

function manifests() {
  const files = [path.join(root, 'package.json'), path.join(root, 'package-lock.json')];
  for (const group of ['apps', 'libs']) {
    for (const d of readdirSync(path.join(root, group))) files.push(path.join(root, group, d, 'package.json'));
  }
  return files;
}

function newestMtime(dir, skip = new Set(['node_modules', 'dist', '.next', '.turbo'])) {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(e.name)) continue;
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p, skip) : statSync(p).mtimeMs);
  }
  return newest;
}

export function ensureInstalled() {
  const stampFile = path.join(root, 'node_modules', '.modelyard-install');
  const want = hashFiles(manifests());
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) return;
  log('installing npm dependencies');
  // `npm ci` fails here: the lockfile cannot list other platforms' optional packages (they 404 offline).
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']);
  mkdirSync(path.dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, hashFiles(manifests()));
}

export function ensurePrismaClient() {
  const schema = path.join(root, 'prisma/schema.prisma');
  const out = path.join(root, 'libs/server/src/db/generated');
  const stamp = path.join(out, '.schema-hash');
  const want = hashFiles([schema]);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  log('generating the Prisma client');
  // generate needs no database and no native engine; the dummy binary stops the CLI from downloading one.
  // Never set this variable for migrations: `migrate` would then silently do nothing.
  run('npx', ['prisma', 'generate'], {
    env: { PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  writeFileSync(stamp, want);
}

export function buildTypeScript() {
  log('compiling TypeScript');
  run('npx', ['tsc', '-b', 'tsconfig.build.json']);
}

/** The CLI as one self-contained file (apps/cli/bundle.mjs skips the build when its inputs are unchanged). */
export function bundleCli() {
  run(process.execPath, ['apps/cli/bundle.mjs']);
}

export function buildWeb({ force = false } = {}) {
  const web = path.join(root, 'apps/web');
  if (!existsSync(path.join(web, 'app'))) return;
  const buildId = path.join(web, '.next', 'BUILD_ID');
  const inputs = Math.max(newestMtime(web), newestMtime(path.join(root, 'libs/contracts/src')));
  if (!force && existsSync(buildId) && statSync(buildId).mtimeMs > inputs) return;
  log('building the dashboard (Next.js)');
  run('npx', ['next', 'build'], { cwd: web });
}

export function bootstrap({ web = true } = {}) {
  ensureInstalled();
  ensurePrismaClient();
  buildTypeScript();
  bundleCli();
  if (web) buildWeb();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const what = process.argv[2] ?? 'build';
  try {
    if (what === 'build') bootstrap();
    else if (what === 'migrate') {
      bootstrap({ web: false });
      const { applyMigrations } = await import('./migrations.mjs');
      if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set');
      const applied = await applyMigrations(process.env.DATABASE_URL);
      log(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
    } else throw new Error(`unknown step ${what}`);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
