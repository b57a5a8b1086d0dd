import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { rawRequest, startWeb } from '../support/raw-http.js';

const env = e2eEnv();
const webUrl = env.webUrl || assert.fail('E2E_WEB_URL is not set: the dashboard was not built');

async function sessionCookie(): Promise<string> {
  const login = await http(env.apiUrl, 'POST', '/v1/auth/login', {
    body: { email: env.adminEmail, password: env.adminPassword },
  });
  assert.equal(login.status, 200, login.text);
  return login.headers.get('set-cookie')!.split(';')[0]!;
}

async function groupExists(name: string): Promise<boolean> {
  const list = await http(env.apiUrl, 'GET', '/v1/groups', { token: env.adminApiKey });
  assert.equal(list.status, 200, list.text);
  return (list.json.items ?? list.json).some((g: { name: string }) => g.name === name);
}

/** Cookie-authenticated state changes only from the dashboard's own pages (issue 22, item 6: CSRF). */
describe('cross-site requests with the session cookie', () => {
  let cookie: string;
  before(async () => {
    cookie = await sessionCookie();
  });

  const crossSite: { label: string; headers: Record<string, string> }[] = [
    { label: 'Sec-Fetch-Site: cross-site', headers: { 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' } },
    {
      label: 'Sec-Fetch-Site: same-site',
      headers: { 'sec-fetch-site': 'same-site', origin: 'http://other.127.0.0.1.nip.example' },
    },
    { label: 'a foreign Origin (no Sec-Fetch-Site)', headers: { origin: 'http://evil.example' } },
    { label: 'Origin: null (sandboxed frame)', headers: { origin: 'null' } },
  ];

  for (const { label, headers } of crossSite) {
    for (const [where, base, path] of [
      ['dashboard', webUrl, '/api/v1/groups'],
      ['api', env.apiUrl, '/v1/groups'],
    ] as const) {
      it(`refuses a group creation with ${label} through the ${where}: 403 and nothing created`, async () => {
        const name = uniqueId('csrf');
        const res = await http(base, 'POST', path, { cookie, headers, body: { name } });
        assert.equal(res.status, 403, res.text);
        assert.equal(res.json.error.code, 'FORBIDDEN');
        assert.match(res.json.error.message, /Cross-site request refused/);
        assert.equal(await groupExists(name), false);
      });
    }
  }

  it('refuses a cross-site login (login CSRF) and a cross-site logout', async () => {
    const login = await http(webUrl, 'POST', '/api/v1/auth/login', {
      headers: { 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' },
      body: { email: env.adminEmail, password: env.adminPassword },
    });
    assert.equal(login.status, 403, login.text);
    assert.equal(login.headers.get('set-cookie'), null);
    const logout = await http(webUrl, 'POST', '/api/v1/auth/logout', {
      cookie,
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(logout.status, 403, logout.text);
    assert.equal((await http(env.apiUrl, 'GET', '/v1/me', { cookie })).status, 200, 'the session was logged out');
  });

  it("tells the dashboard's own pages from other sites: same-origin, API keys and reads pass, a foreign Origin does not", async () => {
    for (const headers of [{ 'sec-fetch-site': 'same-origin', origin: webUrl }, { origin: webUrl }, {}] as Record<
      string,
      string
    >[]) {
      const res = await http(webUrl, 'POST', '/api/v1/groups', {
        cookie,
        headers,
        body: { name: uniqueId('same-origin') },
      });
      assert.equal(res.status, 201, `${JSON.stringify(headers)}: ${res.text}`);
    }
    const direct = await http(env.apiUrl, 'POST', '/v1/groups', {
      cookie,
      headers: { origin: env.apiUrl },
      body: { name: uniqueId('direct') },
    });
    assert.equal(direct.status, 201, direct.text);
    const evil = { 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' };
    const byKey = await http(env.apiUrl, 'POST', '/v1/groups', {
      token: env.adminApiKey,
      headers: evil,
      body: { name: uniqueId('key') },
    });
    assert.equal(byKey.status, 201, byKey.text);
    const read = await http(webUrl, 'GET', '/api/v1/me', { cookie, headers: evil });
    assert.equal(read.status, 200, read.text);
    // The same cookie, the same dashboard, another site's page: refused.
    const forged = await http(webUrl, 'POST', '/api/v1/groups', {
      cookie,
      headers: evil,
      body: { name: uniqueId('evil') },
    });
    assert.equal(forged.status, 403, forged.text);
  });
});

/** The session cookie is Secure whenever the browser used https (issue 22, item 6). */
describe('session cookie flags', () => {
  const login = (base: string, path: string, headers: Record<string, string> = {}) =>
    rawRequest(
      base,
      'POST',
      path,
      { 'content-type': 'application/json', ...headers },
      JSON.stringify({ email: env.adminEmail, password: env.adminPassword }),
    );
  const setCookie = (h: Record<string, unknown>) => String((h['set-cookie'] as string[] | undefined)?.[0] ?? '');

  it('is Secure exactly when the browser came over https: not over plain http, yes when a trusted proxy says https', async () => {
    const plain = await login(env.apiUrl, '/v1/auth/login');
    assert.equal(plain.status, 200, plain.body);
    assert.match(setCookie(plain.headers), /HttpOnly/i);
    assert.match(setCookie(plain.headers), /SameSite=Lax/i);
    assert.doesNotMatch(setCookie(plain.headers), /;\s*Secure/i);
    // The api trusts its loopback peers' X-Forwarded-Proto (TRUST_PROXY=loopback, the default).
    const res = await login(env.apiUrl, '/v1/auth/login', { 'x-forwarded-proto': 'https' });
    assert.equal(res.status, 200, res.body);
    assert.match(setCookie(res.headers), /;\s*Secure/i);
    const session = setCookie(res.headers).split(';')[0]!;
    const out = await rawRequest(env.apiUrl, 'POST', '/v1/auth/logout', {
      cookie: session,
      'x-forwarded-proto': 'https',
    });
    assert.equal(out.status, 204, out.body);
    assert.match(setCookie(out.headers), /;\s*Secure/i, 'the cookie is cleared with the flags it was set with');
  });

  describe('through a dashboard behind a TLS-terminating proxy (WEB_TRUST_PROXY)', () => {
    let web: Awaited<ReturnType<typeof startWeb>>;
    before(async () => {
      web = await startWeb({ API_URL: env.apiUrl, WEB_TRUST_PROXY: '127.0.0.1/32,::1' });
    });
    after(async () => {
      await web?.kill();
    });

    it("believes a trusted proxy's https and client address, and an untrusted client's neither", async () => {
      const res = await login(web.url, '/api/v1/auth/login', {
        'x-forwarded-proto': 'https',
        'x-forwarded-for': '203.0.113.5',
      });
      assert.equal(res.status, 200, res.body);
      assert.match(setCookie(res.headers), /;\s*Secure/i);
      const me = JSON.parse(res.body) as { id: string };
      const audited = async () =>
        (
          await http(env.apiUrl, 'GET', `/v1/audit?action=auth.login&actorId=${me.id}&limit=1`, {
            token: env.adminApiKey,
          })
        ).json.items[0]?.ip;
      assert.equal(await audited(), '203.0.113.5');
      // The shared dashboard trusts no proxy: the same claims from its client change nothing.
      const direct = await login(webUrl, '/api/v1/auth/login', {
        'x-forwarded-proto': 'https',
        'x-forwarded-for': '203.0.113.6',
      });
      assert.equal(direct.status, 200, direct.body);
      assert.doesNotMatch(setCookie(direct.headers), /;\s*Secure/i);
      assert.notEqual(await audited(), '203.0.113.6');
    });
  });
});
