import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../platform/errors.js';
import { servedArtifact, verifiedArtifact } from './artifact-cache.js';

const good = Buffer.from('the serving copy');
const sha = createHash('sha256').update(good).digest('hex');
const uri = 'file:///models/m/1/serving.onnx';

describe('verifiedArtifact', () => {
  it('downloads once, then serves the cached copy', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cache-'));
    let downloads = 0;
    const download = async () => {
      downloads++;
      return good;
    };
    assert.deepEqual(await verifiedArtifact(dir, uri, sha, download), good);
    assert.deepEqual(await verifiedArtifact(dir, uri, sha, download), good);
    assert.equal(downloads, 1);
  });

  it('does not serve a cached serving copy that was tampered with: downloads it again and repairs the cache', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cache-'));
    await verifiedArtifact(dir, uri, sha, async () => good);
    const cached = path.join(dir, readdirSync(dir)[0]!);
    writeFileSync(cached, 'a model someone swapped in');
    const warnings: string[] = [];
    assert.deepEqual(
      await verifiedArtifact(
        dir,
        uri,
        sha,
        async () => good,
        (m) => warnings.push(m),
      ),
      good,
    );
    assert.deepEqual(readFileSync(cached), good);
    assert.deepEqual(warnings, ['cached artifact failed its checksum; downloading again']);
  });

  it('refuses downloaded bytes that do not match the checksum, and caches nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cache-'));
    await assert.rejects(
      verifiedArtifact(dir, uri, sha, async () => Buffer.from('other bytes')),
      (e) => e instanceof AppError && e.code === 'INTERNAL',
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('servedArtifact', () => {
  it('checks the upload against its checksum, and a derived serving copy against its own', () => {
    const facts = { storageUri: 'file:///m/model.onnx', sha256: 'a'.repeat(64), servingSha256: null };
    assert.deepEqual(servedArtifact({ ...facts, servingUri: null }), { uri: facts.storageUri, sha256: facts.sha256 });
    const same = { ...facts, servingUri: facts.storageUri };
    assert.deepEqual(servedArtifact(same), { uri: facts.storageUri, sha256: facts.sha256 });
    const derived = { ...facts, servingUri: 'file:///m/serving.onnx', servingSha256: 'b'.repeat(64) };
    assert.deepEqual(servedArtifact(derived), { uri: derived.servingUri, sha256: derived.servingSha256 });
  });
});
