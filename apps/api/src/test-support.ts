import inject from 'light-my-request';
import { loadApiConfig } from '@modelyard/config';
import { createLogger } from '@modelyard/server';
import { integrationEnv, TEST_PASSWORD, uniqueEmail } from '@modelyard/testing';
import type { Role, Scope } from '@modelyard/contracts';
import { createApp } from './app.js';

export type TestApp = Awaited<ReturnType<typeof startTestApp>>;

/**
 * The real api (real Postgres and Redis from `npm test`) booted in-process; requests are injected into the
 * function its server hands every request to (predict router, then Fastify and Nest), so every guard, pipe and
 * filter runs exactly as in production, without a port.
 */
export async function startTestApp(env: Record<string, string> = {}) {
  const config = loadApiConfig(integrationEnv(env));
  // Seeded before the app starts, as `npm start` and the deployments do: the api reads key prefixes at boot.
  const { runSeed } = await import('@modelyard/server');
  const adminKey = `admin-${'x'.repeat(24)}-${Math.random().toString(36).slice(2)}`;
  // Its own account: seeding rotates the bootstrap key, and the e2e platform's key must survive this one.
  const adminAccount = `it-admin-${Math.random().toString(36).slice(2, 10)}`;
  await runSeed(
    { db: { url: config.db.url }, admin: { apiKey: adminKey, email: undefined, password: undefined } },
    { serviceAccount: adminAccount },
  );
  const { app, dispatch } = await createApp(config, createLogger(config.log, 'api-test'));
  await app.init();
  await app.getHttpAdapter().getInstance().ready();

  async function request(
    method: string,
    url: string,
    opts: { body?: unknown; token?: string; cookie?: string; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.cookie) headers.cookie = opts.cookie;
    const res = await inject(dispatch, {
      method: method as 'GET',
      url,
      headers,
      ...(opts.body !== undefined
        ? typeof opts.body === 'string'
          ? { payload: opts.body }
          : { payload: opts.body as object }
        : {}),
    });
    let json: any;
    try {
      json = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, json, body: res.body };
  }

  /** A user with this role, logged in: returns its session cookie. */
  async function userWithRole(role: Role) {
    const email = uniqueEmail(role);
    const created = await request('POST', '/v1/users', {
      token: adminKey,
      body: { email, password: TEST_PASSWORD, role },
    });
    if (created.status !== 201) throw new Error(`could not create ${role}: ${created.body}`);
    const login = await request('POST', '/v1/auth/login', { body: { email, password: TEST_PASSWORD } });
    if (login.status !== 200) throw new Error(`could not log in ${role}: ${login.body}`);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    return { id: created.json.id as string, email, cookie };
  }

  /** A service account with this role holding one key with these scopes: returns the secret. */
  async function keyWithScopes(scopes: Scope[], role: Role = 'admin', extra: Record<string, unknown> = {}) {
    const sa = await request('POST', '/v1/service-accounts', {
      token: adminKey,
      body: { name: `sa-${Math.random().toString(36).slice(2, 10)}`, role },
    });
    if (sa.status !== 201) throw new Error(`could not create service account: ${sa.body}`);
    const key = await request('POST', '/v1/api-keys', {
      token: adminKey,
      body: { name: 'test', scopes, serviceAccountId: sa.json.id, ...extra },
    });
    if (key.status !== 201) throw new Error(`could not create key: ${key.body}`);
    return {
      secret: key.json.secret as string,
      id: key.json.apiKey.id as string,
      serviceAccountId: sa.json.id as string,
    };
  }

  return { app, config, request, adminKey, adminAccount, userWithRole, keyWithScopes, close: () => app.close() };
}

/** One multipart body: the `spec` part, then the `file` part, as the CLI sends them. */
export function multipart(file: Buffer, spec: unknown = {}, filename = 'model.onnx') {
  const boundary = `----modelyard${Math.random().toString(16).slice(2)}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n${JSON.stringify(spec)}\r\n`),
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}
