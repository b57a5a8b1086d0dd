import { ApiError, ZErrorResponse } from '@modelyard/contracts';
import { credentialHeaders, type Credential } from './config.js';

/**
 * An error answer in any of the API's shapes: ours (`{"error": {code, message}}`), MLflow's
 * (`{"error_code", "message"}`) or OIP v2 / TF Serving's (`{"error": "message"}`, which carries no code).
 */
export class RemoteError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

export function errorFromBody(status: number, text: string): ApiError | RemoteError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const ours = ZErrorResponse.safeParse(body);
  if (ours.success) return new ApiError(status, ours.data.error.code, ours.data.error.message, ours.data.error.errorId);
  const b = (body ?? {}) as { error?: unknown; error_code?: unknown; message?: unknown };
  if (typeof b.error_code === 'string' && typeof b.message === 'string') {
    return new RemoteError(status, b.error_code, b.message);
  }
  if (typeof b.error === 'string') return new RemoteError(status, undefined, b.error);
  return new RemoteError(status, undefined, text.trim().slice(0, 300) || `HTTP ${status}`);
}

/** One request with the saved key; a refusal becomes the API's error, an unreachable server a NETWORK error. */
export async function send(
  url: URL,
  credential: Credential,
  init: { method: string; body?: string; contentType?: string; accept?: string },
): Promise<Response> {
  const headers: Record<string, string> = { ...credentialHeaders(credential), 'user-agent': 'modelyard-cli' };
  if (init.contentType) headers['content-type'] = init.contentType;
  if (init.accept) headers.accept = init.accept;
  let res: Response;
  try {
    res = await fetch(url, { method: init.method, headers, body: init.body });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new ApiError(0, 'NETWORK', `cannot reach ${url.origin}: ${why}`);
  }
  if (!res.ok) throw errorFromBody(res.status, await res.text().catch(() => ''));
  return res;
}
