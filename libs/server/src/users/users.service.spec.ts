import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UsersService } from './users.service.js';
import type { UsersRepository } from './users.repository.js';
import { recordedEvents } from '../events/events.test-support.js';
import type { AuthService } from '../auth/auth.service.js';
import { testPrincipal } from '../auth/principal.test-support.js';
import { defaultProjectGrant } from '../tenancy/project-roles.js';

const admin = testPrincipal({ id: 'a1', name: 'Root', email: 'root@example.com', role: 'admin' });
const row = (over: object = {}) => ({
  id: 'u2',
  email: 'u2@example.com',
  name: 'U2',
  role: 'admin',
  disabled: false,
  createdAt: new Date(0),
  ...over,
});

function sutWith(otherAdmins: number) {
  const updates: unknown[] = [];
  const repo = {
    findById: async () => row(),
    countActiveAdmins: async () => otherAdmins,
    updateAndEndSessions: async (_id: string, data: object, end: boolean) => {
      updates.push({ data, end });
      return row(data);
    },
  } as unknown as UsersRepository;
  let invalidated = 0;
  const sut = new UsersService(repo, recordedEvents(), {
    invalidate: async () => {
      invalidated++;
    },
  } as unknown as AuthService);
  return { sut, updates, invalidated: () => invalidated };
}

describe(UsersService.name, () => {
  describe('update', () => {
    it('refuses to demote or disable the last active admin', async () => {
      const { sut } = sutWith(0);
      await assert.rejects(sut.update(admin, 'u2', { role: 'viewer' }), /last active admin/);
      await assert.rejects(sut.update(admin, 'u2', { disabled: true }), /last active admin/);
    });

    it('demotes when another admin remains, ending the user sessions and cached keys', async () => {
      const m = sutWith(1);
      const r = await m.sut.update(admin, 'u2', { role: 'viewer' });
      assert.equal(r.role, 'viewer');
      assert.deepEqual(m.updates, [
        {
          data: {
            name: undefined,
            role: 'viewer',
            disabled: undefined,
            passwordHash: undefined,
            grants: defaultProjectGrant('u2', 'viewer'),
          },
          end: true,
        },
      ]);
      assert.equal(m.invalidated(), 1);
    });

    it('keeps sessions when only the name changes', async () => {
      const m = sutWith(1);
      await m.sut.update(admin, 'u2', { name: 'New name' });
      assert.equal((m.updates[0] as { end: boolean }).end, false);
      assert.equal(m.invalidated(), 0);
    });

    it('refuses non-admins before touching anything', async () => {
      const m = sutWith(1);
      await assert.rejects(
        m.sut.update({ ...admin, role: 'approver', platformAdmin: false }, 'u2', { name: 'x' }),
        /needs a platform admin/,
      );
      assert.equal(m.updates.length, 0);
    });
  });
});
