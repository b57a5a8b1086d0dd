import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import { publicReason, scrubInternals } from './public-reason.js';

describe('publicReason', () => {
  it('keeps what the user can act on', () => {
    assert.equal(
      publicReason(new AppError('VALIDATION_FAILED', 'The model has no inputs'), 'Validation could not complete'),
      'The model has no inputs',
    );
    const ort =
      '[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Unexpected input data type. Actual: (tensor(double)) , expected: (tensor(float))';
    assert.equal(publicReason(new Error(ort), 'The prediction failed'), `The prediction failed: ${ort}`);
  });

  it('says "internal error" for driver, storage and network errors, whatever their message', () => {
    const enoent = Object.assign(
      new Error("ENOENT: no such file or directory, open '/srv/modelyard/.data/artifacts/m/model.onnx'"),
      { code: 'ENOENT', errno: -2 },
    );
    const pg = Object.assign(new Error("Can't reach database server at `db-primary.internal:5432`"), { code: 'P1001' });
    const s3 = Object.assign(new Error('getaddrinfo ENOTFOUND minio.corp.local'), { $metadata: {} });
    for (const e of [enoent, pg, s3]) {
      const r = publicReason(e, 'Validation could not complete');
      assert.equal(
        r,
        'Validation could not complete: an internal error (storage, database or network); the details are in the server log',
      );
    }
  });

  it('removes paths, URLs, addresses and stack lines from any message', () => {
    const raw =
      'Load model from /srv/app/.data/secrets/key failed (see ./x/y.onnx, C:\\data\\m.onnx) via https://minio.internal:9000/b?k=1 ' +
      'on 10.0.3.7:5432 or [fd00::12]:80 or fd00::12 or db.internal:6379\n    at Object.<anonymous> (/app/x.js:1:1)';
    const out = scrubInternals(raw);
    for (const leak of ['/srv', 'secrets', 'x/y', 'C:', 'minio', '10.0.3.7', 'fd00', 'db.internal', 'x.js'])
      assert.ok(!out.includes(leak), `${leak} in ${out}`);
    assert.match(out, /^Load model from <path> failed/);
    assert.equal(
      scrubInternals('Expected: 4, got 3 (ratio 3:4) at 12:30:45'.replace(' at ', ' by ')),
      'Expected: 4, got 3 (ratio 3:4) by 12:30:45',
    );
  });
});
