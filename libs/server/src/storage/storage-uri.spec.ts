import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../platform/errors.js';
import { checkKey, kindOfUri, localPathOfKey, localPathOfUri, parseBucketUri } from './storage-uri.js';

const badRequest = (e: unknown) => e instanceof AppError && e.code === 'BAD_REQUEST';

describe('kindOfUri', () => {
  it('maps each scheme to its backend, case-insensitively', () => {
    assert.equal(kindOfUri('file:///srv/artifacts/a.onnx'), 'local');
    assert.equal(kindOfUri('s3://bucket/key'), 's3');
    assert.equal(kindOfUri('S3://bucket/key'), 's3');
    assert.equal(kindOfUri('azure://container/blob'), 'azure');
  });

  it('refuses other schemes and bare paths with a 400 naming the accepted ones', () => {
    for (const uri of [
      'https://example.com/model.onnx',
      'gs://b/k',
      '/srv/artifacts/a.onnx',
      'file:/x',
      '',
      's3:/b/k',
    ]) {
      assert.throws(
        () => kindOfUri(uri),
        (e: unknown) => badRequest(e) && /file:\/\/, s3:\/\/, azure:\/\//.test((e as Error).message),
        uri,
      );
    }
  });
});

describe('checkKey', () => {
  it('accepts relative slash-separated keys', () => {
    assert.equal(checkKey('models/iris/3f2a/model.onnx'), 'models/iris/3f2a/model.onnx');
    assert.equal(checkKey('a..b/..c'), 'a..b/..c');
  });

  it('refuses keys that could mean different places on different backends', () => {
    for (const key of [
      '',
      '/abs',
      'a//b',
      'a/',
      './a',
      'a/./b',
      '../a',
      'a/../../b',
      'a\\..\\b',
      'a\nb',
      'x'.repeat(1025),
    ]) {
      assert.throws(() => checkKey(key), badRequest, JSON.stringify(key));
    }
  });
});

describe('parseBucketUri', () => {
  it('splits bucket and key', () => {
    assert.deepEqual(parseBucketUri('s3://models/a/b.onnx', 's3'), { bucket: 'models', key: 'a/b.onnx' });
    assert.deepEqual(parseBucketUri('azure://models/a/b.onnx', 'azure'), { bucket: 'models', key: 'a/b.onnx' });
  });

  it('refuses a URI without a key, of the other scheme, or with a bad key', () => {
    for (const uri of ['s3://models', 's3://models/', 's3:///key', 'azure://models/a', 's3://models/a/../../b']) {
      assert.throws(() => parseBucketUri(uri, 's3'), badRequest, uri);
    }
  });
});

describe('localPathOfUri', () => {
  const root = '/srv/artifacts';

  it('answers the file inside the root', () => {
    assert.equal(localPathOfUri(root, 'file:///srv/artifacts/models/a.onnx'), '/srv/artifacts/models/a.onnx');
    assert.equal(localPathOfUri(root, 'file:///srv/artifacts/with%20space.onnx'), '/srv/artifacts/with space.onnx');
  });

  it('refuses escapes from the root, however they are spelled', () => {
    for (const uri of [
      'file:///etc/passwd',
      'file:///srv/artifacts/../secrets/key',
      'file:///srv/artifacts/%2e%2e/secrets/key',
      'file:///srv/artifacts-other/a.onnx', // a sibling whose name starts like the root
      'file:///srv/artifacts', // the root itself is not an object
      'file:///srv/artifacts/a%2F..%2F..%2Fetc', // encoded slashes
      'file://otherhost/srv/artifacts/a.onnx',
      's3://bucket/key',
    ]) {
      assert.throws(() => localPathOfUri(root, uri), badRequest, uri);
    }
  });

  it('round-trips with localPathOfKey', () => {
    assert.equal(localPathOfKey(root, 'models/a.onnx'), '/srv/artifacts/models/a.onnx');
    assert.throws(() => localPathOfKey(root, '../a.onnx'), badRequest);
  });
});
