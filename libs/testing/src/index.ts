import { randomBytes, randomUUID } from 'node:crypto';

/** Unique per call, so tests never collide with each other or with earlier runs on the same database. */
export function uniqueId(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function uniqueEmail(role = 'user'): string {
  return `${role}-${randomBytes(5).toString('hex')}@test.modelyard.local`;
}

export const TEST_PASSWORD = 'test-password-123';

/** The environment integration tests run with: the servers `npm test` started, plus test-only settings. */
export function integrationEnv(extra: Record<string, string> = {}): Record<string, string> {
  const need = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set: run integration tests through \`npm test\``);
    return v;
  };
  return {
    DATABASE_URL: need('DATABASE_URL'),
    REDIS_URL: need('REDIS_URL'),
    SESSION_SECRET: process.env.SESSION_SECRET ?? randomBytes(32).toString('hex'),
    SECRET_KEY: process.env.SECRET_KEY ?? randomBytes(32).toString('hex'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Each test file gets its own Redis namespace: queues, rate-limit counters and pub/sub do not cross.
    REDIS_PREFIX: `test-${randomUUID().slice(0, 8)}`,
    // In-process workers of several test files must not all try to listen on the default metrics port.
    WORKER_METRICS_PORT: '0',
    ...extra,
  };
}

/** For end-to-end tests: where the running platform is and who the seeded admin is. */
export function e2eEnv() {
  const need = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set: run end-to-end tests through \`npm test\``);
    return v;
  };
  return {
    apiUrl: need('E2E_API_URL'),
    webUrl: process.env.E2E_WEB_URL ?? null,
    adminEmail: need('E2E_ADMIN_EMAIL'),
    adminPassword: need('E2E_ADMIN_PASSWORD'),
    adminApiKey: need('E2E_ADMIN_API_KEY'),
  };
}

/** A tiny JSON-over-HTTP helper for black-box tests: returns status, headers and parsed body. */
export async function http(
  baseUrl: string,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; cookie?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let json: any = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}
export * from './storage-servers.js';
export * from './openapi.js';
