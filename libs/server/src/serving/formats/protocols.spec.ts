import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../platform/errors.js';
import { jsonOnly } from './protocol.js';
import { PROTOCOL_NAMES, PROTOCOLS, protocolNamed, protocolOf } from './protocols.js';
import { irisSignature, served } from './formats.test-support.js';

describe('PROTOCOLS', () => {
  it('gives every format one name, unique routes and operationIds, and routes that name their model', () => {
    assert.deepEqual(PROTOCOL_NAMES, ['modelyard', 'oip-v2', 'tfs', 'mlflow']);
    const routes = PROTOCOLS.flatMap((p) => p.routes);
    assert.equal(new Set(routes.map((r) => r.path)).size, routes.length, 'a path served twice');
    assert.equal(new Set(routes.map((r) => r.operationId)).size, routes.length, 'an operationId used twice');
    for (const r of routes) {
      const vars = [...r.path.matchAll(/\{([a-z]+)\}/g)].map((m) => m[1]);
      assert.equal(vars[0], 'name', r.path);
      assert.equal(vars.length, r.target === 'model' ? 1 : 2, `${r.path} and its target ${r.target}`);
    }
  });

  it('finds a protocol by its name or a former name, and refuses a name no protocol has', () => {
    assert.equal(protocolNamed('v2')?.name, 'oip-v2');
    assert.equal(protocolNamed('v1')?.name, 'tfs');
    assert.equal(protocolNamed('mlflow')?.name, 'mlflow');
    assert.equal(protocolNamed('grpc'), undefined);
    assert.throws(
      () => protocolOf('grpc'),
      (e: AppError) => e.code === 'INTERNAL',
    );
  });

  it('reads only the media types each format takes, and says so with 415', () => {
    for (const p of PROTOCOLS) assert.equal(p.bodyKind('application/json; charset=utf-8'), 'json', p.name);
    assert.equal(protocolOf('mlflow').bodyKind('text/csv'), 'text');
    for (const p of PROTOCOLS) {
      assert.throws(
        () => p.bodyKind('text/plain'),
        (e: AppError) => e.code === 'UNSUPPORTED_MEDIA_TYPE',
        p.name,
      );
    }
    assert.throws(
      () => jsonOnly(undefined),
      (e: AppError) => e.code === 'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it("answers errors in each protocol's shape, with our status kept", () => {
    const shapes = Object.fromEntries(PROTOCOLS.map((p) => [p.name, p.errors?.body(404, 'NOT_FOUND', 'gone') ?? null]));
    assert.deepEqual(shapes, {
      modelyard: null,
      'oip-v2': { error: 'gone' },
      tfs: { error: 'gone' },
      mlflow: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'gone' },
    });
  });

  it('prepares the same rows in every format into the same feeds', () => {
    const sv = served(irisSignature());
    const row = [5.1, 3.5, 1.4, 0.2];
    const bodies: Record<string, unknown> = {
      modelyard: { payload: [row] },
      'oip-v2': { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: row }] },
      tfs: { instances: [row] },
      mlflow: { instances: [row] },
    };
    const feeds = PROTOCOLS.map((p) => {
      const prepared = p.prepare(
        sv,
        { body: bodies[p.name], contentType: 'application/json', requestId: 'r1' },
        {
          maxRows: 10,
        },
      );
      const t = prepared.feeds.float_input!;
      return { dims: t.dims, data: [...(t.data as Float32Array)] };
    });
    for (const f of feeds) assert.deepEqual(f, feeds[0]);
    assert.deepEqual(feeds[0]!.dims, [1, 4]);
  });
});
