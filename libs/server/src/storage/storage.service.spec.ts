import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PassThrough, Readable } from 'node:stream';
import type { StorageConfig } from '@modelyard/config';
import { AppError } from '../platform/errors.js';
import { StorageService } from './storage.service.js';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

/** S3 and Azure clients connect lazily, so these configs never touch the network in this file. */
const storageConfig = (root: string, over: Partial<StorageConfig> = {}): StorageConfig => ({
  defaultBackend: 'local',
  maxUploadBytes: 1024 * 1024,
  local: { root },
  s3: null,
  azure: null,
  importPrefixes: [],
  ...over,
});
const s3Config = {
  endpoint: 'http://127.0.0.1:1',
  region: 'us-east-1',
  bucket: 'models',
  forcePathStyle: true,
  accessKeyId: 'a',
  secretAccessKey: 'b',
};
const azureConfig = {
  connectionString:
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;',
  container: 'models',
};

describe(StorageService.name, () => {
  let root: string;
  let sut: StorageService;

  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'modelyard-storage-service-'));
    sut = new StorageService({ storage: storageConfig(root) });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  describe('defaultBackend / maxUploadBytes', () => {
    it('come from config', () => {
      const s = new StorageService({
        storage: storageConfig(root, { defaultBackend: 's3', s3: s3Config, maxUploadBytes: 4096 }),
      });
      assert.equal(s.defaultBackend(), 's3');
      assert.equal(s.maxUploadBytes(), 4096);
      assert.deepEqual(s.configuredBackends(), ['local', 's3']);
    });
  });

  describe('import prefixes (STORAGE_IMPORT_PREFIXES)', () => {
    it('become the backend and folder key they name; one no backend here can read stops the process', () => {
      const s = new StorageService({
        storage: storageConfig(root, {
          s3: s3Config,
          importPrefixes: [`${pathToFileURL(root).href}/shared`, 's3://models/landing/', 's3://models/'],
        }),
      });
      assert.deepEqual(s.importPrefixes(), [
        { backend: 'local', key: 'shared/' },
        { backend: 's3', key: 'landing/' },
        { backend: 's3', key: '' },
      ]);
      assert.deepEqual(s.locate(`${pathToFileURL(root).href}/shared/x.csv`), { backend: 'local', key: 'shared/x.csv' });
      for (const bad of ['file:///elsewhere/shared', 's3://other-bucket/shared', 'azure://models/shared'])
        assert.throws(
          () => new StorageService({ storage: storageConfig(root, { s3: s3Config, importPrefixes: [bad] }) }),
          /STORAGE_IMPORT_PREFIXES: .* is not readable here/,
          bad,
        );
    });
  });

  describe('put', () => {
    it('writes to the backend it is given and answers a URI that reads back', async () => {
      const put = await sut.put('local', 'models/a/model.onnx', Readable.from([Buffer.from('onnx')]), {
        maxBytes: 100,
      });
      assert.match(put.uri, /^file:\/\//);
      assert.equal(sut.backendOf(put.uri), 'local');
      assert.deepEqual(await sut.stat(put.uri), { sizeBytes: 4 });
    });

    it('refuses a backend without credentials with a 400, and consumes the body', async () => {
      const body = new PassThrough();
      await assert.rejects(
        sut.put('s3', 'models/a', body, { maxBytes: 100 }),
        (e) => code('BAD_REQUEST')(e) && /s3 storage backend is not configured/.test((e as Error).message),
      );
      assert.equal(body.destroyed, true);
    });
  });

  describe('deleteAll', () => {
    it('removes every file it can, past one it cannot, and answers that one with why', async () => {
      const put = (key: string) => sut.put('local', key, Readable.from([Buffer.from('x')]), { maxBytes: 10 });
      const a = await put('gone/a');
      const b = await put('gone/b');
      const failed = await sut.deleteAll([a.uri, null, 's3://models/gone/c', undefined, b.uri]);
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.uri, 's3://models/gone/c');
      assert.ok(code('BAD_REQUEST')(failed[0]!.err), String(failed[0]!.err));
      assert.equal(await sut.stat(a.uri), null);
      assert.equal(await sut.stat(b.uri), null);
    });
  });

  describe('backendOf / canRead', () => {
    const full = () => new StorageService({ storage: storageConfig(root, { s3: s3Config, azure: azureConfig }) });

    it('routes by scheme', () => {
      const s = full();
      assert.equal(s.backendOf(`file://${root}/x.onnx`), 'local');
      assert.equal(s.backendOf('s3://models/x.onnx'), 's3');
      assert.equal(s.backendOf('azure://models/x.onnx'), 'azure');
    });

    it('answers 400 for an unknown scheme, an unconfigured backend, or a place outside the backend', () => {
      const s = full();
      for (const uri of [
        'https://x/y.onnx',
        's3://other-bucket/x.onnx',
        'azure://other/x.onnx',
        'file:///etc/passwd',
      ]) {
        assert.throws(() => s.backendOf(uri), code('BAD_REQUEST'), uri);
        assert.equal(s.canRead(uri), false, uri);
      }
      assert.throws(() => sut.backendOf('s3://models/x.onnx'), /not configured/);
      assert.equal(s.canRead('s3://models/x.onnx'), true);
    });

    it('rejects rather than throws from the async methods, so .catch() sees it', async () => {
      await assert.rejects(sut.delete('gs://b/k'), code('BAD_REQUEST'));
      await assert.rejects(sut.get('file:///etc/passwd'), code('BAD_REQUEST'));
    });
  });
});
