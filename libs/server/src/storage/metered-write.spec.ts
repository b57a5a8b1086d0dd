import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { AppError } from '../platform/errors.js';
import { meteredWrite } from './metered-write.js';

const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

/** A backend write that reads everything and remembers it. */
const collect = () => {
  const got: Buffer[] = [];
  return {
    got,
    write: async (data: Readable) => {
      for await (const chunk of data) got.push(chunk as Buffer);
      return 'mem://object';
    },
  };
};

/** A body that yields `chunks` and then fails as a dropped connection would. */
function interrupted(chunks: Buffer[], err: Error = new Error('aborted')) {
  return Readable.from(
    (async function* () {
      yield* chunks;
      throw err;
    })(),
  );
}

describe(meteredWrite.name, () => {
  it('answers the uri, size and SHA-256 of what went through', async () => {
    const sut = collect();
    const parts = [Buffer.from('hello '), Buffer.from('world')];
    const r = await meteredWrite(Readable.from(parts), { maxBytes: 11 }, sut.write);
    assert.deepEqual(r, {
      uri: 'mem://object',
      sizeBytes: 11,
      sha256: createHash('sha256').update('hello world').digest('hex'),
    });
    assert.equal(Buffer.concat(sut.got).toString(), 'hello world');
  });

  it('refuses the first byte over the limit with PAYLOAD_TOO_LARGE and stops reading the body', async () => {
    const body = new PassThrough();
    body.write(Buffer.alloc(8));
    body.write(Buffer.alloc(8));
    await assert.rejects(meteredWrite(body, { maxBytes: 10 }, collect().write), code('PAYLOAD_TOO_LARGE'));
    assert.equal(body.destroyed, true);
  });

  it('turns a body that fails midway into BAD_REQUEST', async () => {
    await assert.rejects(
      meteredWrite(interrupted([Buffer.alloc(100)]), { maxBytes: 1000 }, collect().write),
      code('BAD_REQUEST'),
    );
  });

  it('turns a body that closes without ending into BAD_REQUEST', async () => {
    const body = new PassThrough();
    body.write(Buffer.alloc(10));
    setImmediate(() => body.destroy());
    await assert.rejects(meteredWrite(body, { maxBytes: 1000 }, collect().write), code('BAD_REQUEST'));
  });

  it('keeps an AppError or a 413 that the body itself raised', async () => {
    const limit = Object.assign(new Error('request file too large'), { statusCode: 413 });
    await assert.rejects(
      meteredWrite(interrupted([Buffer.alloc(1)], limit), { maxBytes: 1000 }, collect().write),
      code('PAYLOAD_TOO_LARGE'),
    );
    const own = new AppError('VALIDATION_FAILED', 'bad part');
    await assert.rejects(
      meteredWrite(interrupted([Buffer.alloc(1)], own), { maxBytes: 1000 }, collect().write),
      (e) => e === own,
    );
  });

  it("rethrows a backend failure as it is (a 500, not the uploader's fault) and stops reading the body", async () => {
    const down = new Error('connect ECONNREFUSED');
    const body = new PassThrough();
    body.write(Buffer.alloc(10));
    await assert.rejects(
      meteredWrite(body, { maxBytes: 1000 }, async () => {
        throw down;
      }),
      (e) => e === down,
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(body.destroyed, true);
  });

  it('refuses a backend that claims success before the body ended', async () => {
    const body = new PassThrough();
    body.write(Buffer.alloc(10));
    await assert.rejects(
      meteredWrite(body, { maxBytes: 1000 }, async () => 'mem://prefix'),
      /before the upload ended/,
    );
  });
});
