import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

// Unit tests run from the repository root (npm test sets cwd).
const root = process.cwd();

function sources(dir: string, exts = ['.ts', '.tsx']): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      if (['node_modules', 'dist', '.next', 'generated', 'fixtures'].includes(name)) continue;
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (exts.some((e) => name.endsWith(e))) out.push(p);
    }
  };
  walk(path.join(root, dir));
  return out;
}

/**
 * libs/server's folders from the bottom up: each may import (values, not only types) from the folders before it,
 * never from one after it. Side effects of a change reach the folders above through domain events (events/), not
 * through imports; what a lower folder needs from a higher one's table it reads with its own repository.
 */
const LAYERS = [
  'platform',
  'db',
  'tenancy',
  'queue',
  'outbound',
  'storage',
  'onnx',
  'engine',
  'events',
  'auth',
  'audit',
  'webhooks',
  'users',
  'groups',
  'projects',
  'service-accounts',
  'api-keys',
  'sso',
  'health',
  'predictions',
  'registry',
  'serving',
  'feedback',
  'deployments',
  'explain',
  'jobs',
  'drift',
  'alerts',
  'overview',
  'mlflow',
  'streams',
  'maintenance',
  'seed',
];

const isTest = (f: string) => /\.(int-)?spec\.ts$/.test(f) || f.endsWith('test-support.ts');
const rel = (f: string) => path.relative(root, f);

/** The rules of CODE_STYLE.md that a reviewer would otherwise have to remember. */
describe('code boundaries', () => {
  it('server code reads configuration only through libs/config', () => {
    const offenders = ['apps/api/src', 'apps/worker/src', 'libs/server/src']
      .flatMap((d) => sources(d))
      .filter((f) => !isTest(f) && /process\.env\b/.test(readFileSync(f, 'utf8')))
      .map(rel);
    assert.deepEqual(offenders, []);
  });

  it('the dashboard never imports server code or the database client', () => {
    const offenders = sources('apps/web')
      .filter((f) => /from ['"](@modelyard\/server|@prisma\/|pg['"]|.*libs\/server)/.test(readFileSync(f, 'utf8')))
      .map(rel);
    assert.deepEqual(offenders, []);
  });

  it('contracts stay isomorphic: no Node, Nest or Prisma imports', () => {
    const offenders = sources('libs/contracts/src')
      .filter((f) => /from ['"](node:|@nestjs\/|@prisma\/|@modelyard\/server)/.test(readFileSync(f, 'utf8')))
      .map(rel);
    assert.deepEqual(offenders, []);
  });

  it('only repositories (and the db module, seed and migrations) touch Prisma', () => {
    const offenders = sources('libs/server/src')
      .filter((f) => !isTest(f) && !/\.repository\.ts$|\/db\/|\/seed\//.test(f))
      .filter((f) => /PrismaService|PrismaClient|generated\/client/.test(readFileSync(f, 'utf8')))
      // The module wires the client; the readiness probe pings the database itself.
      .filter((f) => !f.endsWith('server-core.module.ts') && !f.endsWith('health.service.ts'))
      .map(rel);
    assert.deepEqual(offenders, []);
  });

  it('libs/server folders import only folders below them in LAYERS (type-only imports aside)', () => {
    const dir = path.join(root, 'libs/server/src');
    const folders = readdirSync(dir).filter((d) => statSync(path.join(dir, d)).isDirectory());
    assert.deepEqual(
      folders.filter((f) => !LAYERS.includes(f)),
      [],
      'every folder has a place in LAYERS',
    );
    const offenders = sources('libs/server/src')
      .filter((f) => !isTest(f))
      .flatMap((f) => {
        const from = path.relative(dir, f).split(path.sep)[0]!;
        const imports = [
          ...readFileSync(f, 'utf8').matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+'\.\.\/([a-z-]+)\//gm),
        ];
        return imports
          .filter((m) => !m[1] && LAYERS.indexOf(m[2]!) > LAYERS.indexOf(from))
          .map((m) => `${rel(f)} imports ${m[2]} (above ${from})`);
      });
    assert.deepEqual(offenders, []);
  });

  it('only the engine (libs/server/src/engine) imports onnxruntime, through its one file ort.ts', () => {
    const runtime = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]onnxruntime-/;
    const importers = ['apps', 'libs', 'test']
      .flatMap((d) => sources(d, ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs']))
      .filter((f) => runtime.test(readFileSync(f, 'utf8')))
      .map(rel);
    const engine = path.join('libs', 'server', 'src', 'engine') + path.sep;
    const outside = importers.filter((f) => !f.startsWith(engine));
    assert.deepEqual(outside, [], 'types and Tensor come from the engine (libs/server/src/engine/index.ts)');
    assert.deepEqual(importers, [path.join('libs', 'server', 'src', 'engine', 'ort.ts')]);
  });

  it('the engine builds only on the ONNX file format and the platform, never on the services that use it', () => {
    const offenders = sources('libs/server/src/engine')
      .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/from '(\.\.\/[^']+)'/g)].map((m) => `${rel(f)}: ${m[1]}`))
      .filter((imp) => !/: \.\.\/(onnx|platform)\//.test(imp));
    assert.deepEqual(offenders, []);
  });
});
