// Bundles the CLI with what it imports (@modelyard/contracts from source, zod, openid-client for `login --sso`) into one ESM file with no runtime
// dependencies, so the tarball from `npm pack` installs anywhere with `npm install -g`, outside a checkout.
// Run by scripts/bootstrap.mjs after the install and by `npm pack` (prepack); skipped when its inputs are unchanged.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const outfile = path.join(here, 'dist/bundle/modelyard.js');
const stamp = path.join(here, 'dist/bundle/.inputs-hash');

function files(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.spec.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function inputsHash() {
  const h = createHash('sha256');
  const inputs = [
    ...files(path.join(here, 'src')),
    ...files(path.join(root, 'libs/contracts/src')),
    path.join(here, 'package.json'),
    fileURLToPath(import.meta.url),
    path.join(root, 'node_modules/zod/package.json'),
    path.join(root, 'node_modules/openid-client/package.json'),
    path.join(root, 'node_modules/esbuild/package.json'),
  ];
  for (const f of inputs) h.update(f).update(existsSync(f) ? readFileSync(f) : '');
  return h.digest('hex');
}

export async function bundleCli({ force = false } = {}) {
  const want = inputsHash();
  if (!force && existsSync(outfile) && existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return false;
  console.log('\x1b[36m[modelyard]\x1b[0m bundling the CLI');
  const { build } = await import('esbuild');
  const { version } = JSON.parse(readFileSync(path.join(here, 'package.json'), 'utf8'));
  await build({
    entryPoints: [path.join(here, 'src/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    // The workspace package is private: take its TypeScript source, so the bundle needs no prior tsc run.
    plugins: [
      {
        name: 'contracts-from-source',
        setup(b) {
          const source = path.join(root, 'libs/contracts/src/index.ts');
          b.onResolve({ filter: /^@modelyard\/contracts$/ }, () => ({ path: source }));
        },
      },
    ],
    define: { MODELYARD_CLI_VERSION: JSON.stringify(version) },
    legalComments: 'none',
  });
  writeFileSync(stamp, want);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleCli({ force: process.argv.includes('--force') });
}
