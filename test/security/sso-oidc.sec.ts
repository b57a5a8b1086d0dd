import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import { e2eEnv, http, uniqueId } from '@modelyard/testing';
import { records, registerFixture, samples } from '../support/fixtures.js';
import { freePort, startApp, waitReady, type AppProcess } from '../support/processes.js';
import { startWeb } from '../support/raw-http.js';
import {
  CLI_CLIENT,
  CookieJar,
  OTHER_CLIENT,
  TEST_SCOPES,
  WEB_CLIENT,
  signInAtIdp,
  startTestIdp,
  type TestIdp,
} from '../support/oidc-provider.js';

const env = e2eEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REFRESH_MS = 3000;

/** The IdP's tokens for `clientId` after a device authorization grant that `accountId` approved at the IdP. */
async function deviceTokens(idp: TestIdp, clientId: string, accountId: string) {
  const config = await oidc.discovery(new URL(idp.issuer), clientId, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  const d = await oidc.initiateDeviceAuthorization(config, { scope: TEST_SCOPES });
  assert.equal(await signInAtIdp(idp, d.verification_uri_complete!, accountId), null);
  // Approved already: one token request, without the grant's polling interval.
  return oidc.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:device_code', {
    device_code: d.device_code,
  });
}

/**
 * Single sign-on against a real OpenID Connect provider (`oidc-provider`, started here on 127.0.0.1), an api
 * process of this file's own with OIDC_* set (a 3 s re-check period, so a change at the IdP shows in seconds) and
 * a dashboard of its own in front of it: the browser's flow goes through the dashboard's /api proxy, as in use.
 */
describe('single sign-on (OpenID Connect) against a real IdP', () => {
  let idp: TestIdp;
  let other: TestIdp;
  let api: { url: string; proc: AppProcess };
  let web: AppProcess & { url: string };
  const team = uniqueId('sso-team');
  const beta = uniqueId('sso-beta');

  before(async () => {
    const port = await freePort();
    const webPort = await freePort();
    const callback = `http://127.0.0.1:${webPort}/api/v1/auth/sso/callback`;
    idp = await startTestIdp([callback]);
    other = await startTestIdp([callback]);
    // The IdP must know the callback before the api knows the IdP: the api's port is chosen first.
    const proc = startApp('sso-api', 'api', {
      REDIS_PREFIX: uniqueId('sso'),
      API_PORT: String(port),
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: WEB_CLIENT.id,
      OIDC_CLIENT_SECRET: WEB_CLIENT.secret,
      OIDC_REDIRECT_URL: callback,
      OIDC_SCOPES: TEST_SCOPES,
      OIDC_CLI_CLIENT_ID: CLI_CLIENT,
      OIDC_GROUP_ROLES: `${team}=scientist`,
      OIDC_PROVIDER_NAME: 'Test IdP',
      OIDC_REFRESH_MINUTES: String(REFRESH_MS / 60_000),
    });
    api = { url: `http://127.0.0.1:${port}`, proc };
    await waitReady(`${api.url}/readyz`, proc);
    web = await startWeb({ API_URL: api.url }, webPort);
  });
  after(async () => {
    await web?.kill();
    await api?.proc.kill();
    await idp?.close();
    await other?.close();
  });

  const account = (groups: string[]) => {
    const id = uniqueId('person');
    idp.accounts.set(id, { email: `${id}@example.test`, name: `Person ${id}`, groups });
    return id;
  };

  /** The dashboard's redirect flow up to the callback URL the IdP sends the browser to (not yet visited). */
  async function startLogin(accountId: string, tweak: (authorize: URL) => void = () => {}) {
    const jar = new CookieJar();
    const start = await fetch(`${web.url}/api/v1/auth/sso/login?next=/models`, { redirect: 'manual' });
    assert.equal(start.status, 302);
    jar.store(start);
    const authorize = new URL(start.headers.get('location')!);
    assert.equal(authorize.origin, idp.issuer);
    tweak(authorize);
    const callback = await signInAtIdp(idp, authorize.href, accountId);
    assert.ok(callback, 'the IdP sent the browser back');
    return { jar, callback };
  }

  const visit = (url: URL, jar: CookieJar) =>
    fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } }).then(async (res) => ({
      res,
      body: res.status === 302 ? null : await res.json(),
      session: res.headers.getSetCookie().find((c) => c.startsWith('modelyard_session=') && !/=;/.test(c)),
    }));

  async function dashboardLogin(accountId: string) {
    const { jar, callback } = await startLogin(accountId);
    const done = await visit(callback, jar);
    assert.equal(done.res.status, 302, JSON.stringify(done.body));
    assert.equal(done.res.headers.get('location'), `${web.url}/models`);
    assert.ok(done.session, 'a session cookie was set');
    assert.match(done.session, /HttpOnly/);
    return done.session.split(';')[0]!;
  }

  it('shows "Sign in with Test IdP" on the dashboard login page, linking to the sign-in through /api', async () => {
    const page = await fetch(`${web.url}/login?next=%2Fmodels`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Sign in with (<!-- -->)?Test IdP/);
    assert.match(html, /href="\/api\/v1\/auth\/sso\/login\?next=%2Fmodels"/);
  });

  it('says single sign-on is on, with the provider name the login page shows', async () => {
    const r = await http(api.url, 'GET', '/v1/auth/sso');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      enabled: true,
      providerName: 'Test IdP',
      issuer: idp.issuer,
      cliClientId: CLI_CLIENT,
      scopes: TEST_SCOPES,
    });
  });

  it('creates the user at first sign-in with their IdP group role and groups; removing the group at the IdP removes role, groups and pilot routing at the next re-check; a removed account ends the session', async () => {
    const a = await registerFixture(env.apiUrl, env.adminApiKey, 'iris_logreg');
    const v2 = (await registerFixture(env.apiUrl, env.adminApiKey, 'iris_rf', { model: a.model, promote: false }))
      .version;
    const person = account([team, beta]);
    const cookie = await dashboardLogin(person);

    const me = await http(api.url, 'GET', '/v1/me', { cookie });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.email, `${person}@example.test`);
    assert.equal(me.json.role, 'scientist');
    assert.deepEqual(me.json.groups.map((g: { name: string }) => g.name).sort(), [beta, team].sort());
    const groups = await http(api.url, 'GET', '/v1/groups', { token: env.adminApiKey });
    const betaGroup = groups.json.find((g: { name: string }) => g.name === beta);
    assert.equal(betaGroup.idpManaged, true);

    // A pilot for the IdP group: this user's predictions go to it.
    const put = await http(api.url, 'PUT', `/v1/models/${a.model}/deployment`, {
      token: env.adminApiKey,
      body: { config: { pilots: [{ version: v2, groups: [betaGroup.id] }] }, comment: 'pilot for the IdP group' },
    });
    assert.equal(put.status, 200, put.text);
    const row = { payload: records(samples('iris_logreg')).slice(0, 1) };
    const predict = () => http(api.url, 'POST', `/v1/models/${a.model}/predict`, { cookie, body: row });
    let p = await predict();
    assert.equal(p.status, 200, p.text);
    assert.equal(p.headers.get('x-deployment-role'), 'pilot');
    assert.equal(p.headers.get('x-model-version'), String(v2));

    // Scientist, so may create an API key with models:write.
    const key = await http(api.url, 'POST', '/v1/api-keys', {
      cookie,
      body: { name: 'k', scopes: ['models:write'] },
    });
    assert.equal(key.status, 201, key.text);

    idp.accounts.get(person)!.groups = [];
    await sleep(REFRESH_MS + 300);
    const after = await http(api.url, 'GET', '/v1/me', { cookie });
    assert.equal(after.status, 200, after.text);
    assert.equal(after.json.role, 'viewer');
    assert.deepEqual(after.json.groups, []);
    p = await predict();
    assert.equal(p.status, 200, p.text);
    assert.equal(p.headers.get('x-deployment-role'), 'production');
    assert.equal(p.headers.get('x-model-version'), String(a.version));
    const refused = await http(api.url, 'POST', '/v1/api-keys', {
      cookie,
      body: { name: 'k2', scopes: ['models:write'] },
    });
    assert.equal(refused.status, 403, refused.text);

    idp.accounts.delete(person);
    await sleep(REFRESH_MS + 300);
    assert.equal((await http(api.url, 'GET', '/v1/me', { cookie })).status, 401);
  });

  it('never lets an SSO user in with a password', async () => {
    const person = account([]);
    await dashboardLogin(person);
    const r = await http(api.url, 'POST', '/v1/auth/login', {
      body: { email: `${person}@example.test`, password: 'any-password' },
    });
    assert.equal(r.status, 401);
  });

  it('refuses a forged state with 401 and no session', async () => {
    const { jar, callback } = await startLogin(account([]));
    callback.searchParams.set('state', 'forged-state-value');
    const r = await visit(callback, jar);
    assert.equal(r.res.status, 401, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'INVALID_CREDENTIALS');
    assert.equal(r.session, undefined);
  });

  it('refuses a callback without the flow cookie (another browser) with 401 and no session', async () => {
    const { callback } = await startLogin(account([]));
    const r = await visit(callback, new CookieJar());
    assert.equal(r.res.status, 401);
    assert.equal(r.session, undefined);
  });

  it('refuses a replayed code with 401 and no second session', async () => {
    const { jar, callback } = await startLogin(account([]));
    const first = await visit(callback, jar);
    assert.equal(first.res.status, 302);
    assert.ok(first.session);
    const replay = await visit(callback, jar);
    assert.equal(replay.res.status, 401, JSON.stringify(replay.body));
    assert.equal(replay.session, undefined);
  });

  it('refuses an ID token whose nonce is not the one this sign-in sent, with 401 and no session', async () => {
    // Same state and PKCE challenge, another nonce: only the ID token's nonce is wrong.
    const { jar, callback } = await startLogin(account([]), (u) => u.searchParams.set('nonce', 'someone-elses-nonce'));
    const r = await visit(callback, jar);
    assert.equal(r.res.status, 401, JSON.stringify(r.body));
    assert.match(r.body.error.message, /nonce/i);
    assert.equal(r.session, undefined);
  });

  it('exchanges a device-flow ID token for a session once; a second exchange of it is refused', async () => {
    const person = account([team]);
    const tokens = await deviceTokens(idp, CLI_CLIENT, person);
    const body = { idToken: tokens.id_token, refreshToken: tokens.refresh_token };
    const r = await http(api.url, 'POST', '/v1/auth/sso/token', { body });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.me.role, 'scientist');
    const me = await http(api.url, 'GET', '/v1/me', { cookie: `modelyard_session=${r.json.sessionToken}` });
    assert.equal(me.status, 200);
    assert.equal(me.json.email, `${person}@example.test`);
    const again = await http(api.url, 'POST', '/v1/auth/sso/token', { body });
    assert.equal(again.status, 401, again.text);
  });

  it('refuses ID tokens for another audience, from another issuer, expired or tampered with: 401, no session', async () => {
    const person = account([team]);
    other.accounts.set(person, idp.accounts.get(person)!);
    const exchange = (idToken: string) => http(api.url, 'POST', '/v1/auth/sso/token', { body: { idToken } });

    const otherAudience = await deviceTokens(idp, OTHER_CLIENT, person);
    const a = await exchange(otherAudience.id_token!);
    assert.equal(a.status, 401, a.text);
    assert.match(a.json.error.message, /aud/);

    const otherIssuer = await deviceTokens(other, CLI_CLIENT, person);
    const b = await exchange(otherIssuer.id_token!);
    assert.equal(b.status, 401, b.text);

    const good = await deviceTokens(idp, CLI_CLIENT, person);
    const [head, payload, sig] = good.id_token!.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, email: 'admin@example.test' })).toString('base64url');
    const c = await exchange(`${head}.${forged}.${sig}`);
    assert.equal(c.status, 401, c.text);

    idp.idTokenTtl = 1;
    try {
      const short = await deviceTokens(idp, CLI_CLIENT, person);
      await sleep(2100);
      const d = await exchange(short.id_token!);
      assert.equal(d.status, 401, d.text);
      assert.match(d.json.error.message, /exp/);
    } finally {
      idp.idTokenTtl = 300;
    }
    assert.equal((await exchange('not-a-jwt')).status, 401);
  });

  it('logs the CLI in with `login --sso` (device flow at the IdP), saves the session 0600, and whoami uses it', async () => {
    const person = account([team]);
    const home = mkdtempSync(path.join(os.tmpdir(), 'modelyard-sso-cli-'));
    const config = path.join(home, 'config.json');
    const cli = (args: string[], onErr: (text: string) => void = () => {}) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [path.resolve('apps/cli/bin/modelyard.js'), ...args], {
          env: { PATH: process.env.PATH, HOME: home, MODELYARD_CONFIG: config },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          stderr += d;
          onErr(stderr);
        });
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    let approved: Promise<URL | null> | null = null;
    const login = await cli(['login', '--sso', '--url', api.url, '--json'], (stderr) => {
      const link = /open (\S+)/.exec(stderr)?.[1];
      // The person opens the link the CLI printed and approves at the IdP.
      if (link && !approved) approved = signInAtIdp(idp, link, person);
    });
    assert.equal(login.code, 0, login.stderr);
    assert.equal(await approved, null);
    assert.equal(JSON.parse(login.stdout).me.email, `${person}@example.test`);
    const saved = JSON.parse(readFileSync(config, 'utf8'));
    assert.equal(saved.url, api.url);
    assert.match(saved.sessionToken, /.{20,}/);
    assert.equal(statSync(config).mode & 0o777, 0o600);
    const who = await cli(['whoami', '--json']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(JSON.parse(who.stdout).role, 'scientist');
    assert.deepEqual(
      JSON.parse(who.stdout).groups.map((g: { name: string }) => g.name),
      [team],
    );
  });
});
