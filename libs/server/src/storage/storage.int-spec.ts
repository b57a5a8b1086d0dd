import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, startS3Server } from '@modelyard/testing';
import { AppError } from '../platform/errors.js';
import { AzureBackend } from './azure.backend.js';
import { LocalBackend } from './local.backend.js';
import { S3Backend } from './s3.backend.js';
import type { StorageBackend } from './storage-backend.js';

const MiB = 1024 * 1024;
const code = (c: string) => (e: unknown) => e instanceof AppError && e.code === c;

/** What the contract suite needs besides the backend: a way to look at the server behind its back. */
interface Harness {
  backend: StorageBackend;
  /** Every object (and, where the server can show them, partial uploads) whose key starts with `prefix`. */
  list(prefix: string): Promise<string[]>;
  /** The URI `key` would have; for asserting on a put that failed and so returned none. */
  uriOf(key: string): string;
  /** A well-formed URI of this scheme that points outside the backend's root, bucket or container. */
  foreignUri: string;
  stop(): Promise<void>;
}

/**
 * `size` pseudo-random bytes in 64 KiB chunks, generated as they are read: the test never holds the whole
 * payload. `digest()` is the SHA-256 of what has been produced so far. `failAfter` makes the stream error
 * once that many bytes have gone out, as a dropped client connection would.
 */
function generated(size: number, failAfter?: number) {
  const hash = createHash('sha256');
  const seed = randomBytes(64 * 1024);
  async function* chunks() {
    for (let sent = 0; sent < size;) {
      if (failAfter !== undefined && sent >= failAfter) throw new Error('ECONNRESET: client went away');
      const chunk = Buffer.from(seed.subarray(0, Math.min(seed.length, size - sent)));
      chunk.writeUInt32LE(sent, 0); // every chunk differs, so a reordered or repeated chunk changes the hash
      hash.update(chunk);
      sent += chunk.length;
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks()), digest: () => hash.digest('hex') };
}

async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** The same promises, checked against every backend. */
function storageContract(name: string, start: () => Promise<Harness>) {
  describe(`storage contract: ${name}`, () => {
    let h: Harness;
    let sut: StorageBackend;
    const prefix = `contract-${randomUUID().slice(0, 8)}`;
    const key = (leaf: string) => `${prefix}/${leaf}`;

    before(async () => {
      h = await start();
      sut = h.backend;
    });
    after(async () => {
      await sut?.close();
      await h?.stop();
    });

    it('round-trips bytes with their size and SHA-256', async () => {
      const bytes = randomBytes(100_000);
      const put = await sut.put(key('round-trip.onnx'), Readable.from([bytes]), {
        maxBytes: MiB,
        contentType: 'application/octet-stream',
      });
      assert.equal(put.uri, h.uriOf(key('round-trip.onnx')));
      assert.equal(put.sizeBytes, bytes.length);
      assert.equal(put.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.deepEqual(await sut.stat(put.uri), { sizeBytes: bytes.length });
      assert.equal(await sut.exists(put.uri), true);
      const chunks: Buffer[] = [];
      for await (const c of await sut.get(put.uri)) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(bytes));
    });

    it('streams a 3 MB upload through, without anyone holding it whole', async () => {
      const src = generated(3 * 1000 * 1000 + 7);
      const put = await sut.put(key('big.onnx'), src.stream, { maxBytes: 4 * MiB });
      assert.equal(put.sizeBytes, 3 * 1000 * 1000 + 7);
      assert.equal(put.sha256, src.digest());
      assert.deepEqual(await sha256Of(await sut.get(put.uri)), { sha256: put.sha256, size: put.sizeBytes });
    });

    it('reads the same bytes with a buffer to read into, whether it is short, exact or roomy', async () => {
      const bytes = randomBytes(300_000);
      const put = await sut.put(key('into.csv'), Readable.from([bytes]), { maxBytes: MiB });
      for (const room of [100_000, bytes.length, bytes.length + 5]) {
        const into = Buffer.alloc(room);
        const chunks: Buffer[] = [];
        for await (const c of await sut.get(put.uri, { readBytes: 64 * 1024, into }))
          chunks.push(Buffer.from(c as Buffer));
        assert.ok(Buffer.concat(chunks).equals(bytes), `read into ${room} bytes`);
        // A backend that reads into it (a local file) has the file's start there; others leave it as it was.
        const head = into.subarray(0, Math.min(room, bytes.length));
        if (name === 'local folder') assert.ok(head.equals(bytes.subarray(0, head.length)));
      }
    });

    it('stores an empty object', async () => {
      const put = await sut.put(key('empty.bin'), Readable.from([]), { maxBytes: 10 });
      assert.equal(put.sizeBytes, 0);
      assert.deepEqual(await sut.stat(put.uri), { sizeBytes: 0 });
    });

    it('replaces an object put again under the same key', async () => {
      await sut.put(key('again.bin'), Readable.from([Buffer.from('first')]), { maxBytes: 100 });
      const put = await sut.put(key('again.bin'), Readable.from([Buffer.from('second!')]), { maxBytes: 100 });
      assert.deepEqual(await sha256Of(await sut.get(put.uri)), {
        sha256: createHash('sha256').update('second!').digest('hex'),
        size: 7,
      });
    });

    // 2x over a limit above S3's 5 MiB part size and several Azure blocks, so parts and blocks really are
    // sent before the limit trips, and must be cleaned up.
    it('refuses an upload over the limit with PAYLOAD_TOO_LARGE and leaves nothing behind', async () => {
      const src = generated(12 * MiB);
      await assert.rejects(sut.put(key('too-big.onnx'), src.stream, { maxBytes: 6 * MiB }), code('PAYLOAD_TOO_LARGE'));
      assert.equal(src.stream.destroyed, true, 'the rest of the upload is not read');
      assert.equal(await sut.stat(h.uriOf(key('too-big.onnx'))), null);
      assert.deepEqual(await h.list(key('too-big')), []);
    });

    it('answers BAD_REQUEST to an upload that breaks off midway and leaves nothing behind', async () => {
      const src = generated(12 * MiB, 7 * MiB);
      await assert.rejects(
        sut.put(key('truncated.onnx'), src.stream, { maxBytes: 64 * MiB }),
        (e) => code('BAD_REQUEST')(e) && /interrupted/.test((e as Error).message),
      );
      assert.equal(await sut.stat(h.uriOf(key('truncated.onnx'))), null);
      assert.deepEqual(await h.list(key('truncated')), []);
    });

    it('answers BAD_REQUEST to an upload whose client goes away without an error', async () => {
      const body = new PassThrough();
      body.write(randomBytes(100_000));
      setTimeout(() => body.destroy(), 50);
      await assert.rejects(sut.put(key('dropped.onnx'), body, { maxBytes: MiB }), code('BAD_REQUEST'));
      assert.deepEqual(await h.list(key('dropped')), []);
    });

    it('answers NOT_FOUND for a missing object, and null from stat', async () => {
      const uri = h.uriOf(key('never-written.onnx'));
      await assert.rejects(sut.get(uri), code('NOT_FOUND'));
      assert.equal(await sut.stat(uri), null);
      assert.equal(await sut.exists(uri), false);
    });

    it('deletes idempotently', async () => {
      const put = await sut.put(key('doomed.onnx'), Readable.from([Buffer.from('x')]), { maxBytes: 10 });
      await sut.delete(put.uri);
      await sut.delete(put.uri);
      await sut.delete(h.uriOf(key('never-written.onnx')));
      assert.equal(await sut.stat(put.uri), null);
      assert.deepEqual(await h.list(key('doomed')), []);
    });

    it('lists the objects under a key prefix in key order, and names the key of each URI', async () => {
      const keys = ['list/b.csv', 'list/a.csv', 'list/sub/c.jsonl', 'listing-not/d.csv'];
      const uris: string[] = [];
      for (const k of keys) uris.push((await sut.put(key(k), Readable.from([Buffer.from(k)]), { maxBytes: 100 })).uri);
      const listed = await sut.list(key('list/'), 100);
      assert.deepEqual(
        listed.map((o) => o.key),
        [key('list/a.csv'), key('list/b.csv'), key('list/sub/c.jsonl')],
      );
      assert.deepEqual(
        listed.map((o) => o.sizeBytes),
        [10, 10, 16],
      );
      assert.equal(listed[1]!.uri, uris[0]);
      assert.equal(sut.keyOf(uris[0]!), key('list/b.csv'));
      assert.equal((await sut.list(key('list/'), 2)).length, 2);
      assert.deepEqual(await sut.list(key('nothing-here/'), 100), []);
    });

    it('refuses keys that climb out, and URIs outside its root, bucket or container', async () => {
      const body = Readable.from([Buffer.from('x')]);
      await assert.rejects(sut.put(`${prefix}/../../escape.onnx`, body, { maxBytes: 10 }), code('BAD_REQUEST'));
      assert.equal(body.destroyed, true, 'a refused put still consumes its body');
      assert.throws(() => sut.checkUri(h.foreignUri), code('BAD_REQUEST'));
      await assert.rejects(sut.get(h.foreignUri), code('BAD_REQUEST'));
      await assert.rejects(sut.delete(h.foreignUri), code('BAD_REQUEST'));
      assert.deepEqual(await h.list(prefix).then((keys) => keys.filter((k) => k.includes('escape'))), []);
    });
  });
}

storageContract('local folder', async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'modelyard-local-'));
  const root = path.join(base, 'artifacts');
  const walk = (dir: string): string[] =>
    (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []).flatMap((d) =>
      d.isDirectory() ? walk(path.join(dir, d.name)) : [path.relative(root, path.join(dir, d.name))],
    );
  return {
    backend: new LocalBackend(root),
    // Temporary `.partial` files included: they are what a failed upload would leave.
    list: async (prefix) => walk(root).filter((k) => k.startsWith(prefix)),
    uriOf: (key) => pathToFileURL(path.join(root, key)).href,
    // A sibling folder whose name starts like the root: a prefix check on strings would let it through.
    foreignUri: pathToFileURL(`${root}-other/model.onnx`).href,
    stop: async () => rmSync(base, { recursive: true, force: true }),
  };
});

storageContract('S3 API (s3rver)', async () => {
  const server = await startS3Server();
  const cfg = {
    endpoint: server.endpoint,
    region: server.region,
    bucket: server.bucket,
    forcePathStyle: true,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
  };
  const client = new S3Client({
    endpoint: cfg.endpoint,
    region: cfg.region,
    forcePathStyle: true,
    credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    // The smallest part S3 allows, so the over-limit test really goes multipart.
    backend: new S3Backend(cfg, { partSize: 5 * MiB, queueSize: 2 }),
    list: async (prefix) => {
      const out = await client.send(new ListObjectsV2Command({ Bucket: cfg.bucket, Prefix: prefix }));
      return (out.Contents ?? []).map((o) => o.Key!);
    },
    uriOf: (key) => `s3://${cfg.bucket}/${key}`,
    foreignUri: 's3://someone-elses-bucket/model.onnx',
    stop: async () => {
      client.destroy();
      await server.stop();
    },
  };
});

storageContract('Azure Blob (Azurite)', async () => {
  const server = await startAzurite();
  const container = BlobServiceClient.fromConnectionString(server.connectionString).getContainerClient(
    server.container,
  );
  return {
    // Small blocks, so failed uploads have staged some and the cleanup of uncommitted blocks is exercised.
    backend: new AzureBackend(
      { connectionString: server.connectionString, container: server.container },
      { blockSize: MiB, concurrency: 2 },
    ),
    list: async (prefix) => {
      if (!(await container.exists())) return [];
      const names: string[] = [];
      // Uncommitted blobs too: blocks staged by a failed upload are invisible to a normal listing.
      for await (const b of container.listBlobsFlat({ prefix, includeUncommitedBlobs: true })) names.push(b.name);
      return names;
    },
    uriOf: (key) => `azure://${server.container}/${key}`,
    foreignUri: 'azure://someone-elses-container/model.onnx',
    stop: () => server.stop(),
  };
});

describe('local folder: symbolic links', () => {
  it('reads no file through a link under the root (to a file outside it, or a linked folder): not found', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'modelyard-links-'));
    const root = path.join(base, 'artifacts');
    const outside = path.join(base, 'outside');
    mkdirSync(path.join(root, 'projects', 'team-b'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret.txt'), 'team a only');
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'projects', 'team-b', 'link.txt'));
    symlinkSync(outside, path.join(root, 'projects', 'team-b', 'dir'));
    writeFileSync(path.join(root, 'projects', 'team-b', 'plain.txt'), 'ok');
    const local = new LocalBackend(root);
    try {
      for (const key of ['projects/team-b/link.txt', 'projects/team-b/dir/secret.txt']) {
        const uri = pathToFileURL(path.join(root, key)).href;
        assert.equal(await local.stat(uri), null, key);
        await assert.rejects(local.get(uri), (e: unknown) => e instanceof AppError && e.code === 'NOT_FOUND', key);
        // Read into a caller's buffer (a batch job's input): the same refusal, and nothing copied into it.
        const into = Buffer.alloc(64);
        await assert.rejects(
          local.get(uri, { into }),
          (e: unknown) => e instanceof AppError && e.code === 'NOT_FOUND',
          key,
        );
        assert.ok(into.equals(Buffer.alloc(64)), key);
      }
      assert.deepEqual(
        (await local.list('projects/team-b/', 10)).map((o) => o.key),
        ['projects/team-b/plain.txt'],
      );
      const plain = await local.get(pathToFileURL(path.join(root, 'projects/team-b/plain.txt')).href);
      let text = '';
      for await (const c of plain) text += String(c);
      assert.equal(text, 'ok');
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
