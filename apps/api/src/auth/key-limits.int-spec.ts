import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { runSeed } from '@modelyard/server';
import { startTestApp, type TestApp } from '../test-support.js';

/**
 * Keys that must stop working or never get wider: the bootstrap key after MODELYARD_ADMIN_API_KEY changes,
 * keys minted by limited keys, and callbacks (outbound requests) for keys without their scope.
 */
describe('API key limits (bootstrap rotation, minted keys, callback scope)', () => {
  let t: TestApp;
  // No key cache: a revoked key is refused on the next request, not a minute later.
  before(async () => {
    t = await startTestApp({ API_KEY_CACHE_SECONDS: '0' });
  });
  after(() => t.close());

  const me = (token: string) => t.request('GET', '/v1/me', { token });
  const newKey = () => `bootstrap-${randomBytes(24).toString('hex')}`;

  it('revokes the previous bootstrap key when MODELYARD_ADMIN_API_KEY changes, and every one when it is unset', async () => {
    // Its own account, as a deployment's bootstrap-admin: other tests' admin keys are not touched.
    const account = `rotation-${randomBytes(4).toString('hex')}`;
    // Seeding behind the running api's back: it learns a new key's prefix at its next re-read, at most a second on.
    const seed = async (apiKey: string | undefined) => {
      const r = await runSeed(
        { db: { url: t.config.db.url }, admin: { apiKey, email: undefined, password: undefined } },
        { serviceAccount: account },
      );
      await new Promise((resolve) => setTimeout(resolve, 1100));
      return r;
    };
    const first = newKey();
    const second = newKey();
    assert.equal((await seed(first)).bootstrapKeyCreated, true);
    assert.equal((await me(first)).status, 200);

    const rotated = await seed(second);
    assert.equal(rotated.bootstrapKeysRevoked, 1);
    assert.equal((await me(first)).status, 401, 'the old value is locked out');
    assert.equal((await me(second)).status, 200);

    // Setting an old value again does not bring it back; the current one is replaced all the same.
    const back = await seed(first);
    assert.deepEqual([back.bootstrapKeyWasRevoked, back.bootstrapKeysRevoked], [true, 1]);
    assert.equal((await me(first)).status, 401);
    assert.equal((await me(second)).status, 401);

    const third = newKey();
    await seed(third);
    assert.equal((await me(third)).status, 200);
    assert.equal((await seed(undefined)).bootstrapKeysRevoked, 1);
    assert.equal((await me(third)).status, 401, 'unset: no bootstrap key works');
  });

  it('gives a key minted by a limited key no wider model allow-list and no later expiry', async () => {
    const expires = new Date(Date.now() + 24 * 3600_000);
    const limited = await t.keyWithScopes(['admin', 'predict'], 'admin', {
      modelAllowList: ['iris'],
      expiresAt: expires.toISOString(),
    });
    const mint = (body: Record<string, unknown>) =>
      t.request('POST', '/v1/api-keys', {
        token: limited.secret,
        body: { name: 'child', scopes: ['predict'], serviceAccountId: limited.serviceAccountId, ...body },
      });
    const inherited = await mint({});
    assert.equal(inherited.status, 201, inherited.body);
    assert.deepEqual(inherited.json.apiKey.modelAllowList, ['iris']);
    assert.equal(inherited.json.apiKey.expiresAt, expires.toISOString());

    const wider = await mint({ modelAllowList: ['iris', 'payroll'] });
    assert.equal(wider.status, 403);
    assert.match(wider.json.error.message, /calling key cannot: payroll/);
    const later = await mint({ expiresAt: new Date(Date.now() + 48 * 3600_000).toISOString() });
    assert.equal(later.status, 403);
    assert.match(later.json.error.message, /cannot expire later than the calling key/);
  });

  it('answers 403 to X-Callback-Url without the predict:callback scope, and 400 to a URL aimed inside', async () => {
    const headers = (url: string) => ({
      'x-callback-url': url,
      'x-callback-secret': 'callback-secret-0123456789',
      'content-type': 'application/json',
    });
    const call = (auth: { token?: string; cookie?: string }, url = 'https://hooks.example.com/done') =>
      t.request('POST', '/v1/models/no-such-model/predict:async', {
        ...auth,
        headers: headers(url),
        body: JSON.stringify([[1, 2, 3, 4]]),
      });

    const viewer = await t.keyWithScopes(['predict'], 'viewer');
    const refused = await call({ token: viewer.secret });
    assert.equal(refused.status, 403);
    assert.match(refused.json.error.message, /X-Callback-Url needs an API key with the predict:callback scope/);
    assert.equal((await call({ token: (await t.keyWithScopes(['predict'], 'scientist')).secret })).status, 403);
    assert.equal((await call({ cookie: (await t.userWithRole('viewer')).cookie })).status, 403);
    const viewerCallback = await t.request('POST', '/v1/api-keys', {
      token: t.adminKey,
      body: { name: 'v', scopes: ['predict', 'predict:callback'], serviceAccountId: viewer.serviceAccountId },
    });
    assert.equal(viewerCallback.status, 403, 'a viewer cannot hold predict:callback');

    const allowed = (await t.keyWithScopes(['predict', 'predict:callback'], 'scientist')).secret;
    assert.equal((await call({ token: allowed })).status, 404, 'past the callback checks: the model does not exist');
    for (const bad of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]:8080/',
      'http://0x7f000001/',
      'http://u:p@hooks.example.com/',
    ]) {
      const r = await call({ token: allowed }, bad);
      assert.equal(r.status, 400, bad);
      assert.match(r.json.error.message, /X-Callback-Url (points at a .* address|must not carry credentials)/);
    }
  });
});
