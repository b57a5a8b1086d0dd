import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Role, Scope } from '@modelyard/contracts';
import { AppError } from '../platform/errors.js';
import { authorize, authorizeModel, can } from './principal.js';
import { testPrincipal } from './principal.test-support.js';

const principal = testPrincipal;
const keyOf = (role: Role, scopes: Scope[]) => principal({ role, via: 'apiKey', apiKeyId: 'k1', scopes });

describe('can', () => {
  it('orders roles: an approver can do what a scientist can, not what an admin can', () => {
    assert.equal(can(principal({ role: 'approver' }), 'groups.read'), true);
    assert.equal(can(principal({ role: 'approver' }), 'users.write'), false);
    assert.equal(can(principal({ role: 'admin' }), 'users.write'), true);
  });

  it('needs both the role and one of the scopes for a key', () => {
    assert.equal(can(keyOf('admin', ['admin']), 'users.read'), true);
    assert.equal(can(keyOf('admin', ['predict']), 'users.read'), false);
    assert.equal(can(keyOf('viewer', ['admin']), 'users.read'), false);
    assert.equal(can(keyOf('viewer', ['models:read']), 'groups.read'), true);
  });

  it('lets any valid key read its own identity', () => {
    assert.equal(can(keyOf('viewer', ['predict']), 'me.read'), true);
  });
});

describe('authorize', () => {
  it('says which role is missing', () => {
    assert.throws(
      () => authorize(principal({ role: 'scientist' }), 'audit.read'),
      (e: unknown) =>
        e instanceof AppError &&
        e.code === 'FORBIDDEN' &&
        /needs the admin role in project default; you are scientist/.test(e.message),
    );
  });
  it('says which scopes would do when the role is enough', () => {
    assert.throws(() => authorize(keyOf('admin', ['jobs']), 'audit.read'), /lacks a scope for this: one of admin/);
  });
});

describe('authorizeModel', () => {
  it('allows every model when the allow-list is empty and only listed ones otherwise', () => {
    assert.doesNotThrow(() => authorizeModel(principal(), 'iris'));
    const limited = principal({ modelAllowList: ['iris'] });
    assert.doesNotThrow(() => authorizeModel(limited, 'iris'));
    assert.throws(() => authorizeModel(limited, 'digits'), /not allowed to use model "digits"/);
  });
});
