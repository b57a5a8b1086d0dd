import { createReadStream, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ApiError } from '@modelyard/contracts';
import { credentialHeaders, type Credential } from './config.js';

/**
 * Streams `spec` (JSON field) then the file as multipart/form-data without loading the file in memory; the
 * body length is known up front, and `onProgress` sees every chunk as it leaves.
 */
export async function uploadMultipart(
  url: string,
  credential: Credential,
  spec: unknown,
  file: string,
  onProgress?: (sent: number, total: number) => void,
) {
  const size = statSync(file).size;
  const boundary = `----modelyard${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="spec"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(spec)}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${path.basename(file).replace(/"/g, '')}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let sent = 0;
  async function* body() {
    yield head;
    for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) {
      sent += (chunk as Buffer).length;
      onProgress?.(sent, size);
      yield chunk as Buffer;
    }
    yield tail;
  }
  try {
    return await fetch(url, {
      method: 'POST',
      headers: {
        ...credentialHeaders(credential),
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(head.length + size + tail.length),
        'user-agent': 'modelyard-cli',
      },
      body: body() as unknown as RequestInit['body'],
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
  } catch (e) {
    // Name the socket error (EPIPE, ECONNRESET, ECONNREFUSED): "fetch failed" alone says nothing.
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    const origin = new URL(url).origin;
    throw new ApiError(0, 'NETWORK', `the upload to ${origin} failed after ${sent} of ${size} bytes: ${why}`);
  }
}

/** A one-line bar on stderr; `unit` 'MiB' shows bytes sent, '%' a plain percentage. */
export function progressBar(label: string, unit: 'MiB' | '%' = 'MiB') {
  let last = -1;
  return (sent: number, total: number) => {
    const pct = total ? Math.floor((sent / total) * 100) : 100;
    if (pct === last) return;
    last = pct;
    const width = 30;
    const fill = Math.round((pct / 100) * width);
    const amount = unit === 'MiB' ? ` ${(sent / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB` : '';
    process.stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct}%${amount}`);
    if (sent >= total) process.stderr.write('\n');
  };
}
