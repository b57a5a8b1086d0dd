import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { notFound } from '../platform/errors.js';
import { meteredWrite } from './metered-write.js';
import type { PutOptions, ReadOptions, StorageBackend, StoredObject } from './storage-backend.js';
import { localPathOfKey, localPathOfUri } from './storage-uri.js';

const absent = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

/** The file's bytes read straight into `into` (ReadOptions.into), `piece` bytes at a time; past its end, into new buffers. */
async function* readInto(handle: FileHandle, into: Uint8Array, piece: number): AsyncGenerator<Uint8Array> {
  try {
    for (let pos = 0; ;) {
      const room = into.length - pos;
      const target = room > 0 ? into.subarray(pos, pos + Math.min(piece, room)) : Buffer.allocUnsafe(piece);
      const { bytesRead } = await handle.read(target, 0, target.length, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield target.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** A folder on this machine or a mounted NAS share. URIs are `file:///<root>/<key>`. */
export class LocalBackend implements StorageBackend {
  readonly kind = 'local' as const;
  private readonly root: string;

  /** `root` may be relative (to the working directory); it is created on the first put. */
  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async put(key: string, body: Readable, opts: PutOptions): Promise<StoredObject> {
    return meteredWrite(body, opts, async (data) => {
      const file = localPathOfKey(this.root, key);
      // Written under a temporary name in the same folder, then renamed: the rename is atomic, so readers never
      // see half a file, and a failed upload only has the temporary file to remove.
      const partial = `${file}.${randomUUID()}.partial`;
      try {
        await mkdir(path.dirname(file), { recursive: true });
        await pipeline(data, createWriteStream(partial, { flags: 'wx' }));
        await rename(partial, file);
      } catch (err) {
        await rm(partial, { force: true });
        throw err;
      }
      return pathToFileURL(file).href;
    });
  }

  /**
   * The file a URI names, read only when no symbolic link is on its way under the root: a link (to /etc, to another
   * project's folder on a NAS) would let a key read what its path does not say. ENOENT for a link.
   */
  private async unlinked(uri: string): Promise<string> {
    const file = localPathOfUri(this.root, uri);
    const [realRoot, real] = await Promise.all([realpath(this.root), realpath(file)]);
    if (real !== path.join(realRoot, path.relative(this.root, file)))
      throw Object.assign(new Error(`${uri} goes through a symbolic link`), { code: 'ENOENT' });
    return real;
  }

  async get(uri: string, opts?: ReadOptions): Promise<Readable> {
    const file = await this.unlinked(uri).catch((err: unknown) => {
      throw absent(err) ? notFound(`Artifact ${uri}`) : err;
    });
    // Opened here rather than lazily by the stream, so a missing file is a NOT_FOUND now, not a stream error
    // after the response headers have gone out.
    const handle = await open(file, 'r').catch((err: unknown) => {
      throw absent(err) || (err as NodeJS.ErrnoException).code === 'EISDIR' ? notFound(`Artifact ${uri}`) : err;
    });
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw notFound(`Artifact ${uri}`);
    }
    if (opts?.into) return Readable.from(readInto(handle, opts.into, opts.readBytes ?? 4 * 1024 * 1024));
    return handle.createReadStream(opts?.readBytes ? { highWaterMark: opts.readBytes } : {});
  }

  async stat(uri: string): Promise<{ sizeBytes: number } | null> {
    try {
      const s = await stat(await this.unlinked(uri));
      return s.isFile() ? { sizeBytes: s.size } : null;
    } catch (err) {
      if (absent(err)) return null;
      throw err;
    }
  }

  async exists(uri: string): Promise<boolean> {
    return (await this.stat(uri)) !== null;
  }

  async delete(uri: string): Promise<void> {
    const file = localPathOfUri(this.root, uri);
    // EISDIR: a folder is not an object, so there is nothing to delete (and we never remove folders by URI).
    await unlink(file).catch((err: unknown) => {
      if (!absent(err) && (err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
    });
  }

  checkUri(uri: string): void {
    localPathOfUri(this.root, uri);
  }

  keyOf(uri: string): string {
    return path.relative(this.root, localPathOfUri(this.root, uri)).split(path.sep).join('/');
  }

  async list(prefix: string, limit: number): Promise<{ uri: string; key: string; sizeBytes: number }[]> {
    // Walk only the folder the prefix's complete segments name; the rest of the prefix filters names.
    const dirKey = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = dirKey ? localPathOfKey(this.root, dirKey) : this.root;
    const out: { uri: string; key: string; sizeBytes: number }[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
        if (absent(err)) return [];
        throw err;
      });
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        if (out.length >= limit) return;
        const file = path.join(dir, e.name);
        const key = path.relative(this.root, file).split(path.sep).join('/');
        if (e.isDirectory()) {
          if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(file);
        } else if (e.isFile() && key.startsWith(prefix) && !key.endsWith('.partial')) {
          out.push({ uri: pathToFileURL(file).href, key, sizeBytes: (await stat(file)).size });
        }
      }
    };
    await walk(start);
    return out;
  }

  async close(): Promise<void> {}
}
