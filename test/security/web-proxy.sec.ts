import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http } from '@modelyard/testing';
import { connectionRecorder, rawRequest, requestRecorder, startWeb } from '../support/raw-http.js';

const env = e2eEnv();
const webUrl = env.webUrl || assert.fail('E2E_WEB_URL is not set: the dashboard was not built');
const apiHost = new URL(env.apiUrl).host;

/** The dashboard's /api route under attack: it must reach the configured API and nothing else (issue 22, item 1). */
describe('dashboard proxy (/api)', () => {
  let target: Awaited<ReturnType<typeof connectionRecorder>>;
  before(async () => {
    target = await connectionRecorder();
  });
  after(async () => {
    await target?.close();
  });

  /** Spellings that would make the path after /api/ another host, each with the local listener as that host. */
  const variants = (p: number) => [
    `/api/https:127.0.0.1:${p}/steal`,
    `/api/http:127.0.0.1:${p}/steal`,
    `/api/http://127.0.0.1:${p}/steal`,
    `/api/https://127.0.0.1:${p}/steal`,
    `/api//127.0.0.1:${p}/steal`,
    `/api/v1//127.0.0.1:${p}/steal`,
    `/api/%2F%2F127.0.0.1:${p}/steal`,
    `/api/http:%2F%2F127.0.0.1:${p}/steal`,
    `/api/v1/%2F%2F127.0.0.1:${p}/steal`,
    `/api/v1/..%2F..%2F%2F127.0.0.1:${p}/steal`,
    `/api/v1/%2e%2e/%2e%2e/http:127.0.0.1:${p}/steal`,
    `/api/\\\\127.0.0.1:${p}/steal`,
    `/api/http:\\\\127.0.0.1:${p}\\steal`,
    `/api/%5C%5C127.0.0.1:${p}/steal`,
    `/api/http:%5C%5C127.0.0.1:${p}/steal`,
    `/api/v1/%5C%5C127.0.0.1:${p}/steal`,
    `/api/@127.0.0.1:${p}/steal`,
    `/api/v1@127.0.0.1:${p}/steal`,
    `/api/http:x@127.0.0.1:${p}/steal`,
    `/api/v1/%40127.0.0.1:${p}/steal`,
    `/api/https:127.0.0.1:${p}`,
    `/api`,
    `/api/`,
    `/api/v1`,
    `/api/healthz`,
    // The project-qualified form (/api/projects/{p}/v<N>/...) under the same attacks.
    `/api/projects/team-a/v1//127.0.0.1:${p}/steal`,
    `/api/projects/team-a/v1/%2F%2F127.0.0.1:${p}/steal`,
    `/api/projects/team-a/v1/%2e%2e/%2e%2e/http:127.0.0.1:${p}/steal`,
    `/api/projects/team-a/v1/%5C%5C127.0.0.1:${p}/steal`,
    `/api/projects/team-a@127.0.0.1:${p}/v1/steal`,
    `/api/projects/%2e%2e/v1/steal`,
    `/api/projects/../v1/steal`,
    `/api/projects/Team/v1/steal`,
    `/api/projects//127.0.0.1:${p}/v1/steal`,
    `/api/projects/http:127.0.0.1:${p}/v1/steal`,
    `/api/projects/team-a`,
    `/api/projects/team-a/healthz`,
  ];

  it('answers 404 to every off-API spelling and opens no connection to the would-be target; /api/v1/ still works', async () => {
    const tried = variants(target.port);
    const answers: { what: string; status: number; body: string }[] = [];
    for (const path of tried) {
      for (const method of ['GET', 'POST']) {
        const res = await rawRequest(
          webUrl,
          method,
          path,
          { cookie: 'modelyard_session=probe-session' },
          method === 'POST' ? '{}' : undefined,
        );
        answers.push({ what: `${method} ${path}`, status: res.status, body: res.body });
      }
    }
    // Figures for docs/SECURITY.md: variants tried (two methods each) and connections the target saw.
    console.log(`proxy variants tried: ${answers.length}, outbound connections: ${target.connections()}`);
    const list = answers.map((a) => `${a.what} -> ${a.status}`).join('\n');
    assert.equal(target.connections(), 0, `the would-be target was reached:\n${list}`);
    for (const a of answers) {
      assert.equal(a.status, 404, `${a.what} answered ${a.status}: ${a.body.slice(0, 200)}`);
      assert.ok(!a.body.includes('stolen'), `${a.what} returned the target's answer`);
    }
    // The one way through still leads to the API.
    const login = await http(webUrl, 'POST', '/api/v1/auth/login', {
      body: { email: env.adminEmail, password: env.adminPassword },
    });
    assert.equal(login.status, 200, login.text);
    const me = await http(webUrl, 'GET', '/api/v1/me', { cookie: login.headers.get('set-cookie')!.split(';')[0]! });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.email, env.adminEmail);
    // And its project-qualified form, to the API's /projects/{p}/... (the dashboard's pages in a project).
    const inDefault = await http(webUrl, 'GET', '/api/projects/default/v1/me', {
      cookie: login.headers.get('set-cookie')!.split(';')[0]!,
    });
    assert.equal(inDefault.status, 200, inDefault.text);
    assert.equal(inDefault.json.project.name, 'default');
  });

  it('names the internal API URL in no response header', async () => {
    const login = await http(webUrl, 'POST', '/api/v1/auth/login', {
      body: { email: env.adminEmail, password: env.adminPassword },
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const probes: [string, string][] = [
      ['GET', '/api/v1/me'],
      ['GET', '/api/v1/models'],
      ['GET', '/api/v1/no-such-route'],
      ['POST', '/api/v1/auth/logout'],
      ['GET', '/api/v1/me?x=1'],
      ['GET', `/api/https:127.0.0.1:${target.port}/x`],
      ['GET', '/login'],
      ['GET', '/'],
    ];
    for (const [method, path] of probes) {
      const res = await rawRequest(webUrl, method, path, { cookie });
      for (const [name, value] of Object.entries(res.headers)) {
        const text = String(value);
        assert.ok(
          !text.includes(apiHost) && !text.includes(env.apiUrl),
          `${method} ${path}: header ${name} names the API (${apiHost}): ${text}`,
        );
      }
    }
  });

  it('lets no forged X-Forwarded-For reach the API: a login through the dashboard is audited with the real address', async () => {
    const forged = '203.0.113.77';
    const login = await rawRequest(
      webUrl,
      'POST',
      '/api/v1/auth/login',
      {
        'content-type': 'application/json',
        'x-forwarded-for': forged,
        'x-real-ip': forged,
        forwarded: `for=${forged}`,
      },
      JSON.stringify({ email: env.adminEmail, password: env.adminPassword }),
    );
    assert.equal(login.status, 200, login.body);
    const me = JSON.parse(login.body) as { id: string };
    const audit = await http(env.apiUrl, 'GET', `/v1/audit?action=auth.login&actorId=${me.id}&limit=1`, {
      token: env.adminApiKey,
    });
    assert.equal(audit.status, 200, audit.text);
    const entry = audit.json.items[0];
    assert.ok(entry, 'the login was not audited');
    assert.notEqual(entry.ip, forged, 'the audit entry carries the address the client made up');
    assert.match(String(entry.ip), /^(::ffff:)?127\.0\.0\.1$|^::1$/, `audited address: ${entry.ip}`);
  });
});

/** What exactly the dashboard passes on, seen by a stand-in API: one dashboard of its own, pointed at a recorder. */
describe('dashboard proxy header policy', () => {
  let api: Awaited<ReturnType<typeof requestRecorder>>;
  let web: Awaited<ReturnType<typeof startWeb>>;
  before(async () => {
    api = await requestRecorder();
    web = await startWeb({ API_URL: `${api.url}/base/` });
  });
  after(async () => {
    await web?.kill();
    await api?.close();
  });

  const hostile = {
    cookie: 'theme=dark; modelyard_session=s3ss10n-value; other_app_session=secret-of-another-app',
    'x-forwarded-for': '198.51.100.23',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'https',
    'x-real-ip': '198.51.100.23',
    forwarded: 'for=198.51.100.23;host=evil.example',
  };

  for (const [method, path, body] of [
    ['GET', '/api/v1/models?limit=5', undefined],
    ['POST', '/api/v1/models/iris/versions', '--boundary--'],
    ['POST', '/api/v1/jobs', '{"x":1}'],
    ['DELETE', '/api/v1/models/iris', undefined],
  ] as const) {
    it(`${method} ${path.split('?')[0]} carries only the session cookie and the socket's address`, async () => {
      const before = api.seen.length;
      const res = await rawRequest(web.url, method, path, hostile, body);
      assert.equal(res.status, 200, res.body);
      assert.equal(api.seen.length, before + 1);
      const got = api.seen.at(-1)!;
      assert.equal(got.url, `/base${path.slice('/api'.length)}`);
      assert.equal(got.headers.cookie, 'modelyard_session=s3ss10n-value');
      assert.match(String(got.headers['x-forwarded-for']), /^(::ffff:)?127\.0\.0\.1$/);
      assert.equal(got.headers['x-forwarded-host'], new URL(web.url).host);
      assert.equal(got.headers['x-forwarded-proto'], 'http');
      assert.equal(got.headers['x-real-ip'], undefined);
      assert.equal(got.headers.forwarded, undefined);
      if (body !== undefined) assert.equal(got.body, body);
    });
  }

  it('server-rendered pages call the API with only the session cookie too', async () => {
    const before = api.seen.length;
    await rawRequest(web.url, 'GET', '/models', { cookie: hostile.cookie });
    const calls = api.seen.slice(before);
    assert.ok(calls.length > 0, 'the page did not call the API');
    for (const c of calls) assert.equal(c.headers.cookie, 'modelyard_session=s3ss10n-value', `${c.method} ${c.url}`);
  });
});
