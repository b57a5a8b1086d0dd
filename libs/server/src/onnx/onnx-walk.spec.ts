import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readOnnxModel } from './onnx-model.js';
import { OnnxReadModelProto } from './onnx-proto.js';
import { assertSelfContained, findExternalData } from './onnx-walk.js';
import { hostile, pseudoRandomBytes, SHARED_MODELS, sharedModel, validationFailed } from './onnx.test-support.js';

describe('findExternalData', () => {
  it('finds an initializer whose data is a file under the working directory, with its location', () => {
    assert.deepEqual(findExternalData(hostile('external-cwd')), [
      { where: 'model > graph "exfiltrate" > initializer "W"', location: '.data/hostile-canary.txt' },
    ]);
  });

  it('finds absolute and ../ locations', () => {
    assert.equal(findExternalData(hostile('external-absolute'))[0]?.location, '/etc/hostname');
    assert.match(findExternalData(hostile('external-dotdot'))[0]?.location ?? '', /^(\.\.\/){12}etc\/hostname$/);
  });

  it('finds external data in a Constant node of an If subgraph', () => {
    const [ref] = findExternalData(hostile('external-subgraph'));
    assert.equal(
      ref?.where,
      'model > graph "hidden" > node "If_Y" > attribute "then_branch" > g "then" > node "Constant_Wb" > attribute "value" > t "Wc"',
    );
    assert.equal(ref?.location, '.data/hostile-canary.txt');
  });

  it('finds nothing in the reference models', () => {
    for (const name of SHARED_MODELS) assert.deepEqual(findExternalData(sharedModel(name).bytes), [], name);
  });

  it('refuses 40 nested subgraphs as a protobuf bomb', () => {
    assert.throws(
      () => findExternalData(hostile('bomb-deep-nesting')),
      validationFailed(/nests more than 64 levels deep; it is refused as a protobuf bomb/),
    );
  });

  it('refuses a million empty nodes as a protobuf bomb', () => {
    assert.throws(
      () => findExternalData(hostile('bomb-many-nodes')),
      validationFailed(/more than 1000000 nested records; it is refused as a protobuf bomb/),
    );
  });

  it('steps over a 2 MB packed int64 field without decoding it', () => {
    const started = performance.now();
    assert.deepEqual(findExternalData(hostile('bomb-packed-int64')), []);
    assert.ok(
      performance.now() - started < 200,
      'a packed field is skipped by its length, not read element by element',
    );
  });

  it('calls a truncated file truncated, and random bytes corrupt, without throwing anything else', () => {
    assert.throws(
      () => findExternalData(hostile('truncated')),
      validationFailed(/ends in the middle of a record after 336 bytes, so it is truncated or corrupt/),
    );
    for (let seed = 1; seed <= 200; seed++) {
      try {
        findExternalData(pseudoRandomBytes(1 + ((seed * 37) % 3000), seed));
      } catch (e) {
        validationFailed(/./)(e);
      }
    }
  });
});

describe('assertSelfContained', () => {
  it('says the model references external data, where, and what to upload instead', () => {
    assert.throws(
      () => assertSelfContained(hostile('external-cwd')),
      validationFailed(
        /^The model references external data \(model > graph "exfiltrate" > initializer "W" at location "\.data\/hostile-canary\.txt"\); external data is not accepted: upload a self-contained model/,
      ),
    );
  });
});

describe('reading a hostile model', () => {
  it('refuses external data before anything reads the referenced file', () => {
    assert.throws(() => readOnnxModel(hostile('external-subgraph')), validationFailed(/references external data/));
  });

  it('does not materialise tensor data when decoding (the packed int64 bomb stays bytes)', () => {
    const decoded = OnnxReadModelProto.decode(hostile('bomb-packed-int64')) as unknown as {
      graph: { initializer: Record<string, unknown>[] };
    };
    assert.equal(decoded.graph.initializer[0]?.name, 'B');
    assert.equal(decoded.graph.initializer[0]?.int64_data, undefined);
    assert.equal(readOnnxModel(hostile('bomb-packed-int64')).inputs[0]?.name, 'X');
  });

  it('does not decode subgraphs or attribute tensors either (reading needs attribute names, ints and strings)', () => {
    const decoded = OnnxReadModelProto.decode(hostile('external-subgraph')) as unknown as {
      graph: { node: { attribute: Record<string, unknown>[] }[] };
    };
    const branch = decoded.graph.node[0]?.attribute[0];
    assert.equal(branch?.name, 'then_branch');
    assert.equal(branch?.g, undefined);
    assert.equal(branch?.t, undefined);
  });
});
