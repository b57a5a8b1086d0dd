import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKeysService } from './api-keys.service.js';
import type { ApiKeysRepository } from './api-keys.repository.js';
import { recordedEvents } from '../events/events.test-support.js';
import type { AuthService } from '../auth/auth.service.js';
import type { Principal } from '../auth/principal.js';
import { testPrincipal } from '../auth/principal.test-support.js';
import { DEFAULT_PROJECT_ID } from '../tenancy/model-key.js';
import { AppError } from '../platform/errors.js';

const user = (over: Partial<Principal> = {}) => testPrincipal({ role: 'scientist', ...over });

function makeMocks() {
  const created: unknown[] = [];
  const repo = {
    create: async (data: any) => {
      created.push(data);
      return {
        ...data,
        id: 'k1',
        user: { id: 'u1', name: 'Ada' },
        serviceAccount: null,
        expiresAt: data.expiresAt ?? null,
        lastUsedAt: null,
        revokedAt: null,
        createdAt: new Date(0),
      };
    },
    findServiceAccount: async (id: string) =>
      id === 'sa1' ? { id: 'sa1', role: 'viewer', projectId: DEFAULT_PROJECT_ID } : null,
    // The calling key k-exp expires on 2099-01-01; every other key never expires.
    findById: async (id: string) =>
      id === 'k-exp' ? { id, expiresAt: new Date('2099-01-01T00:00:00Z') } : { id, expiresAt: null },
  } as unknown as ApiKeysRepository;
  const audit = recordedEvents();
  const auth = { invalidate: async () => {}, keyCreated: async () => {} } as unknown as AuthService;
  return { repo, audit, auth, created };
}

describe(ApiKeysService.name, () => {
  let sut: ApiKeysService;
  let mocks: ReturnType<typeof makeMocks>;
  beforeEach(() => {
    mocks = makeMocks();
    sut = new ApiKeysService(mocks.repo, mocks.audit, mocks.auth);
  });

  describe('create', () => {
    it('returns the secret once and stores only its sha256', async () => {
      const r = await sut.create(user(), { name: 'laptop', scopes: ['predict'], modelAllowList: [] });
      const stored = mocks.created[0] as { sha256: string };
      assert.match(r.secret, /^my_/);
      assert.equal(stored.sha256.length, 64);
      assert.ok(!JSON.stringify(stored).includes(r.secret));
    });

    it('refuses scopes beyond the owner role', async () => {
      await assert.rejects(
        sut.create(user({ role: 'scientist' }), { name: 'x', scopes: ['models:promote'], modelAllowList: [] }),
        (e: unknown) => e instanceof AppError && e.code === 'FORBIDDEN',
      );
    });

    it('refuses a key-authenticated caller minting scopes its own key lacks', async () => {
      const caller = user({ role: 'admin', via: 'apiKey', apiKeyId: 'k0', scopes: ['admin'] });
      await assert.rejects(
        sut.create(caller, { name: 'x', scopes: ['predict'], modelAllowList: [] }),
        /scopes the calling key lacks/,
      );
    });

    it("gives a key minted by a limited key the caller's model allow-list, and refuses models outside it", async () => {
      const caller = user({
        role: 'admin',
        via: 'apiKey',
        apiKeyId: 'k0',
        scopes: ['admin', 'predict'],
        modelAllowList: ['iris', 'digits'],
      });
      const inherited = await sut.create(caller, { name: 'x', scopes: ['predict'], modelAllowList: [] });
      assert.deepEqual(inherited.apiKey.modelAllowList, ['iris', 'digits']);
      const narrower = await sut.create(caller, { name: 'x', scopes: ['predict'], modelAllowList: ['iris'] });
      assert.deepEqual(narrower.apiKey.modelAllowList, ['iris']);
      await assert.rejects(
        sut.create(caller, { name: 'x', scopes: ['predict'], modelAllowList: ['iris', 'secret-model'] }),
        (e: unknown) =>
          e instanceof AppError && e.code === 'FORBIDDEN' && /calling key cannot: secret-model/.test(e.message),
      );
    });

    it("caps the expiry of a key minted by an expiring key at the caller's expiry", async () => {
      const caller = user({ role: 'admin', via: 'apiKey', apiKeyId: 'k-exp', scopes: ['admin', 'predict'] });
      const inherited = await sut.create(caller, { name: 'x', scopes: ['predict'], modelAllowList: [] });
      assert.equal(inherited.apiKey.expiresAt, '2099-01-01T00:00:00.000Z');
      const sooner = await sut.create(caller, {
        name: 'x',
        scopes: ['predict'],
        modelAllowList: [],
        expiresAt: '2098-01-01T00:00:00Z',
      });
      assert.equal(sooner.apiKey.expiresAt, '2098-01-01T00:00:00.000Z');
      await assert.rejects(
        sut.create(caller, { name: 'x', scopes: ['predict'], modelAllowList: [], expiresAt: '2100-01-01T00:00:00Z' }),
        (e: unknown) =>
          e instanceof AppError && e.code === 'FORBIDDEN' && /expire later than the calling key/.test(e.message),
      );
      // A dashboard session is not a key: no cap.
      const session = await sut.create(user({ role: 'admin' }), { name: 'x', scopes: ['predict'], modelAllowList: [] });
      assert.equal(session.apiKey.expiresAt, null);
    });

    it('only lets admins mint keys for service accounts, and within the account role', async () => {
      await assert.rejects(
        sut.create(user({ role: 'approver' }), {
          name: 'x',
          scopes: ['predict'],
          modelAllowList: [],
          serviceAccountId: 'sa1',
        }),
        (e: unknown) => e instanceof AppError && e.code === 'FORBIDDEN',
      );
      await assert.rejects(
        sut.create(user({ role: 'admin' }), {
          name: 'x',
          scopes: ['jobs'],
          modelAllowList: [],
          serviceAccountId: 'sa1',
        }),
        /viewer cannot hold a key with scope\(s\) jobs/,
      );
      await assert.rejects(
        sut.create(user({ role: 'admin' }), {
          name: 'x',
          scopes: ['predict'],
          modelAllowList: [],
          serviceAccountId: 'nope',
        }),
        (e: unknown) => e instanceof AppError && e.code === 'NOT_FOUND',
      );
    });

    it('refuses an expiry in the past', async () => {
      await assert.rejects(
        sut.create(user(), { name: 'x', scopes: ['predict'], modelAllowList: [], expiresAt: '2000-01-01T00:00:00Z' }),
        /in the future/,
      );
    });
  });
});
