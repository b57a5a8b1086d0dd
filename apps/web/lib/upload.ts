import {
  ApiError,
  ZErrorResponse,
  ZJob,
  ZModelVersion,
  type TBatchJobSpec,
  type TJob,
  type TModelVersion,
  type TRegisterVersionSpec,
} from '@modelyard/contracts';
import { browserApiHref } from './api.browser';

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * Registers a version by upload. Same origin (app/api/v1/models/[name]/versions/route.ts streams it on to the
 * API), so the session cookie rides along.
 */
export function uploadVersion(
  model: string,
  spec: Partial<TRegisterVersionSpec>,
  file: File,
  onProgress: (p: UploadProgress) => void,
): Promise<TModelVersion> {
  return postMultipart(
    browserApiHref(`/v1/models/${encodeURIComponent(model)}/versions`),
    spec,
    file,
    ZModelVersion,
    onProgress,
  );
}

/** Starts a batch scoring job on an uploaded CSV / JSON Lines file (streamed on by app/api/v1/jobs/route.ts). */
export function uploadBatchJob(
  spec: Omit<TBatchJobSpec, 'inputUri'>,
  file: File,
  onProgress: (p: UploadProgress) => void,
): Promise<TJob> {
  return postMultipart(browserApiHref('/v1/jobs'), spec, file, ZJob, onProgress);
}

/** The part of a zod schema used here (web does not depend on zod itself, only on the contracts). */
interface ResponseSchema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { message: string } };
}

/**
 * POSTs `spec` (JSON) and `file` as multipart. XMLHttpRequest rather than the typed client's fetch: only XHR
 * reports upload progress. The API reads the parts in order and needs `spec` before `file`; FormData keeps
 * insertion order. The answer is parsed with `schema`, a refusal becomes an ApiError with the API's message.
 */
function postMultipart<T>(
  url: string,
  spec: unknown,
  file: File,
  schema: ResponseSchema<T>,
  onProgress: (p: UploadProgress) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress({ loaded: e.loaded, total: e.total });
    };
    xhr.onerror = () => reject(new ApiError(0, 'NETWORK', 'The upload failed: the connection to the server was lost.'));
    xhr.onabort = () => reject(new ApiError(0, 'NETWORK', 'The upload was cancelled.'));
    xhr.onload = () => {
      let json: unknown;
      try {
        json = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
      } catch {
        json = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        const parsed = schema.safeParse(json);
        if (parsed.success) resolve(parsed.data);
        else
          reject(
            new ApiError(xhr.status, 'BAD_RESPONSE', `Unexpected response to the upload: ${parsed.error.message}`),
          );
        return;
      }
      const err = ZErrorResponse.safeParse(json);
      if (err.success)
        reject(new ApiError(xhr.status, err.data.error.code, err.data.error.message, err.data.error.errorId));
      else reject(new ApiError(xhr.status, 'BAD_RESPONSE', `The upload was refused (HTTP ${xhr.status}).`));
    };
    const body = new FormData();
    body.append('spec', JSON.stringify(spec));
    body.append('file', file, file.name);
    xhr.send(body);
  });
}

/**
 * `key=value` lines (tags, metrics) as typed in a textarea. Blank lines and `#` comments are skipped; the
 * first `=` splits, so values may contain `=`. Returns a message naming the bad line instead of guessing.
 */
export function parsePairs(
  text: string,
  what: string,
): { ok: true; value: Record<string, string> } | { ok: false; message: string } {
  const value: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (key === '') return { ok: false, message: `${what}, line ${i + 1}: "${line}" is not key=value.` };
    value[key] = line.slice(eq + 1).trim();
  }
  return { ok: true, value };
}

export function parseMetrics(
  text: string,
): { ok: true; value: Record<string, number> } | { ok: false; message: string } {
  const pairs = parsePairs(text, 'Metrics');
  if (!pairs.ok) return pairs;
  const value: Record<string, number> = {};
  for (const [k, raw] of Object.entries(pairs.value)) {
    const n = raw === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(n)) return { ok: false, message: `Metrics: "${k}=${raw}" is not a number.` };
    value[k] = n;
  }
  return { ok: true, value };
}
