import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostile } from '../onnx/onnx.test-support.js';
import { createSession, openServedSession } from './session.js';

/** Writes a canary where a model's relative external data would point, runs `body`, removes the canary. */
async function withCanary(body: () => Promise<void>) {
  const canary = path.resolve('.data/hostile-canary.txt');
  const created = !existsSync(canary);
  if (created) {
    mkdirSync(path.dirname(canary), { recursive: true });
    writeFileSync(canary, 'CANARY-unit-test-0123456789abcdef');
  }
  try {
    await body();
  } finally {
    if (created) rmSync(canary);
  }
}

const missingExternalData = (e: Error) => {
  assert.match(e.message, /External data path does not exist/);
  assert.doesNotMatch(e.message, /CANARY/);
  return true;
};

// The walker (onnx/onnx-walk.ts) is bypassed here on purpose: this is the second wall, for a model past the first.
describe('engine sessions resolve external data in an empty folder, never under the working directory', () => {
  it('createSession (validation, drift reference runs)', async () => {
    await withCanary(() => assert.rejects(createSession(hostile('external-cwd')), missingExternalData));
  });

  it('openServedSession (the version pool of every api and worker)', async () => {
    await withCanary(() => assert.rejects(openServedSession(hostile('external-cwd'), 1), missingExternalData));
  });
});
