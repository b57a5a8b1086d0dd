import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { AuthService, type AuthOptions } from './auth.service.js';
import { generateApiKey, sha256Hex } from './crypto.js';
import type { AuthRepository } from './auth.repository.js';
import { recordedEvents } from '../events/events.test-support.js';
import type { RedisService } from '../platform/redis.service.js';

const OPTS: AuthOptions = {
  sessionSecret: 'x'.repeat(32),
  sessionTtlHours: 1,
  loginMaxAttempts: 10,
  loginWindowSeconds: 60,
  apiKeyCacheSeconds: 60,
  loginIpMaxAttempts: 100,
  loginGlobalPerSecond: 20,
  loginHashConcurrency: 1,
  loginHashQueue: 16,
  apiKeyCacheSize: 3,
  apiKeyMissCacheSize: 100,
};

/** AuthService over an in-memory key table that counts the lookups Postgres would have answered. */
async function setup(opts: Partial<AuthOptions> = {}) {
  const rows = new Map<string, unknown>();
  const prefixes = new Set<string>();
  const lookups: string[] = [];
  const handlers: ((m: string) => void)[] = [];
  const repo = {
    activeKeyPrefixes: async () => [...prefixes],
    findApiKeyBySha: async (sha: string) => {
      lookups.push(sha);
      return rows.get(sha) ?? null;
    },
  } as unknown as AuthRepository;
  const redis = {
    subscribe: async (_c: string, h: (m: string) => void) => {
      handlers.push(h);
    },
    publish: async (_c: string, m: string) => {
      for (const h of handlers) h(m);
    },
  } as unknown as RedisService;
  const auth = new AuthService(repo, recordedEvents(), redis, { ...OPTS, ...opts }, pino({ level: 'silent' }));
  const addKey = () => {
    const { key, prefix } = generateApiKey();
    prefixes.add(prefix);
    rows.set(sha256Hex(key), {
      id: `k-${rows.size}`,
      revokedAt: null,
      user: null,
      scopes: ['predict'],
      modelAllowList: [],
      expiresAt: null,
      serviceAccount: { id: 'sa', name: 'sa', role: 'viewer', disabled: false, memberships: [] },
    });
    return key;
  };
  return { auth, addKey, lookups, prefixes, start: () => auth.start() };
}

describe('AuthService API keys', () => {
  it('refuses tokens of no key shape and well-formed tokens of an unknown prefix without a lookup', async () => {
    const t = await setup();
    t.addKey();
    await t.start();
    const tokens = ['not-a-key', 'x'.repeat(600), `my_short_${'a'.repeat(40)}`, generateApiKey().key, 'y'.repeat(40)];
    for (const token of tokens) {
      assert.equal(await t.auth.resolveApiKey(token, null), null, token);
      assert.equal(t.auth.cachedApiKey(token, null), null, token);
    }
    assert.equal(t.lookups.length, 0);
    assert.equal(t.auth.keyLookups, 0);
    await t.auth.onModuleDestroy();
  });

  it('looks a well-formed unknown key of a known prefix up once per TTL, and a good key once', async () => {
    const t = await setup();
    const good = t.addKey();
    await t.start();
    const forged = `${good.slice(0, 12)}${'Z'.repeat(40)}`;
    for (let i = 0; i < 5; i++) assert.equal(await t.auth.resolveApiKey(forged, null), null);
    for (let i = 0; i < 5; i++) assert.equal((await t.auth.resolveApiKey(good, '10.0.0.1'))?.apiKeyId, 'k-0');
    assert.equal(t.auth.cachedApiKey(good, '10.0.0.1')?.apiKeyId, 'k-0');
    assert.equal(t.lookups.length, 2);
    await t.auth.onModuleDestroy();
  });

  it('keeps good keys through a flood of misses (no wipe), dropping the least recently used', async () => {
    const t = await setup({ apiKeyCacheSize: 2, apiKeyMissCacheSize: 10 });
    const [a, b, c] = [t.addKey(), t.addKey(), t.addKey()];
    await t.start();
    await t.auth.resolveApiKey(a, null);
    await t.auth.resolveApiKey(b, null);
    // Misses of known prefixes: each looked up once, none touches the good keys.
    for (let i = 0; i < 50; i++) await t.auth.resolveApiKey(`${a.slice(0, 12)}${String(i).padStart(40, 'Q')}`, null);
    assert.ok(t.auth.cachedApiKey(a, null), 'a still cached');
    assert.ok(t.auth.cachedApiKey(b, null), 'b still cached');
    const before = t.lookups.length;
    await t.auth.resolveApiKey(a, null); // a is now the most recently used
    await t.auth.resolveApiKey(c, null); // c comes in: b, least recently used, goes
    assert.equal(t.lookups.length, before + 1);
    assert.ok(t.auth.cachedApiKey(a, null));
    assert.equal(t.auth.cachedApiKey(b, null), undefined);
    await t.auth.onModuleDestroy();
  });

  it('re-reads the prefixes for a token of an unknown prefix, at most once a second', async () => {
    const t = await setup();
    await t.start();
    const seeded = t.addKey(); // inserted behind the process's back, as the seed does
    assert.equal(await t.auth.resolveApiKey(seeded, null), null, 'the prefixes were read a moment ago');
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await t.auth.resolveApiKey(seeded, null))?.apiKeyId, 'k-0');
    await t.auth.onModuleDestroy();
  });

  it('accepts a key created after boot as soon as its creation is announced', async () => {
    const t = await setup();
    await t.start();
    const key = t.addKey();
    t.prefixes.clear(); // the table has it, but this process has not re-read the prefixes
    assert.equal(await t.auth.resolveApiKey(key, null), null);
    await t.auth.keyCreated(key.slice(3, 11));
    assert.equal((await t.auth.resolveApiKey(key, null))?.apiKeyId, 'k-0');
    await t.auth.onModuleDestroy();
  });
});
